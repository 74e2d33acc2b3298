#include "capture/ac_v4l2.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/ac_capture_backend.h"
#include "capture/ac_convert.h"

#define MAX_BUFS 16

struct v4l2src {
    int fd;
    struct ac_capture_settings set;
    struct ac_capture_counters *ctr;
    struct ac_capfmt fmt;
    int bytesperline;
    int matrix; /* enum ac_yuv_matrix from the format's colorimetry */
    struct { void *p; size_t len; } buf[MAX_BUFS];
    int nbuf;
    int streaming;
    struct ac_convert conv;
};

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int best_fps_milli(int fd, uint32_t fourcc, int w, int h)
{
    struct v4l2_frmivalenum fi = {.pixel_format = fourcc, .width = (uint32_t)w, .height = (uint32_t)h};
    int best = 0;
    for (fi.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) == 0; fi.index++) {
        /* the shortest interval is the highest rate; stepwise gives min first */
        struct v4l2_fract t = fi.type == V4L2_FRMIVAL_TYPE_DISCRETE ? fi.discrete : fi.stepwise.min;
        if (t.numerator > 0) {
            int f = (int)((int64_t)t.denominator * 1000 / t.numerator);
            if (f > best)
                best = f;
        }
        if (fi.type != V4L2_FRMIVAL_TYPE_DISCRETE)
            break;
    }
    return best;
}

static int clamp_step(int v, int lo, int hi, int step)
{
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    if (step > 1)
        v = lo + (v - lo) / step * step;
    return v;
}

static void add_offer(int fd, struct ac_capfmt *offers, int max, int *n, uint32_t fcc, int w, int h)
{
    if (*n >= max)
        return;
    if (offers) {
        offers[*n].fourcc = fcc;
        offers[*n].w = w;
        offers[*n].h = h;
        offers[*n].fps_milli = best_fps_milli(fd, fcc, w, h);
    }
    (*n)++;
}

static int enum_offers(int fd, int want_w, int want_h, struct ac_capfmt *offers, int max, int *n)
{
    *n = 0;
    struct v4l2_format cur = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    int rc = xioctl(fd, VIDIOC_G_FMT, &cur);
    if (rc)
        return rc;
    struct v4l2_fmtdesc fd_ = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    for (fd_.index = 0; xioctl(fd, VIDIOC_ENUM_FMT, &fd_) == 0; fd_.index++) {
        uint32_t fcc = fd_.pixelformat;
        struct v4l2_frmsizeenum fs = {.pixel_format = fcc};
        int sized = 0;
        for (fs.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
            sized = 1;
            if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                add_offer(fd, offers, max, n, fcc, (int)fs.discrete.width, (int)fs.discrete.height);
                continue;
            }
            struct v4l2_frmsize_stepwise *s = &fs.stepwise;
            add_offer(fd, offers, max, n, fcc, (int)s->max_width, (int)s->max_height);
            if (want_w > 0 && want_h > 0) {
                int w = clamp_step(want_w, (int)s->min_width, (int)s->max_width, (int)s->step_width);
                int h = clamp_step(want_h, (int)s->min_height, (int)s->max_height, (int)s->step_height);
                if (w != (int)s->max_width || h != (int)s->max_height)
                    add_offer(fd, offers, max, n, fcc, w, h);
            }
            break;
        }
        if (!sized) {
            /* no size list (e.g. an HDMI input sized by its DV timings): the
             * current size is what the device will give */
            add_offer(fd, offers, max, n, fcc, (int)cur.fmt.pix.width, (int)cur.fmt.pix.height);
        }
    }
    return 0;
}

static int query_caps(int fd, struct ac_v4l2_info *info)
{
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    int rc = xioctl(fd, VIDIOC_QUERYCAP, &cap);
    if (rc)
        return rc;
    memset(info, 0, sizeof *info);
    memcpy(info->driver, cap.driver, sizeof info->driver - 1);
    memcpy(info->card, cap.card, sizeof info->card - 1);
    memcpy(info->bus, cap.bus_info, sizeof info->bus - 1);
    info->caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    info->is_capture = (info->caps & V4L2_CAP_VIDEO_CAPTURE) && (info->caps & V4L2_CAP_STREAMING);
    return 0;
}

int ac_v4l2_query(const char *path, int want_w, int want_h, struct ac_v4l2_info *info,
                  struct ac_capfmt *offers, int max, int *n)
{
    *n = 0;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = query_caps(fd, info);
    if (!rc && info->is_capture)
        rc = enum_offers(fd, want_w, want_h, offers, max, n);
    close(fd);
    return rc;
}

static int v_open(const char *arg, const struct ac_capture_settings *s, struct ac_capture_counters *ctr,
                  void **priv)
{
    struct v4l2src *v = calloc(1, sizeof *v);
    if (!v)
        return -ENOMEM;
    v->fd = open(arg, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (v->fd < 0) {
        int rc = -errno;
        free(v);
        return rc;
    }
    v->set = *s;
    v->ctr = ctr;
    struct ac_v4l2_info info;
    int rc = query_caps(v->fd, &info);
    if (!rc && !info.is_capture)
        rc = -ENOTSUP;
    if (rc) {
        close(v->fd);
        free(v);
        return rc;
    }
    *priv = v;
    return 0;
}

/* The driver's colorimetry, with V4L2's own defaults for unset fields.
 * BT.2020 and SMPTE 240M are rare on cameras; BT.709 is the close match. */
static int yuv_matrix(const struct v4l2_pix_format *p)
{
    uint32_t enc = p->ycbcr_enc == V4L2_YCBCR_ENC_DEFAULT ? V4L2_MAP_YCBCR_ENC_DEFAULT(p->colorspace)
                                                         : p->ycbcr_enc;
    uint32_t q = p->quantization == V4L2_QUANTIZATION_DEFAULT
                     ? V4L2_MAP_QUANTIZATION_DEFAULT(0, p->colorspace, enc)
                     : p->quantization;
    int full = q == V4L2_QUANTIZATION_FULL_RANGE;
    int bt709 = enc == V4L2_YCBCR_ENC_709 || enc == V4L2_YCBCR_ENC_BT2020 || enc == V4L2_YCBCR_ENC_SMPTE240M;
    return bt709 ? (full ? AC_YUV_BT709_FULL : AC_YUV_BT709) : (full ? AC_YUV_BT601_FULL : AC_YUV_BT601);
}

static int v_init(void *priv, struct ac_capfmt *fmt)
{
    struct v4l2src *v = priv;
    struct ac_capfmt *offers = malloc(sizeof *offers * AC_V4L2_MAX_OFFERS);
    if (!offers)
        return -ENOMEM;
    int n = 0;
    int rc = enum_offers(v->fd, v->set.width, v->set.height, offers, AC_V4L2_MAX_OFFERS, &n);
    struct ac_capfmt_want want = {
        .w = v->set.width, .h = v->set.height, .fps = v->set.fps,
        .prefer = v->set.nprefer ? v->set.prefer : NULL, .nprefer = v->set.nprefer,
    };
    struct ac_capfmt pick;
    if (!rc)
        rc = ac_capfmt_choose(offers, n, &want, &pick);
    free(offers);
    if (rc)
        return rc;
    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    f.fmt.pix.width = (uint32_t)pick.w;
    f.fmt.pix.height = (uint32_t)pick.h;
    f.fmt.pix.pixelformat = pick.fourcc;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    rc = xioctl(v->fd, VIDIOC_S_FMT, &f);
    if (rc)
        return rc;
    /* the driver may adjust: trust what it says now */
    v->fmt.fourcc = f.fmt.pix.pixelformat;
    v->fmt.w = (int)f.fmt.pix.width;
    v->fmt.h = (int)f.fmt.pix.height;
    v->bytesperline = (int)f.fmt.pix.bytesperline;
    v->matrix = yuv_matrix(&f.fmt.pix);
    if (!ac_capfmt_supported(v->fmt.fourcc))
        return -ENOTSUP;
    v->fmt.fps_milli = 0;
    struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (xioctl(v->fd, VIDIOC_G_PARM, &parm) == 0) {
        /* no rate asked: the best the chosen mode offers, not whatever
         * rate the driver kept from an earlier mode */
        int want_milli = v->set.fps > 0 ? v->set.fps * 1000 : pick.fps_milli;
        if (want_milli > 0 && (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
            parm.parm.capture.timeperframe.numerator = 1000;
            parm.parm.capture.timeperframe.denominator = (uint32_t)want_milli;
            xioctl(v->fd, VIDIOC_S_PARM, &parm); /* best effort: rate is a wish */
        }
        struct v4l2_fract t = parm.parm.capture.timeperframe;
        if (t.numerator)
            v->fmt.fps_milli = (int)((int64_t)t.denominator * 1000 / t.numerator);
    }
    struct v4l2_requestbuffers req = {
        .count = (uint32_t)(v->set.buffers > 1 ? v->set.buffers : 4),
        .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
    };
    if (req.count > MAX_BUFS)
        req.count = MAX_BUFS;
    rc = xioctl(v->fd, VIDIOC_REQBUFS, &req);
    if (rc)
        return rc;
    if (req.count < 2)
        return -ENOMEM;
    for (uint32_t i = 0; i < req.count; i++) {
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i};
        rc = xioctl(v->fd, VIDIOC_QUERYBUF, &b);
        if (rc)
            return rc;
        void *p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, b.m.offset);
        if (p == MAP_FAILED)
            return -errno;
        v->buf[i].p = p;
        v->buf[i].len = b.length;
        v->nbuf = (int)i + 1;
    }
    *fmt = v->fmt;
    return 0;
}

static int v_start(void *priv, int out_w, int out_h)
{
    struct v4l2src *v = priv;
    ac_convert_uninit(&v->conv); /* a restart after stop */
    int rc = ac_convert_init(&v->conv, v->fmt.fourcc, v->fmt.w, v->fmt.h, v->bytesperline, out_w, out_h);
    if (rc)
        return rc;
    ac_convert_set_matrix(&v->conv, (enum ac_yuv_matrix)v->matrix);
    for (int i = 0; i < v->nbuf; i++) {
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
                                .index = (uint32_t)i};
        rc = xioctl(v->fd, VIDIOC_QBUF, &b);
        if (rc)
            return rc;
    }
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rc = xioctl(v->fd, VIDIOC_STREAMON, &type);
    if (!rc)
        v->streaming = 1;
    return rc;
}

static int v_read(void *priv, int timeout_ms, struct ac_frame *dst)
{
    struct v4l2src *v = priv;
    struct pollfd pfd = {.fd = v->fd, .events = POLLIN};
    int64_t deadline = ac_capture_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int left = (int)((deadline - ac_capture_now_ns()) / 1000000);
        int r = poll(&pfd, 1, left > 0 ? left : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        break;
    }
    if (pfd.revents & POLLNVAL)
        return -EBADF;
    /* POLLERR: device gone (DQBUF says ENODEV) or the driver flagged the
     * queue broken (EIO); either way the caller reopens */
    int pollerr = (pfd.revents & (POLLERR | POLLHUP)) && !(pfd.revents & POLLIN);
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    int rc = xioctl(v->fd, VIDIOC_DQBUF, &b);
    if (rc == -EAGAIN)
        return pollerr ? -EIO : -EAGAIN;
    if (rc)
        return rc;
    if (b.index >= (uint32_t)v->nbuf)
        return -EIO;
    int bad = (b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused == 0;
    if (!bad)
        bad = ac_convert_run(&v->conv, v->buf[b.index].p, b.bytesused, dst->rgb, dst->stride) != 0;
    if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
        dst->ts_ns = (int64_t)b.timestamp.tv_sec * 1000000000 + (int64_t)b.timestamp.tv_usec * 1000;
    else
        dst->ts_ns = ac_capture_now_ns();
    dst->src_seq = b.sequence;
    /* back to the driver at once: the RGB copy is what travels downstream */
    rc = xioctl(v->fd, VIDIOC_QBUF, &b);
    if (bad) {
        atomic_fetch_add(&v->ctr->corrupt, 1);
        return rc ? rc : -EAGAIN;
    }
    return rc;
}

static int v_stop(void *priv)
{
    struct v4l2src *v = priv;
    if (!v->streaming)
        return 0;
    v->streaming = 0;
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    return xioctl(v->fd, VIDIOC_STREAMOFF, &type);
}

static void v_uninit(void *priv)
{
    struct v4l2src *v = priv;
    for (int i = 0; i < v->nbuf; i++)
        munmap(v->buf[i].p, v->buf[i].len);
    if (v->nbuf) {
        struct v4l2_requestbuffers req = {.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                          .memory = V4L2_MEMORY_MMAP};
        xioctl(v->fd, VIDIOC_REQBUFS, &req); /* fails harmlessly on a gone device */
    }
    v->nbuf = 0;
    ac_convert_uninit(&v->conv);
}

static void v_close(void *priv)
{
    struct v4l2src *v = priv;
    if (v->fd >= 0)
        close(v->fd);
    free(v);
}

const struct ac_capture_backend ac_v4l2_backend = {
    .name = "v4l2", .can_lose = 1,
    .open = v_open, .init = v_init, .start = v_start, .read = v_read,
    .stop = v_stop, .uninit = v_uninit, .close = v_close,
};
