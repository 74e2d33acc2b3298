/* Shared by the vivid checks: result lines, starting a capture, reading
 * and checking frames, small V4L2 and sysfs helpers. */
#include "vivid_util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int64_t vivid_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int vivid_result(const char *check, int ok, const char *fmt, ...)
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

int vivid_out_w = 640, vivid_out_h = 480;

struct ac_capture *vivid_start_w(uint32_t fourcc, int wait, int *rc)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.width = vivid_out_w;
    s.height = vivid_out_h;
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

struct ac_capture *vivid_start(uint32_t fourcc, int *rc)
{
    return vivid_start_w(fourcc, 0, rc);
}

/* Reads n frames; checks size, strictly increasing sequence and driver
 * timestamps that are CLOCK_MONOTONIC (close to now) and increasing. */
/* vivid's default picture is 75% colour bars: white yellow cyan green
 * magenta red blue black. Classify each bar by which channels are lit, so a
 * wrong matrix, swapped R/B or swapped chroma shows up. */
char vivid_bars[9];
uint8_t vivid_bar_rgb[8][3];

static void classify_bars(const struct ac_frame *f)
{
    static const char code[8] = {'K', 'B', 'G', 'C', 'R', 'M', 'Y', 'W'}; /* by R<<2|G<<1|B */
    const uint8_t *row = f->rgb + (size_t)(f->h / 2) * f->stride;
    for (int k = 0; k < 8; k++) {
        const uint8_t *p = row + 3 * ((2 * k + 1) * f->w / 16);
        memcpy(vivid_bar_rgb[k], p, 3);
        int on = 0, unclear = 0;
        for (int ch = 0; ch < 3; ch++) {
            on |= (p[ch] > 140) << (2 - ch);
            unclear |= p[ch] >= 60 && p[ch] <= 140;
        }
        vivid_bars[k] = unclear ? '?' : code[on];
    }
    vivid_bars[8] = 0;
}

int vivid_read_frames(struct ac_capture *c, int n, char *why, size_t whylen, double *fps, int *distinct)
{
    int64_t first = 0, last = 0;
    uint64_t last_seq = 0;
    *distinct = 0;
    for (int i = 0; i < n; i++) {
        struct ac_frame *f = NULL;
        int rc;
        int64_t give_up = vivid_now_ns() + 5000000000LL;
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN || rc == -ETIMEDOUT)
            if (vivid_now_ns() > give_up)
                break;
        if (rc) {
            snprintf(why, whylen, "frame %d: %s", i, strerror(-rc));
            return -1;
        }
        int64_t t = vivid_now_ns();
        int bad = 0;
        if (f->w != vivid_out_w || f->h != vivid_out_h)
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

int vivid_write_sys(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -errno;
    int rc = write(fd, val, strlen(val)) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int vivid_xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

/* vivid's private controls have no uapi ids: find them by name */
int vivid_set_ctrl(int fd, const char *name, int value)
{
    struct v4l2_queryctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
    while (vivid_xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
        if (!strcmp((const char *)q.name, name)) {
            struct v4l2_control c = {.id = q.id, .value = value};
            return vivid_xioctl(fd, VIDIOC_S_CTRL, &c);
        }
        q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
    }
    return -ENOENT;
}
