/* Runs inside the qemu VM against the kernel's vivid driver (statically
 * linked; the VM has nothing else). Every check prints one line
 *   AGECAM-VIVID <check> PASS|FAIL <details>
 * on the serial console for run_vivid.sh to grep.
 *   vivid_check formats        YUYV, NV12 (+ UYVY, NV21, YU12, YV12, a downscale) at
 *                              640x480: count, size, timestamps, colour bars
 *   vivid_check colorimetry    BT.709 full-range bars decode like BT.601 limited ones
 *   vivid_check slow           capture thread + slot + slow consumer, no allocations
 *   vivid_check buferror       driver-flagged bad buffers are dropped and counted
 *   vivid_check loss           unbind/bind the driver while streaming
 *   vivid_check loop IMAGE     push our own frames through /dev/video1 -> /dev/video0
 *   vivid_check feed SRC       frames of a dir:/file: source through the loop, in order
 *   vivid_check capture ...    the `agecam capture` command itself */
#include <errno.h>
#include <fcntl.h>
#include <libyuv.h>
#include <linux/v4l2-dv-timings.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "capture/ac_convert.h"
#include "common/ac_image.h"

int ac_cmd_capture(int argc, char **argv);

#define DEV "/dev/video0"

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int result(const char *check, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int result(const char *check, int ok, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("AGECAM-VIVID %s %s %s\n", check, ok ? "PASS" : "FAIL", buf);
    fflush(stdout);
    return ok ? 0 : 1;
}

static int out_w = 640, out_h = 480; /* output size asked of the next capture */

static struct ac_capture *start_capture_w(uint32_t fourcc, int wait, int *rc)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.width = out_w;
    s.height = out_h;
    s.prefer[0] = fourcc;
    s.nprefer = 1;
    s.retry_min_ms = 100;
    s.retry_max_ms = 400;
    s.wait_for_device = wait;
    struct ac_capture *c = NULL;
    *rc = ac_capture_open("v4l2:" DEV, &s, &c);
    if (!*rc)
        *rc = ac_capture_init(c);
    if (!*rc)
        *rc = ac_capture_start(c);
    if (*rc) {
        ac_capture_close(c);
        return NULL;
    }
    return c;
}

static struct ac_capture *start_capture(uint32_t fourcc, int *rc)
{
    return start_capture_w(fourcc, 0, rc);
}

/* Reads n frames; checks size, strictly increasing sequence and driver
 * timestamps that are CLOCK_MONOTONIC (close to now) and increasing. */
/* vivid's default picture is 75% colour bars: white yellow cyan green
 * magenta red blue black. Classify each bar by which channels are lit, so a
 * wrong matrix, swapped R/B or swapped chroma shows up. */
static char last_bars[9];
static uint8_t last_bar_rgb[8][3];

static void classify_bars(const struct ac_frame *f)
{
    static const char code[8] = {'K', 'B', 'G', 'C', 'R', 'M', 'Y', 'W'}; /* by R<<2|G<<1|B */
    const uint8_t *row = f->rgb + (size_t)(f->h / 2) * f->stride;
    for (int k = 0; k < 8; k++) {
        const uint8_t *p = row + 3 * ((2 * k + 1) * f->w / 16);
        memcpy(last_bar_rgb[k], p, 3);
        int on = 0, unclear = 0;
        for (int ch = 0; ch < 3; ch++) {
            on |= (p[ch] > 140) << (2 - ch);
            unclear |= p[ch] >= 60 && p[ch] <= 140;
        }
        last_bars[k] = unclear ? '?' : code[on];
    }
    last_bars[8] = 0;
}

static int read_frames(struct ac_capture *c, int n, char *why, size_t whylen, double *fps, int *distinct)
{
    int64_t first = 0, last = 0;
    uint64_t last_seq = 0;
    *distinct = 0;
    for (int i = 0; i < n; i++) {
        struct ac_frame *f = NULL;
        int rc;
        int64_t give_up = now_ns() + 5000000000LL;
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN || rc == -ETIMEDOUT)
            if (now_ns() > give_up)
                break;
        if (rc) {
            snprintf(why, whylen, "frame %d: %s", i, strerror(-rc));
            return -1;
        }
        int64_t t = now_ns();
        int bad = 0;
        if (f->w != out_w || f->h != out_h)
            bad = snprintf(why, whylen, "frame %d is %dx%d", i, f->w, f->h);
        else if (i && (f->ts_ns <= last || f->seq <= last_seq))
            bad = snprintf(why, whylen, "frame %d: timestamp/sequence not increasing", i);
        /* CLOCK_MONOTONIC domain: within a second of now. vivid stamps the
         * frame's nominal end, which can lead the reader by a few periods. */
        else if (f->ts_ns - t > 1000000000LL || t - f->ts_ns > 2000000000LL)
            bad = snprintf(why, whylen, "frame %d: timestamp %lld ns from now", i, (long long)(t - f->ts_ns));
        /* vivid's test pattern has colour bars: many distinct pixels in a row */
        int d = 0;
        const uint8_t *row = f->rgb + (size_t)(f->h / 2) * f->stride;
        for (int x = 8; x < f->w; x += 8)
            d += memcmp(row + 3 * x, row + 3 * (x - 8), 3) != 0;
        if (d > *distinct)
            *distinct = d;
        if (i == n - 1)
            classify_bars(f);
        if (!i)
            first = f->ts_ns;
        last = f->ts_ns;
        last_seq = f->seq;
        ac_frame_unref(f);
        if (bad)
            return -1;
    }
    *fps = n > 1 ? (n - 1) * 1e9 / (double)(last - first) : 0;
    return 0;
}

static int check_formats(void)
{
    /* the two at 640x480 with 30 frames; the other layouts we convert
     * and a downscale (640x480 source to 320x240) more briefly */
    static const struct { uint32_t f; int n, w, h; const char *tag; } cases[] = {
        {AC_FMT_YUYV, 30, 640, 480, ""}, {AC_FMT_NV12, 30, 640, 480, ""}, {AC_FMT_UYVY, 6, 640, 480, ""},
        {AC_FMT_NV21, 6, 640, 480, ""}, {AC_FMT_YU12, 6, 640, 480, ""}, {AC_FMT_YV12, 6, 640, 480, ""},
        {AC_FMT_YUYV, 10, 320, 240, "-scaled"},
    };
    int fails = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char name[5], check[32], why[160] = "";
        ac_capfmt_name(cases[k].f, name);
        snprintf(check, sizeof check, "format-%s%s", name, cases[k].tag);
        out_w = cases[k].w;
        out_h = cases[k].h;
        int rc;
        struct ac_capture *c = start_capture(cases[k].f, &rc);
        if (!c) {
            fails += result(check, 0, "start: %s", strerror(-rc));
            continue;
        }
        struct ac_capture_stats st;
        ac_capture_get_stats(c, &st);
        double fps = 0;
        int distinct = 0, n = cases[k].n;
        int bad = read_frames(c, n, why, sizeof why, &fps, &distinct);
        struct ac_capture_stats st2;
        ac_capture_get_stats(c, &st2);
        if (!bad && (st.fourcc != cases[k].f || st.src_w != 640 || st.src_h != 480))
            bad = snprintf(why, sizeof why, "negotiated %s %dx%d", ac_capfmt_name(st.fourcc, name), st.src_w, st.src_h);
        if (!bad && distinct < 4)
            bad = snprintf(why, sizeof why, "picture looks flat (%d changes along a row)", distinct);
        if (!bad && strcmp(last_bars, "WYCGMRBK"))
            bad = snprintf(why, sizeof why, "colour bars read as %s, expected WYCGMRBK", last_bars);
        if (!bad && st2.frames != (uint64_t)n)
            bad = snprintf(why, sizeof why, "stats say %llu frames", (unsigned long long)st2.frames);
        if (bad)
            fails += result(check, 0, "%s", why);
        else
            fails += result(check, 1, "frames=%d source=%s 640x480 out=%dx%d driver_fps=%.1f measured_fps=%.1f "
                            "ts=monotonic,increasing bars=%s corrupt=%llu", n, ac_capfmt_name(st.fourcc, name),
                            out_w, out_h, st.fps_milli / 1000.0, fps, last_bars, (unsigned long long)st2.corrupt);
        ac_capture_close(c);
    }
    out_w = 640;
    out_h = 480;
    return fails;
}

static int write_sys(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -errno;
    int rc = write(fd, val, strlen(val)) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int check_loss(void)
{
    int rc;
    struct ac_capture *c = start_capture(AC_FMT_YUYV, &rc);
    if (!c)
        return result("loss", 0, "start: %s", strerror(-rc));
    char why[160] = "";
    double fps;
    int distinct;
    if (read_frames(c, 5, why, sizeof why, &fps, &distinct)) {
        ac_capture_close(c);
        return result("loss", 0, "before unbind: %s", why);
    }
    rc = write_sys("/sys/bus/platform/drivers/vivid/unbind", "vivid.0");
    if (rc) {
        ac_capture_close(c);
        return result("loss", 0, "unbind: %s", strerror(-rc));
    }
    struct ac_capture_stats st;
    int64_t until = now_ns() + 3000000000LL;
    int offline_reads = 0;
    do {
        struct ac_frame *f;
        rc = ac_capture_read(c, 200, &f);
        if (!rc)
            ac_frame_unref(f);
        ac_capture_get_stats(c, &st);
    } while (st.online && now_ns() < until);
    if (st.online || st.losses != 1) {
        ac_capture_close(c);
        return result("loss", 0, "device unbound but online=%d losses=%llu", st.online,
                      (unsigned long long)st.losses);
    }
    uint64_t frames_before = st.frames;
    /* stays offline (and read() keeps answering) while the device is gone */
    for (int i = 0; i < 5; i++) {
        struct ac_frame *f;
        rc = ac_capture_read(c, 200, &f);
        if (rc == -EAGAIN || rc == -ETIMEDOUT)
            offline_reads++;
        else if (!rc)
            ac_frame_unref(f);
    }
    /* a second source opened while the camera is absent waits for it */
    struct ac_capture *w = start_capture_w(AC_FMT_YUYV, 1, &rc);
    struct ac_capture_stats wst;
    if (w)
        ac_capture_get_stats(w, &wst);
    if (!w || wst.online) {
        ac_capture_close(c);
        ac_capture_close(w);
        return result("loss", 0, "open while absent: %s online=%d", strerror(-rc), w ? wst.online : -1);
    }
    rc = write_sys("/sys/bus/platform/drivers/vivid/bind", "vivid.0");
    if (rc) {
        ac_capture_close(c);
        return result("loss", 0, "bind: %s", strerror(-rc));
    }
    int64_t t_bind = now_ns();
    int got = 0;
    until = now_ns() + 10000000000LL;
    while (got < 10 && now_ns() < until) {
        struct ac_frame *f;
        if (ac_capture_read(c, 200, &f) == 0) {
            got++;
            ac_frame_unref(f);
        }
    }
    ac_capture_get_stats(c, &st);
    int ok = got == 10 && st.online && st.reopens == 1 && offline_reads == 5 && st.frames == frames_before + 10;
    rc = result("loss", ok, "unbind->offline losses=%llu offline_reads=%d, bind->online reopens=%llu "
                "frames_after=%d back_after_ms=%lld", (unsigned long long)st.losses, offline_reads,
                (unsigned long long)st.reopens, got, (long long)((now_ns() - t_bind) / 1000000));
    ac_capture_close(c);
    /* now the waiting source gets the device */
    got = 0;
    until = now_ns() + 10000000000LL;
    while (got < 5 && now_ns() < until) {
        struct ac_frame *f;
        if (ac_capture_read(w, 200, &f) == 0) {
            got++;
            ac_frame_unref(f);
        }
    }
    ac_capture_get_stats(w, &wst);
    char n[5];
    rc |= result("wait-for-device", got == 5 && wst.online && wst.reopens == 1 && wst.src_w == 640,
                 "opened absent online=0, device appeared: frames=%d reopens=%llu negotiated=%s %dx%d", got,
                 (unsigned long long)wst.reopens, ac_capfmt_name(wst.fourcc, n), wst.src_w, wst.src_h);
    ac_capture_close(w);
    return rc;
}

/* ---- loop: frames of our own through vivid's HDMI output -> input ---- */

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

/* vivid's private controls have no uapi ids: find them by name */
static int set_ctrl_by_name(int fd, const char *name, int value)
{
    struct v4l2_queryctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
    while (xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
        if (!strcmp((const char *)q.name, name)) {
            struct v4l2_control c = {.id = q.id, .value = value};
            return xioctl(fd, VIDIOC_S_CTRL, &c);
        }
        q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
    }
    return -ENOENT;
}

static int setup_node(int fd, uint32_t type)
{
    /* the uapi macro leaves trailing fields zero, which clang warns about */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
    struct v4l2_dv_timings t = V4L2_DV_BT_CEA_640X480P59_94;
#pragma GCC diagnostic pop
    int rc = xioctl(fd, VIDIOC_S_DV_TIMINGS, &t);
    if (rc)
        return rc;
    struct v4l2_format f = {.type = type};
    f.fmt.pix.width = 640;
    f.fmt.pix.height = 480;
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    rc = xioctl(fd, VIDIOC_S_FMT, &f);
    if (!rc && (f.fmt.pix.width != 640 || f.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV))
        rc = -EINVAL;
    return rc;
}

/* vivid marks the next buffer V4L2_BUF_FLAG_ERROR on request: a driver-side
 * bad frame must be dropped and counted, and streaming must go on */
static int check_buf_error(void)
{
    int rc;
    struct ac_capture *c = start_capture(AC_FMT_YUYV, &rc);
    if (!c)
        return result("buf-error", 0, "start: %s", strerror(-rc));
    int fd = open(DEV, O_RDWR);
    int presses = 0, frames = 0, errs = 0;
    for (int round = 0; round < 4 && fd >= 0; round++) {
        if (round > 0) {
            rc = set_ctrl_by_name(fd, "Inject V4L2_BUF_FLAG_ERROR", 1);
            if (rc)
                break;
            presses++;
        }
        for (int got = 0; got < 4;) {
            struct ac_frame *f;
            rc = ac_capture_read(c, 1000, &f);
            if (rc == 0) {
                got++;
                frames++;
                ac_frame_unref(f);
            } else if (rc != -EAGAIN || ++errs > 20) {
                break;
            }
        }
    }
    struct ac_capture_stats st;
    ac_capture_get_stats(c, &st);
    ac_capture_close(c);
    if (fd >= 0)
        close(fd);
    return result("buf-error", presses == 3 && frames == 16 && st.corrupt == 3 && st.online && st.losses == 0,
                  "injected=%d corrupt_counted=%llu frames_delivered=%d online=%d losses=%llu", presses,
                  (unsigned long long)st.corrupt, frames, st.online, (unsigned long long)st.losses);
}

/* vivid can send its bars with other colorimetry (set by its controls, and
 * reported in the format like a real camera would): BT.709 full range must
 * come out as the same RGB as the default BT.601 limited range. */
static int check_colorimetry(void)
{
    uint8_t base[8][3];
    char why[160] = "";
    double fps;
    int distinct, rc;
    struct ac_capture *c = start_capture(AC_FMT_YUYV, &rc);
    if (!c || read_frames(c, 3, why, sizeof why, &fps, &distinct)) {
        ac_capture_close(c);
        return result("colorimetry", 0, "baseline: %s", c ? why : strerror(-rc));
    }
    ac_capture_close(c);
    memcpy(base, last_bar_rgb, sizeof base);
    int fd = open(DEV, O_RDWR);
    rc = fd < 0 ? -errno : set_ctrl_by_name(fd, "Y'CbCr Encoding", V4L2_YCBCR_ENC_709);
    if (!rc)
        rc = set_ctrl_by_name(fd, "Quantization", V4L2_QUANTIZATION_FULL_RANGE);
    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (!rc)
        rc = xioctl(fd, VIDIOC_G_FMT, &f);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return result("colorimetry", 0, "controls: %s", strerror(-rc));
    }
    c = start_capture(AC_FMT_YUYV, &rc);
    int bad = !c || read_frames(c, 3, why, sizeof why, &fps, &distinct);
    ac_capture_close(c);
    int worst = 0;
    for (int k = 0; k < 8; k++)
        for (int ch = 0; ch < 3; ch++) {
            int d = abs(last_bar_rgb[k][ch] - base[k][ch]);
            worst = d > worst ? d : worst;
        }
    set_ctrl_by_name(fd, "Y'CbCr Encoding", 0);
    set_ctrl_by_name(fd, "Quantization", 0);
    close(fd);
    if (bad)
        return result("colorimetry", 0, "709 full: %s", c ? why : strerror(-rc));
    return result("colorimetry", worst <= 6 && !strcmp(last_bars, "WYCGMRBK"),
                  "driver reports ycbcr_enc=%u quantization=%u; bars %s, yellow %d,%d,%d vs BT.601 limited "
                  "%d,%d,%d, worst channel difference %d", f.fmt.pix.ycbcr_enc, f.fmt.pix.quantization, last_bars,
                  last_bar_rgb[1][0], last_bar_rgb[1][1], last_bar_rgb[1][2], base[1][0], base[1][1], base[1][2],
                  worst);
}

struct out_state {
    int fd;
    void *buf[4];
    size_t len[4];
    int nbuf;
    volatile int stop;
    uint8_t **frames; /* YUYV frames to cycle through; NULL: keep the buffers as they are */
    int nframes, next;
};

static void *feed_output(void *arg)
{
    struct out_state *o = arg;
    while (!o->stop) {
        struct pollfd p = {.fd = o->fd, .events = POLLOUT};
        if (poll(&p, 1, 100) <= 0)
            continue;
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
        if (xioctl(o->fd, VIDIOC_DQBUF, &b))
            continue;
        b.bytesused = (uint32_t)o->len[b.index];
        if (o->nframes)
            memcpy(o->buf[b.index], o->frames[o->next++ % o->nframes], o->len[b.index]);
        xioctl(o->fd, VIDIOC_QBUF, &b);
    }
    return NULL;
}

/* vivid's HDMI output /dev/video1 looped into its HDMI input /dev/video0 at
 * 640x480p60 YUYV, output streaming with 4 buffers holding `first`. */
static int loop_setup(struct out_state *o, const uint8_t *first, const char **step)
{
    int rc;
    int cfd = open("/dev/video0", O_RDWR), ofd = open("/dev/video1", O_RDWR | O_NONBLOCK);
    if (cfd < 0 || ofd < 0) {
        *step = "open /dev/video0 and /dev/video1";
        return -errno;
    }
    *step = "dv timings/format";
    rc = setup_node(ofd, V4L2_BUF_TYPE_VIDEO_OUTPUT);
    if (!rc)
        rc = setup_node(cfd, V4L2_BUF_TYPE_VIDEO_CAPTURE);
    if (!rc) {
        *step = "loop_video control";
        rc = set_ctrl_by_name(cfd, "Loop Video", 1);
        if (rc == -ENOENT)
            rc = set_ctrl_by_name(ofd, "Loop Video", 1);
    }
    if (!rc) {
        /* no on-screen text over the looped picture (best effort) */
        set_ctrl_by_name(cfd, "OSD Text Mode", 2);
    }
    memset(o, 0, sizeof *o);
    o->fd = ofd;
    if (!rc) {
        *step = "output buffers";
        struct v4l2_requestbuffers req = {.count = 4, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
        rc = xioctl(ofd, VIDIOC_REQBUFS, &req);
        for (uint32_t i = 0; !rc && i < req.count && i < 4; i++) {
            struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP, .index = i};
            rc = xioctl(ofd, VIDIOC_QUERYBUF, &b);
            if (rc)
                break;
            o->buf[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, ofd, b.m.offset);
            if (o->buf[i] == MAP_FAILED) {
                rc = -errno;
                break;
            }
            o->len[i] = 640 * 480 * 2;
            memcpy(o->buf[i], first, o->len[i]);
            b.bytesused = (uint32_t)o->len[i];
            rc = xioctl(ofd, VIDIOC_QBUF, &b);
            o->nbuf = (int)i + 1;
        }
        int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        if (!rc)
            rc = xioctl(ofd, VIDIOC_STREAMON, &type);
    }
    close(cfd);
    return rc;
}

static int check_loop(const char *image)
{
    /* our picture: the portrait centre-cropped to 640x480, as YUYV */
    struct ac_image img;
    int rc = ac_image_load(image, &img);
    if (rc)
        return result("loop", 0, "%s: %s", image, strerror(-rc));
    uint8_t *rgb = malloc(640 * 480 * 3), *argb = malloc(640 * 480 * 4), *yuyv = malloc(640 * 480 * 2);
    uint8_t *expect = malloc(640 * 480 * 3);
    struct ac_convert conv;
    rc = ac_convert_init(&conv, AC_FMT_RGB24, img.w, img.h, img.stride, 640, 480);
    if (!rc)
        rc = ac_convert_run(&conv, img.rgb, (size_t)img.stride * img.h, rgb, 640 * 3);
    ac_convert_uninit(&conv);
    ac_image_free(&img);
    RAWToARGB(rgb, 640 * 3, argb, 640 * 4, 640, 480);
    ARGBToYUY2(argb, 640 * 4, yuyv, 640 * 2, 640, 480);
    /* what our capture path must produce from those exact bytes */
    if (!rc)
        rc = ac_convert_init(&conv, AC_FMT_YUYV, 640, 480, 0, 640, 480);
    if (!rc)
        rc = ac_convert_run(&conv, yuyv, 640 * 480 * 2, expect, 640 * 3);
    ac_convert_uninit(&conv);
    if (rc)
        return result("loop", 0, "preparing frame: %s", strerror(-rc));

    struct out_state o;
    const char *step;
    rc = loop_setup(&o, yuyv, &step);
    if (rc)
        return result("loop", 0, "%s: %s", step, strerror(-rc));
    int ofd = o.fd;
    pthread_t th;
    pthread_create(&th, NULL, feed_output, &o);

    struct ac_capture *c = start_capture(AC_FMT_YUYV, &rc);
    int frames = 0, identical = 0, worst_all = 0;
    long near_px = 0;
    for (int i = 0; c && i < 20; i++) {
        struct ac_frame *f;
        int64_t give_up = now_ns() + 5000000000LL;
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN || rc == -ETIMEDOUT)
            if (now_ns() > give_up)
                break;
        if (rc)
            break;
        frames++;
        int worst = 0;
        long same = 0;
        for (int y = 0; y < 480; y++)
            for (int x = 0; x < 640 * 3; x++) {
                int d = abs(f->rgb[(size_t)y * f->stride + x] - expect[(size_t)y * 640 * 3 + x]);
                if (d > worst)
                    worst = d;
                same += d <= 2;
            }
        identical += worst == 0;
        if (worst > worst_all)
            worst_all = worst;
        if (i == 19)
            near_px = same;
        ac_frame_unref(f);
    }
    o.stop = 1;
    pthread_join(th, NULL);
    ac_capture_close(c);
    int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    xioctl(ofd, VIDIOC_STREAMOFF, &type);
    for (int i = 0; i < o.nbuf; i++)
        munmap(o.buf[i], 640 * 480 * 2);
    close(ofd);
    free(rgb);
    free(argb);
    free(yuyv);
    free(expect);
    /* the last frames must be ours, pixel for pixel (the first may still be
     * vivid's own pattern while the loop starts) */
    double frac = near_px / (640.0 * 480 * 3);
    return result("loop", frames == 20 && frac > 0.999,
                  "frames=%d identical_frames=%d last_frame_match=%.4f worst_diff=%d", frames, identical, frac,
                  worst_all);
}

/* Frames of a capture source (dir:/file:) as YUYV 640x480 for the output
 * side, and the RGB our capture path must make of each. */
static int load_feed(const char *src, uint8_t ***yuyv, uint8_t ***expect, int max)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.realtime = 0;
    struct ac_capture *c = NULL;
    int rc = ac_capture_open(src, &s, &c);
    if (!rc)
        rc = ac_capture_init(c);
    if (!rc)
        rc = ac_capture_start(c);
    *yuyv = calloc((size_t)max, sizeof **yuyv);
    *expect = calloc((size_t)max, sizeof **expect);
    uint8_t *argb = malloc(640 * 480 * 4);
    struct ac_convert conv;
    if (!rc)
        rc = ac_convert_init(&conv, AC_FMT_YUYV, 640, 480, 0, 640, 480);
    int n = 0;
    while (!rc && n < max) {
        struct ac_frame *f;
        int r = ac_capture_read(c, 1000, &f);
        if (r == -EAGAIN)
            continue;
        if (r)
            break;
        (*yuyv)[n] = malloc(640 * 480 * 2);
        (*expect)[n] = malloc(640 * 480 * 3);
        RAWToARGB(f->rgb, f->stride, argb, 640 * 4, 640, 480);
        ARGBToYUY2(argb, 640 * 4, (*yuyv)[n], 640 * 2, 640, 480);
        ac_convert_run(&conv, (*yuyv)[n], 640 * 480 * 2, (*expect)[n], 640 * 3);
        ac_frame_unref(f);
        n++;
    }
    if (!rc)
        ac_convert_uninit(&conv);
    free(argb);
    ac_capture_close(c);
    return rc ? rc : n;
}

/* Our own moving-face frames through the driver: every captured frame must
 * be one of them, pixel for pixel, and they must come in order. This is how
 * a pipeline test can put real faces in front of the daemon's camera. */
static int check_feed(const char *src)
{
    uint8_t **yuyv, **expect;
    int n = load_feed(src, &yuyv, &expect, 32);
    if (n < 2)
        return result("feed", 0, "%s: %s", src, n < 0 ? strerror(-n) : "fewer than 2 frames");
    struct out_state o;
    const char *step;
    int rc = loop_setup(&o, yuyv[0], &step);
    if (rc)
        return result("feed", 0, "%s: %s", step, strerror(-rc));
    o.frames = yuyv;
    o.nframes = n;
    pthread_t th;
    pthread_create(&th, NULL, feed_output, &o);
    struct ac_capture *c = start_capture(AC_FMT_YUYV, &rc);
    int captured = 0, exact = 0, in_order = 1, last = -1, seen_mask = 0;
    for (int i = 0; c && i < 40; i++) {
        struct ac_frame *f;
        int64_t give_up = now_ns() + 5000000000LL;
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN || rc == -ETIMEDOUT)
            if (now_ns() > give_up)
                break;
        if (rc)
            break;
        captured++;
        int match = -1;
        for (int k = 0; k < n && match < 0; k++) {
            int same = 1;
            for (int y = 0; y < 480 && same; y++)
                same = !memcmp(f->rgb + (size_t)y * f->stride, expect[k] + (size_t)y * 640 * 3, 640 * 3);
            if (same)
                match = k;
        }
        ac_frame_unref(f);
        if (match < 0)
            continue;
        exact++;
        /* the output may run ahead of or behind capture: frames repeat or
         * are skipped, but never go backwards (modulo the wrap) */
        if (last >= 0 && (match - last + n) % n > n / 2)
            in_order = 0;
        last = match;
        seen_mask |= 1 << match;
    }
    o.stop = 1;
    pthread_join(th, NULL);
    ac_capture_close(c);
    int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    xioctl(o.fd, VIDIOC_STREAMOFF, &type);
    for (int i = 0; i < o.nbuf; i++)
        munmap(o.buf[i], 640 * 480 * 2);
    close(o.fd);
    int distinct = __builtin_popcount((unsigned)seen_mask);
    /* the first frames may still be vivid's own picture while the loop starts */
    return result("feed", captured == 40 && exact >= 36 && in_order && distinct >= (n < 4 ? n : 4),
                  "fed=%d captured=%d identical_to_a_fed_frame=%d distinct_seen=%d in_order=%d", n, captured, exact,
                  distinct, in_order);
}

/* Allocation counter: the static link wraps malloc/calloc/realloc (see
 * meson.build), so calls from our code, libyuv and libstdc++ are counted. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
static atomic_long allocs;
void *__wrap_malloc(size_t n)
{
    atomic_fetch_add(&allocs, 1);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    atomic_fetch_add(&allocs, 1);
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    atomic_fetch_add(&allocs, 1);
    return __real_realloc(p, n);
}

struct consumer_arg {
    struct ac_capture *cap;
    struct ac_frameslot *slot;
    ac_atomic_int stop;
    int rc;
};

static void *capture_thread(void *p)
{
    struct consumer_arg *a = p;
    a->rc = ac_capture_loop(a->cap, a->slot, &a->stop);
    return NULL;
}

/* The daemon's shape on a real driver: capture thread -> slot -> a consumer
 * 8x slower than the camera. The consumer must always get a fresh frame
 * (not a queued old one), the slot must count the skipped ones, the camera
 * must never run out of pool frames, and steady-state reading must not
 * allocate. */
static int check_slow_consumer(void)
{
    int rc;
    struct ac_capture *c = start_capture(AC_FMT_YUYV, &rc);
    if (!c)
        return result("slow-consumer", 0, "start: %s", strerror(-rc));
    struct consumer_arg a = {.cap = c};
    atomic_init(&a.stop, 0);
    ac_frameslot_create(&a.slot);
    pthread_t th;
    pthread_create(&th, NULL, capture_thread, &a);
    int taken = 0, max_age_ms = 0, steady_allocs = 0;
    long a0 = 0;
    for (int i = 0; i < 8; i++) {
        struct ac_frame *f;
        if (ac_frameslot_take(a.slot, 2000, &f))
            break;
        int age = (int)((now_ns() - f->ts_ns) / 1000000);
        if (i >= 2 && age > max_age_ms) /* the first takes may wait for startup */
            max_age_ms = age;
        taken++;
        ac_frame_unref(f);
        if (i == 2)
            a0 = atomic_load(&allocs);
        struct timespec t = {0, 300000000}; /* the "detector": 300 ms a frame */
        nanosleep(&t, NULL);
    }
    steady_allocs = (int)(atomic_load(&allocs) - a0);
    atomic_store(&a.stop, 1);
    pthread_join(th, NULL);
    struct ac_frameslot_stats ss;
    ac_frameslot_get_stats(a.slot, &ss);
    struct ac_capture_stats st;
    ac_capture_get_stats(c, &st);
    ac_frameslot_destroy(a.slot);
    ac_capture_close(c);
    /* at 25 fps a frame waits at most one period in the slot, plus the
     * lead/lag of vivid's timestamps and the emulated machine's jitter */
    /* a0 > 0: the counter does see the set-up allocations */
    int ok = taken == 8 && ss.dropped > ss.taken * 3 && st.no_buffer == 0 && max_age_ms < 250 &&
             steady_allocs == 0 && a0 > 0 && a.rc == 0;
    return result("slow-consumer", ok, "taken=%d slot_dropped=%llu captured=%llu no_buffer=%llu "
                  "max_frame_age_ms=%d allocations_at_setup=%ld allocations_while_streaming=%d", taken,
                  (unsigned long long)ss.dropped, (unsigned long long)st.frames, (unsigned long long)st.no_buffer,
                  max_age_ms, a0, steady_allocs);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "formats"))
        return check_formats();
    if (argc >= 3 && !strcmp(argv[1], "feed"))
        return check_feed(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "colorimetry"))
        return check_colorimetry();
    if (argc >= 2 && !strcmp(argv[1], "slow"))
        return check_slow_consumer();
    if (argc >= 2 && !strcmp(argv[1], "buferror"))
        return check_buf_error();
    if (argc >= 2 && !strcmp(argv[1], "loss"))
        return check_loss();
    if (argc >= 3 && !strcmp(argv[1], "loop"))
        return check_loop(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "capture"))
        return ac_cmd_capture(argc - 1, argv + 1);
    fprintf(stderr, "usage: vivid_check formats|loss|loop IMAGE|capture ARGS...\n");
    return 2;
}
