/* Frames of our own through vivid: its HDMI output /dev/video1 looped into
 * its HDMI input /dev/video0 (vivid node_types=0x101, loop_video=1). */
#include "vivid_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <libyuv.h>
#include <linux/v4l2-dv-timings.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/ac_convert.h"
#include "common/ac_image.h"
#include "vivid_util.h"

static int setup_node(int fd, uint32_t type)
{
    /* the uapi macro leaves trailing fields zero, which clang warns about */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
    struct v4l2_dv_timings t = V4L2_DV_BT_CEA_640X480P59_94;
#pragma GCC diagnostic pop
    int rc = vivid_xioctl(fd, VIDIOC_S_DV_TIMINGS, &t);
    if (rc)
        return rc;
    struct v4l2_format f = {.type = type};
    f.fmt.pix.width = 640;
    f.fmt.pix.height = 480;
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    rc = vivid_xioctl(fd, VIDIOC_S_FMT, &f);
    if (!rc && (f.fmt.pix.width != 640 || f.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV))
        rc = -EINVAL;
    return rc;
}

struct out_state {
    int fd;
    void *buf[4];
    size_t len[4];
    int nbuf;
    volatile int stop;
    uint8_t **frames; /* YUYV frames to cycle through; NULL: keep the buffers as they are */
    int nframes, next;
    /* steered: the output shows frames[cur], set by another thread */
    int steered;
    volatile int cur;
    long fed;
    int shows[4]; /* frame in each buffer: rewritten only on change, the
                     emulated CPU has little to spare */
};

static void *feed_output(void *arg)
{
    struct out_state *o = arg;
    while (!o->stop) {
        struct pollfd p = {.fd = o->fd, .events = POLLOUT};
        if (poll(&p, 1, 100) <= 0)
            continue;
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
        if (vivid_xioctl(o->fd, VIDIOC_DQBUF, &b))
            continue;
        b.bytesused = (uint32_t)o->len[b.index];
        if (o->nframes && o->steered) {
            int k = o->cur;
            if (o->shows[b.index] != k) {
                memcpy(o->buf[b.index], o->frames[k], o->len[b.index]);
                o->shows[b.index] = k;
            }
        } else if (o->nframes) {
            memcpy(o->buf[b.index], o->frames[o->next++ % o->nframes], o->len[b.index]);
        }
        vivid_xioctl(o->fd, VIDIOC_QBUF, &b);
        o->fed++;
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
        rc = vivid_set_ctrl(cfd, "Loop Video", 1);
        if (rc == -ENOENT)
            rc = vivid_set_ctrl(ofd, "Loop Video", 1);
    }
    if (!rc) {
        /* no on-screen text over the looped picture (best effort) */
        vivid_set_ctrl(cfd, "OSD Text Mode", 2);
    }
    memset(o, 0, sizeof *o);
    o->fd = ofd;
    if (!rc) {
        *step = "output buffers";
        struct v4l2_requestbuffers req = {.count = 4, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
        rc = vivid_xioctl(ofd, VIDIOC_REQBUFS, &req);
        for (uint32_t i = 0; !rc && i < req.count && i < 4; i++) {
            struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP, .index = i};
            rc = vivid_xioctl(ofd, VIDIOC_QUERYBUF, &b);
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
            rc = vivid_xioctl(ofd, VIDIOC_QBUF, &b);
            o->nbuf = (int)i + 1;
        }
        int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        if (!rc)
            rc = vivid_xioctl(ofd, VIDIOC_STREAMON, &type);
    }
    close(cfd);
    return rc;
}

int vivid_check_loop(const char *image)
{
    /* our picture: the portrait centre-cropped to 640x480, as YUYV */
    struct ac_image img;
    int rc = ac_image_load(image, &img);
    if (rc)
        return vivid_result("loop", 0, "%s: %s", image, strerror(-rc));
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
        return vivid_result("loop", 0, "preparing frame: %s", strerror(-rc));

    struct out_state o;
    const char *step;
    rc = loop_setup(&o, yuyv, &step);
    if (rc)
        return vivid_result("loop", 0, "%s: %s", step, strerror(-rc));
    int ofd = o.fd;
    pthread_t th;
    pthread_create(&th, NULL, feed_output, &o);

    struct ac_capture *c = vivid_start(AC_FMT_YUYV, &rc);
    int frames = 0, identical = 0, worst_all = 0;
    long near_px = 0;
    for (int i = 0; c && i < 20; i++) {
        struct ac_frame *f;
        int64_t give_up = vivid_now_ns() + 5000000000LL;
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN || rc == -ETIMEDOUT)
            if (vivid_now_ns() > give_up)
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
    vivid_xioctl(ofd, VIDIOC_STREAMOFF, &type);
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
    return vivid_result("loop", frames == 20 && frac > 0.999,
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
int vivid_check_feed(const char *src)
{
    uint8_t **yuyv, **expect;
    int n = load_feed(src, &yuyv, &expect, 32);
    if (n < 2)
        return vivid_result("feed", 0, "%s: %s", src, n < 0 ? strerror(-n) : "fewer than 2 frames");
    struct out_state o;
    const char *step;
    int rc = loop_setup(&o, yuyv[0], &step);
    if (rc)
        return vivid_result("feed", 0, "%s: %s", step, strerror(-rc));
    o.frames = yuyv;
    o.nframes = n;
    pthread_t th;
    pthread_create(&th, NULL, feed_output, &o);
    struct ac_capture *c = vivid_start(AC_FMT_YUYV, &rc);
    int captured = 0, exact = 0, in_order = 1, last = -1, seen_mask = 0;
    for (int i = 0; c && i < 40; i++) {
        struct ac_frame *f;
        int64_t give_up = vivid_now_ns() + 5000000000LL;
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN || rc == -ETIMEDOUT)
            if (vivid_now_ns() > give_up)
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
    vivid_xioctl(o.fd, VIDIOC_STREAMOFF, &type);
    for (int i = 0; i < o.nbuf; i++)
        munmap(o.buf[i], 640 * 480 * 2);
    close(o.fd);
    int distinct = __builtin_popcount((unsigned)seen_mask);
    /* the first frames may still be vivid's own picture while the loop starts */
    return vivid_result("feed", captured == 40 && exact >= 36 && in_order && distinct >= (n < 4 ? n : 4),
                  "fed=%d captured=%d identical_to_a_fed_frame=%d distinct_seen=%d in_order=%d", n, captured, exact,
                  distinct, in_order);
}

static volatile sig_atomic_t pump_stop;

static void on_term(int sig)
{
    (void)sig;
    pump_stop = 1;
}

/* "frames=N" from the state file vivid_ring keeps; -1 while there is none */
static long read_frames(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *f = strstr(buf, "frames=");
    return f ? strtol(f + 7, NULL, 10) : -1;
}

/* Plays a dir:/file: source into the loop for agecamd capturing
 * /dev/video0, one frame further for every frame the daemon has processed
 * (its HEALTH records, which vivid_ring copies into `progress`): the face
 * then moves at a pace the daemon follows however slow the emulated
 * machine is, never skipping positions between two processed frames.
 * Creates `ready` once the loop runs, `done` when the last frame has been
 * shown for a few processed frames; runs until SIGTERM. */
int vivid_pump(const char *src, const char *progress, const char *ready, const char *done)
{
    uint8_t **yuyv, **expect;
    int n = load_feed(src, &yuyv, &expect, 32);
    if (n < 1)
        return vivid_result("pump", 0, "%s: %s", src, n < 0 ? strerror(-n) : "no frames");
    struct out_state o;
    const char *step;
    int rc = loop_setup(&o, yuyv[0], &step);
    if (rc)
        return vivid_result("pump", 0, "%s: %s", step, strerror(-rc));
    o.frames = yuyv;
    o.nframes = n;
    o.steered = 1;
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pthread_t th;
    pthread_create(&th, NULL, feed_output, &o);
    int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
    long base = -1, shown = 0;
    int finished = 0;
    int64_t t0 = vivid_now_ns();
    while (!pump_stop) {
        usleep(100000); /* not pause(): a signal before it would be lost */
        long frames = read_frames(progress);
        if (frames < 1)
            continue; /* the daemon has not processed a frame yet */
        if (base < 0)
            base = frames;
        shown = frames - base;
        o.cur = shown < n - 1 ? (int)shown : n - 1;
        if (!finished && shown >= n - 1 + 3) {
            finished = 1;
            fd = open(done, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0)
                close(fd);
        }
    }
    o.stop = 1;
    pthread_join(th, NULL);
    int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    vivid_xioctl(o.fd, VIDIOC_STREAMOFF, &type);
    for (int i = 0; i < o.nbuf; i++)
        munmap(o.buf[i], 640 * 480 * 2);
    close(o.fd);
    double secs = (double)(vivid_now_ns() - t0) / 1e9;
    /* every position shown, and the output kept flowing the whole time
     * (vivid paces it at the DV timings' 60 Hz; the emulated machine
     * manages far fewer) */
    return vivid_result("pump", finished && o.fed >= secs, "frames=%d processed_while_playing=%ld buffers_fed=%ld "
                        "seconds=%.1f", n, shown, o.fed, secs);
}
