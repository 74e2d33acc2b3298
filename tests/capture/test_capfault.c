/* Capture failing mid-stream, through a scripted backend injected with
 * ac_capture_open_backend: the device vanishing (EIO/ENODEV), reads timing
 * out, only corrupt frames arriving, the device coming back but failing
 * init. Expected: the capture never ends or blocks for good; losses,
 * reopens, timeouts and corrupt frames are counted exactly; the reopen
 * backoff grows and is capped; frame sequence numbers stay consecutive
 * across losses; every backend instance opened is closed (no leak); and a
 * capture loop thread keeps publishing through all of it and stops promptly. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "capture/ac_capture.h"
#include "capture/ac_capture_backend.h"
#include "capture/ac_frameslot.h"
#include "../common/check.h"

/* The script: one character per read() call, consumed in order; at its end
 * every read delivers a frame.
 *   F frame   E -EIO (device gone)   N -ENODEV   T -ETIMEDOUT   C corrupt (-EAGAIN) */
static const char *script;
static size_t pos;
static int open_fail, init_fail;          /* fail the next N open() / init() calls */
static atomic_int opens, closes, inits, uninits;
static uint32_t src_counter;
/* the script is changed while test_loop's capture thread reads it */
static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;

struct fake {
    struct ac_capture_counters *ctr;
};

static int f_open(const char *arg, const struct ac_capture_settings *s, struct ac_capture_counters *ctr,
                  void **priv)
{
    (void)arg, (void)s;
    pthread_mutex_lock(&script_lock);
    int fail = open_fail > 0;
    if (fail)
        open_fail--;
    pthread_mutex_unlock(&script_lock);
    if (fail)
        return -ENOENT;
    static struct fake fk;
    fk.ctr = ctr;
    *priv = &fk;
    atomic_fetch_add(&opens, 1);
    return 0;
}

static int f_init(void *priv, struct ac_capfmt *fmt)
{
    (void)priv;
    atomic_fetch_add(&inits, 1);
    if (init_fail > 0) {
        init_fail--;
        return -EIO;
    }
    fmt->fourcc = AC_FMT_RGB24;
    fmt->w = 32;
    fmt->h = 24;
    fmt->fps_milli = 30000;
    return 0;
}

static int f_start(void *priv, int w, int h)
{
    (void)priv, (void)w, (void)h;
    return 0;
}

static void nap_ms(int ms)
{
    struct timespec t = {0, (long)ms * 1000000L};
    nanosleep(&t, NULL);
}

static int f_read(void *priv, int timeout_ms, struct ac_frame *dst)
{
    struct fake *fk = priv;
    pthread_mutex_lock(&script_lock);
    char c = script && script[pos] ? script[pos++] : 'F';
    pthread_mutex_unlock(&script_lock);
    switch (c) {
    case 'E': return -EIO;
    case 'N': return -ENODEV;
    case 'T': nap_ms(timeout_ms < 5 ? timeout_ms : 5); return -ETIMEDOUT;
    case 'C': atomic_fetch_add(&fk->ctr->corrupt, 1); nap_ms(2); return -EAGAIN;
    default:
        memset(dst->rgb, 0x40, (size_t)dst->stride * dst->h);
        dst->ts_ns = ac_capture_now_ns();
        dst->src_seq = src_counter++;
        return 0;
    }
}

static int f_stop(void *priv) { (void)priv; return 0; }
static void f_uninit(void *priv) { (void)priv; atomic_fetch_add(&uninits, 1); }
static void f_close(void *priv) { (void)priv; atomic_fetch_add(&closes, 1); }

static const struct ac_capture_backend fake_backend = {
    .name = "fake", .can_lose = 1,
    .open = f_open, .init = f_init, .start = f_start, .read = f_read,
    .stop = f_stop, .uninit = f_uninit, .close = f_close,
};

static void reset(const char *s)
{
    script = s;
    pos = 0;
    open_fail = init_fail = 0;
    atomic_store(&opens, 0);
    atomic_store(&closes, 0);
    atomic_store(&inits, 0);
    atomic_store(&uninits, 0);
}

static struct ac_capture *start(void)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.width = 32;
    s.height = 24;
    s.retry_min_ms = 10;
    s.retry_max_ms = 40;
    s.stall_ms = 100;
    struct ac_capture *c = NULL;
    CHECK_EQ(ac_capture_open_backend(&fake_backend, "scripted", &s, &c), 0);
    CHECK_EQ(ac_capture_init(c), 0);
    CHECK_EQ(ac_capture_start(c), 0);
    return c;
}

/* Reads until `want` frames arrived or ms passed; frames must be consecutive. */
static int read_frames(struct ac_capture *c, int want, int ms, uint64_t *next_seq)
{
    int got = 0;
    int64_t end = ac_capture_now_ns() + (int64_t)ms * 1000000;
    while (got < want && ac_capture_now_ns() < end) {
        struct ac_frame *f;
        int rc = ac_capture_read(c, 50, &f);
        if (rc == 0) {
            CHECK_EQ(f->seq, *next_seq);
            (*next_seq)++;
            got++;
            ac_frame_unref(f);
        } else {
            CHECK(rc == -EAGAIN || rc == -ETIMEDOUT);
        }
    }
    return got;
}

static void test_device_gone(void)
{
    reset("FFFE");
    struct ac_capture *c = start();
    uint64_t seq = 0;
    CHECK_EQ(read_frames(c, 3, 1000, &seq), 3);
    open_fail = 3; /* absent for three retries: 10, 20, 40 ms of backoff */
    struct ac_frame *f;
    CHECK_EQ(ac_capture_read(c, 50, &f), -EAGAIN);
    struct ac_capture_stats st;
    ac_capture_get_stats(c, &st);
    CHECK_EQ(st.losses, 1);
    CHECK_EQ(st.online, 0);
    CHECK_EQ(atomic_load(&closes), 1); /* the dead device is released at once */
    int64_t t0 = ac_capture_now_ns();
    CHECK_EQ(read_frames(c, 5, 3000, &seq), 5);
    int64_t waited_ms = (ac_capture_now_ns() - t0) / 1000000;
    CHECK(waited_ms >= 10 + 20 + 40 - 5); /* backoff doubled up to the cap */
    CHECK_EQ(open_fail, 0);
    ac_capture_get_stats(c, &st);
    CHECK_EQ(st.reopens, 1);
    CHECK_EQ(st.online, 1);
    CHECK_EQ(st.frames, 8);
    ac_capture_close(c);
    CHECK_EQ(atomic_load(&opens), atomic_load(&closes));
}

static void test_timeouts_and_corrupt(void)
{
    /* timeouts for longer than stall_ms: treated as a lost device */
    static char ts[200];
    memset(ts, 'T', 60);
    strcpy(ts + 60, "F");
    reset(ts);
    struct ac_capture *c = start();
    uint64_t seq = 0;
    CHECK_EQ(read_frames(c, 1, 5000, &seq), 1);
    struct ac_capture_stats st;
    ac_capture_get_stats(c, &st);
    CHECK(st.timeouts >= 15);
    CHECK(st.losses >= 1);
    CHECK_EQ(st.reopens, st.losses);
    ac_capture_close(c);
    CHECK_EQ(atomic_load(&opens), atomic_load(&closes));

    /* a device sending only corrupt frames: dropped, counted, then reopened */
    static char cs[200];
    memset(cs, 'C', 120);
    strcpy(cs + 120, "FF");
    reset(cs);
    c = start();
    seq = 0;
    CHECK_EQ(read_frames(c, 2, 5000, &seq), 2);
    ac_capture_get_stats(c, &st);
    CHECK_EQ(st.corrupt, 120);
    CHECK(st.losses >= 1);
    CHECK_EQ(st.frames, 2);
    ac_capture_close(c);
    CHECK_EQ(atomic_load(&opens), atomic_load(&closes));

    /* back, but init fails twice: stays offline, retries, recovers */
    reset("FN");
    c = start();
    seq = 0;
    CHECK_EQ(read_frames(c, 1, 1000, &seq), 1);
    init_fail = 2;
    CHECK_EQ(read_frames(c, 3, 3000, &seq), 3);
    CHECK_EQ(init_fail, 0);
    ac_capture_get_stats(c, &st);
    CHECK_EQ(st.losses, 1);
    CHECK_EQ(st.reopens, 1);
    ac_capture_close(c);
    CHECK_EQ(atomic_load(&opens), atomic_load(&closes));
    CHECK_EQ(atomic_load(&inits), atomic_load(&uninits));
}

struct loop_arg {
    struct ac_capture *c;
    struct ac_frameslot *slot;
    ac_atomic_int stop;
    int rc;
};

static void *loop_main(void *p)
{
    struct loop_arg *a = p;
    a->rc = ac_capture_loop(a->c, a->slot, &a->stop);
    return NULL;
}

/* The capture thread under a storm of faults keeps delivering, and stops
 * promptly when asked even while the device is away. */
static void test_loop(void)
{
    reset("FFEFFTTCCFNFFCFEFFFFTF");
    struct loop_arg a = {.c = start()};
    CHECK_EQ(ac_frameslot_create(&a.slot), 0);
    atomic_store(&a.stop, 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, loop_main, &a), 0);
    int got = 0;
    uint64_t last = 0;
    int64_t end = ac_capture_now_ns() + 5000000000LL;
    while (got < 30 && ac_capture_now_ns() < end) {
        struct ac_frame *f;
        if (ac_frameslot_take(a.slot, 100, &f) == 0) {
            CHECK(got == 0 || f->seq > last); /* the slot keeps the newest only */
            last = f->seq;
            got++;
            ac_frame_unref(f);
        }
    }
    CHECK_EQ(got, 30);
    pthread_mutex_lock(&script_lock);
    open_fail = 1000000; /* now the device vanishes for good */
    script = "E";
    pos = 0;
    pthread_mutex_unlock(&script_lock);
    nap_ms(50);
    int64_t t0 = ac_capture_now_ns();
    atomic_store(&a.stop, 1);
    pthread_join(th, NULL);
    CHECK((ac_capture_now_ns() - t0) / 1000000 < 1000);
    CHECK_EQ(a.rc, 0);
    struct ac_capture_stats st;
    ac_capture_get_stats(a.c, &st);
    CHECK(st.losses >= 3);
    ac_capture_close(a.c);
    ac_frameslot_destroy(a.slot);
    CHECK_EQ(atomic_load(&opens), atomic_load(&closes));
}

int main(void)
{
    test_device_gone();
    test_timeouts_and_corrupt();
    test_loop();
    return check_done("capfault");
}
