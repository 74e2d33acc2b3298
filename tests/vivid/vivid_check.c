/* Runs inside the qemu VM against the kernel's vivid driver (statically
 * linked; the VM has nothing else). Every check prints one line
 *   AGECAM-VIVID <check> PASS|FAIL <details>
 * on the serial console for run_vivid.sh to grep.
 *   vivid_check formats        YUYV, NV12 (+ UYVY, NV21, YU12, YV12, a downscale) at
 *                              640x480: count, size, timestamps, colour bars
 *   vivid_check colorimetry    BT.709 full-range bars decode like BT.601 limited ones
 *   vivid_check slow           capture thread + slot + slow consumer, no allocations
 *   vivid_check buferror       driver-flagged bad buffers are dropped and counted
 *   vivid_check stall          a camera that sends nothing is reopened after stall_ms
 *   vivid_check loss           unbind/bind the driver while streaming
 *   vivid_check loop IMAGE     push our own frames through /dev/video1 -> /dev/video0
 *   vivid_check feed SRC       frames of a dir:/file: source through the loop, in order
 *   vivid_check capture ...    the `agecam capture` command itself
 *   vivid_check pump SRC STATE READY DONE  play SRC into the loop for agecamd
 *                              on /dev/video0, a frame per frame it processed */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "vivid_loop.h"
#include "vivid_util.h"

int ac_cmd_capture(int argc, char **argv);

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
        vivid_out_w = cases[k].w;
        vivid_out_h = cases[k].h;
        int rc;
        struct ac_capture *c = vivid_start(cases[k].f, &rc);
        if (!c) {
            fails += vivid_result(check, 0, "start: %s", strerror(-rc));
            continue;
        }
        struct ac_capture_stats st;
        ac_capture_get_stats(c, &st);
        double fps = 0;
        int distinct = 0, n = cases[k].n;
        int bad = vivid_read_frames(c, n, why, sizeof why, &fps, &distinct);
        struct ac_capture_stats st2;
        ac_capture_get_stats(c, &st2);
        if (!bad && (st.fourcc != cases[k].f || st.src_w != 640 || st.src_h != 480))
            bad = snprintf(why, sizeof why, "negotiated %s %dx%d", ac_capfmt_name(st.fourcc, name), st.src_w, st.src_h);
        if (!bad && distinct < 4)
            bad = snprintf(why, sizeof why, "picture looks flat (%d changes along a row)", distinct);
        if (!bad && strcmp(vivid_bars, "WYCGMRBK"))
            bad = snprintf(why, sizeof why, "colour bars read as %s, expected WYCGMRBK", vivid_bars);
        if (!bad && st2.frames != (uint64_t)n)
            bad = snprintf(why, sizeof why, "stats say %llu frames", (unsigned long long)st2.frames);
        if (bad)
            fails += vivid_result(check, 0, "%s", why);
        else
            fails += vivid_result(check, 1, "frames=%d source=%s 640x480 out=%dx%d driver_fps=%.1f measured_fps=%.1f "
                            "ts=monotonic,increasing bars=%s corrupt=%llu", n, ac_capfmt_name(st.fourcc, name),
                            vivid_out_w, vivid_out_h, st.fps_milli / 1000.0, fps, vivid_bars, (unsigned long long)st2.corrupt);
        ac_capture_close(c);
    }
    vivid_out_w = 640;
    vivid_out_h = 480;
    return fails;
}

static int check_loss(void)
{
    int rc;
    struct ac_capture *c = vivid_start(AC_FMT_YUYV, &rc);
    if (!c)
        return vivid_result("loss", 0, "start: %s", strerror(-rc));
    char why[160] = "";
    double fps;
    int distinct;
    if (vivid_read_frames(c, 5, why, sizeof why, &fps, &distinct)) {
        ac_capture_close(c);
        return vivid_result("loss", 0, "before unbind: %s", why);
    }
    rc = vivid_write_sys("/sys/bus/platform/drivers/vivid/unbind", "vivid.0");
    if (rc) {
        ac_capture_close(c);
        return vivid_result("loss", 0, "unbind: %s", strerror(-rc));
    }
    struct ac_capture_stats st;
    int64_t until = vivid_now_ns() + 3000000000LL;
    int offline_reads = 0;
    do {
        struct ac_frame *f;
        rc = ac_capture_read(c, 200, &f);
        if (!rc)
            ac_frame_unref(f);
        ac_capture_get_stats(c, &st);
    } while (st.online && vivid_now_ns() < until);
    if (st.online || st.losses != 1) {
        ac_capture_close(c);
        return vivid_result("loss", 0, "device unbound but online=%d losses=%llu", st.online,
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
    struct ac_capture *w = vivid_start_w(AC_FMT_YUYV, 1, &rc);
    struct ac_capture_stats wst;
    if (w)
        ac_capture_get_stats(w, &wst);
    if (!w || wst.online) {
        ac_capture_close(c);
        ac_capture_close(w);
        return vivid_result("loss", 0, "open while absent: %s online=%d", strerror(-rc), w ? wst.online : -1);
    }
    rc = vivid_write_sys("/sys/bus/platform/drivers/vivid/bind", "vivid.0");
    if (rc) {
        ac_capture_close(c);
        return vivid_result("loss", 0, "bind: %s", strerror(-rc));
    }
    int64_t t_bind = vivid_now_ns();
    int got = 0;
    until = vivid_now_ns() + 10000000000LL;
    while (got < 10 && vivid_now_ns() < until) {
        struct ac_frame *f;
        if (ac_capture_read(c, 200, &f) == 0) {
            got++;
            ac_frame_unref(f);
        }
    }
    ac_capture_get_stats(c, &st);
    int ok = got == 10 && st.online && st.reopens == 1 && offline_reads == 5 && st.frames == frames_before + 10;
    rc = vivid_result("loss", ok, "unbind->offline losses=%llu offline_reads=%d, bind->online reopens=%llu "
                "frames_after=%d back_after_ms=%lld", (unsigned long long)st.losses, offline_reads,
                (unsigned long long)st.reopens, got, (long long)((vivid_now_ns() - t_bind) / 1000000));
    ac_capture_close(c);
    /* now the waiting source gets the device */
    got = 0;
    until = vivid_now_ns() + 10000000000LL;
    while (got < 5 && vivid_now_ns() < until) {
        struct ac_frame *f;
        if (ac_capture_read(w, 200, &f) == 0) {
            got++;
            ac_frame_unref(f);
        }
    }
    ac_capture_get_stats(w, &wst);
    char n[5];
    rc |= vivid_result("wait-for-device", got == 5 && wst.online && wst.reopens == 1 && wst.src_w == 640,
                 "opened absent online=0, device appeared: frames=%d reopens=%llu negotiated=%s %dx%d", got,
                 (unsigned long long)wst.reopens, ac_capfmt_name(wst.fourcc, n), wst.src_w, wst.src_h);
    ac_capture_close(w);
    return rc;
}

/* vivid marks the next buffer V4L2_BUF_FLAG_ERROR on request: a driver-side
 * bad frame must be dropped and counted, and streaming must go on */
static int check_buf_error(void)
{
    int rc;
    struct ac_capture *c = vivid_start(AC_FMT_YUYV, &rc);
    if (!c)
        return vivid_result("buf-error", 0, "start: %s", strerror(-rc));
    int fd = open(DEV, O_RDWR);
    int presses = 0, frames = 0, errs = 0;
    for (int round = 0; round < 4 && fd >= 0; round++) {
        if (round > 0) {
            rc = vivid_set_ctrl(fd, "Inject V4L2_BUF_FLAG_ERROR", 1);
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
    return vivid_result("buf-error", presses == 3 && frames == 16 && st.corrupt == 3 && st.online && st.losses == 0,
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
    struct ac_capture *c = vivid_start(AC_FMT_YUYV, &rc);
    if (!c || vivid_read_frames(c, 3, why, sizeof why, &fps, &distinct)) {
        ac_capture_close(c);
        return vivid_result("colorimetry", 0, "baseline: %s", c ? why : strerror(-rc));
    }
    ac_capture_close(c);
    memcpy(base, vivid_bar_rgb, sizeof base);
    int fd = open(DEV, O_RDWR);
    rc = fd < 0 ? -errno : vivid_set_ctrl(fd, "Y'CbCr Encoding", V4L2_YCBCR_ENC_709);
    if (!rc)
        rc = vivid_set_ctrl(fd, "Quantization", V4L2_QUANTIZATION_FULL_RANGE);
    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (!rc)
        rc = vivid_xioctl(fd, VIDIOC_G_FMT, &f);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return vivid_result("colorimetry", 0, "controls: %s", strerror(-rc));
    }
    c = vivid_start(AC_FMT_YUYV, &rc);
    int bad = !c || vivid_read_frames(c, 3, why, sizeof why, &fps, &distinct);
    ac_capture_close(c);
    int worst = 0;
    for (int k = 0; k < 8; k++)
        for (int ch = 0; ch < 3; ch++) {
            int d = abs(vivid_bar_rgb[k][ch] - base[k][ch]);
            worst = d > worst ? d : worst;
        }
    vivid_set_ctrl(fd, "Y'CbCr Encoding", 0);
    vivid_set_ctrl(fd, "Quantization", 0);
    close(fd);
    if (bad)
        return vivid_result("colorimetry", 0, "709 full: %s", c ? why : strerror(-rc));
    return vivid_result("colorimetry", worst <= 6 && !strcmp(vivid_bars, "WYCGMRBK"),
                  "driver reports ycbcr_enc=%u quantization=%u; bars %s, yellow %d,%d,%d vs BT.601 limited "
                  "%d,%d,%d, worst channel difference %d", f.fmt.pix.ycbcr_enc, f.fmt.pix.quantization, vivid_bars,
                  vivid_bar_rgb[1][0], vivid_bar_rgb[1][1], vivid_bar_rgb[1][2], base[1][0], base[1][1], base[1][2],
                  worst);
}

/* A camera that stays open but sends nothing (vivid drops every buffer on
 * request) is treated as lost after stall_ms, reopened, and recovers once
 * frames flow again. */
static int check_stall(void)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.prefer[0] = AC_FMT_YUYV;
    s.nprefer = 1;
    s.retry_min_ms = 100;
    s.retry_max_ms = 400;
    s.stall_ms = 800;
    struct ac_capture *c = NULL;
    int rc = ac_capture_open("v4l2:" DEV, &s, &c);
    if (!rc)
        rc = ac_capture_init(c);
    if (!rc)
        rc = ac_capture_start(c);
    char why[160] = "";
    double fps;
    int distinct;
    if (rc || vivid_read_frames(c, 3, why, sizeof why, &fps, &distinct)) {
        ac_capture_close(c);
        return vivid_result("stall", 0, "start: %s", rc ? strerror(-rc) : why);
    }
    int fd = open(DEV, O_RDWR);
    rc = fd < 0 ? -errno : vivid_set_ctrl(fd, "Percentage of Dropped Buffers", 100);
    if (rc) {
        ac_capture_close(c);
        if (fd >= 0)
            close(fd);
        return vivid_result("stall", 0, "drop control: %s", strerror(-rc));
    }
    struct ac_capture_stats st;
    int64_t t0 = vivid_now_ns(), until = t0 + 5000000000LL;
    do {
        struct ac_frame *f;
        if (ac_capture_read(c, 200, &f) == 0)
            ac_frame_unref(f);
        ac_capture_get_stats(c, &st);
    } while (st.losses == 0 && vivid_now_ns() < until);
    int lost_after_ms = (int)((vivid_now_ns() - t0) / 1000000);
    uint64_t losses = st.losses, frames0 = st.frames;
    vivid_set_ctrl(fd, "Percentage of Dropped Buffers", 0);
    close(fd);
    int got = 0;
    until = vivid_now_ns() + 10000000000LL;
    while (got < 5 && vivid_now_ns() < until) {
        struct ac_frame *f;
        if (ac_capture_read(c, 200, &f) == 0) {
            got++;
            ac_frame_unref(f);
        }
    }
    ac_capture_get_stats(c, &st);
    ac_capture_close(c);
    return vivid_result("stall", losses >= 1 && got == 5 && st.online && st.reopens >= 1 && st.frames == frames0 + 5 &&
                        lost_after_ms >= 800,
                        "no frames -> lost after %d ms (stall_ms=800), frames resumed=%d reopens=%llu timeouts=%llu",
                        lost_after_ms, got, (unsigned long long)st.reopens, (unsigned long long)st.timeouts);
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
    struct ac_capture *c = vivid_start(AC_FMT_YUYV, &rc);
    if (!c)
        return vivid_result("slow-consumer", 0, "start: %s", strerror(-rc));
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
        int age = (int)((vivid_now_ns() - f->ts_ns) / 1000000);
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
    return vivid_result("slow-consumer", ok, "taken=%d slot_dropped=%llu captured=%llu no_buffer=%llu "
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
        return vivid_check_feed(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "stall"))
        return check_stall();
    if (argc >= 2 && !strcmp(argv[1], "colorimetry"))
        return check_colorimetry();
    if (argc >= 2 && !strcmp(argv[1], "slow"))
        return check_slow_consumer();
    if (argc >= 2 && !strcmp(argv[1], "buferror"))
        return check_buf_error();
    if (argc >= 2 && !strcmp(argv[1], "loss"))
        return check_loss();
    if (argc >= 3 && !strcmp(argv[1], "loop"))
        return vivid_check_loop(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "capture"))
        return ac_cmd_capture(argc - 1, argv + 1);
    if (argc >= 6 && !strcmp(argv[1], "pump"))
        return vivid_pump(argv[2], argv[3], argv[4], argv[5]);
    fprintf(stderr, "usage: vivid_check formats|loss|loop IMAGE|feed SRC|pump SRC STATE READY DONE|capture ARGS...\n");
    return 2;
}

