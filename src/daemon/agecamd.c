/* agecamd: the face-age camera daemon.
 *
 * main: settings -> ring -> pipeline (create, start) -> monitor loop ->
 * pipeline (stop, destroy) -> ring closed. The main thread is the monitor:
 * it waits for signals with a short timeout (every other thread blocks
 * them), and between signals checks the pipeline's heartbeat, pets the
 * systemd watchdog only while every stage is progressing or legitimately
 * waiting, and reports READY/STATUS. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ac_log.h"
#include "daemon/ac_cmdline.h"
#include "daemon/ac_config.h"
#include "daemon/ac_notify.h"
#include "daemon/ac_pipeline.h"
#include "ring/ac_ring.h"

#ifndef AGECAM_VERSION
#define AGECAM_VERSION "unknown"
#endif

#define EXIT_CONFIG 78 /* EX_CONFIG: systemd need not restart us for this */
#define TICK_MS 100

static const int log_levels[] = {AC_LOG_ERR, AC_LOG_WARN, AC_LOG_INFO, AC_LOG_DEBUG};

struct daemon {
    struct ac_args args;
    struct ac_config cfg;
    struct ac_ring *ring;
    struct ac_pipeline *pipe;
    uint64_t wd_usec;
    int ready;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ring_open(const struct ac_config *c, struct ac_ring **out, char *err, size_t errlen)
{
    struct ac_ring_settings rs = {.name = c->ring.name, .capacity = (uint32_t)c->ring.capacity,
                                  .gid = (gid_t)-1};
    int rc = ac_ring_parse_mode(c->ring.mode, &rs.mode);
    if (!rc && c->ring.group[0])
        rc = ac_ring_parse_group(c->ring.group, &rs.gid);
    if (rc) {
        snprintf(err, errlen, "ring mode '%.32s' / group '%.64s': %s", c->ring.mode,
                 c->ring.group, strerror(-rc));
        return rc;
    }
    if ((rc = ac_ring_create(out, &rs)))
        snprintf(err, errlen, "ring %s: %s", c->ring.name, strerror(-rc));
    return rc;
}

static int ring_same(const struct ac_config *a, const struct ac_config *b)
{
    return !strcmp(a->ring.name, b->ring.name) && a->ring.capacity == b->ring.capacity &&
           !strcmp(a->ring.mode, b->ring.mode) && !strcmp(a->ring.group, b->ring.group);
}

static void close_ring(struct ac_ring *r)
{
    if (!r)
        return;
    ac_ring_mark_closed(r);
    ac_ring_destroy(r);
}

static void mark_ready(struct daemon *d, const char *why)
{
    ac_notify("READY=1");
    d->ready = 1;
    ac_info("ready: %s", why);
}

static void log_timings(struct ac_pipeline *p)
{
    char buf[1024];
    ac_pipeline_timings(p, buf, sizeof buf);
    ac_info("stage timings: %s", buf);
}

/* SIGHUP: the new settings replace the running ones only if they parse,
 * validate, and build a pipeline; otherwise the old one keeps running. */
static int reload(struct daemon *d)
{
    char err[512];
    struct ac_config nc;
    const char *path = ac_config_path(&d->args);
    ac_info("SIGHUP: reloading %s", *path ? path : "(no config file)");
    if (ac_config_build(&d->args, &nc, err, sizeof err)) {
        ac_err("reload rejected: %s; keeping the running settings", err);
        ac_notifyf("STATUS=reload rejected: %s", err);
        return -EINVAL;
    }
    ac_notify("RELOADING=1");
    struct ac_ring *nring = NULL;
    int same_ring = ring_same(&d->cfg, &nc);
    if (!same_ring && ring_open(&nc, &nring, err, sizeof err)) {
        ac_err("reload rejected: %s; keeping the running settings", err);
        ac_notify("READY=1");
        return -EINVAL;
    }
    struct ac_pipeline *np = NULL;
    uint64_t next_id;
    if (ac_pipeline_create(&nc, same_ring ? d->ring : nring, 1, &np, err, sizeof err)) {
        ac_err("reload rejected: %s; keeping the running settings", err);
        close_ring(nring);
        ac_notify("READY=1");
        return -EINVAL;
    }
    ac_pipeline_stop(d->pipe);
    log_timings(d->pipe);
    /* stopping drains frames already in flight: a reload that comes before
     * the main loop saw the first one must not lose it */
    struct ac_pipeline_stats st;
    ac_pipeline_check(d->pipe, &st);
    if (!d->ready && st.first_frame)
        mark_ready(d, "first frame processed");
    next_id = ac_pipeline_next_track_id(d->pipe);
    ac_pipeline_destroy(d->pipe);
    d->pipe = NULL;
    /* track ids continue after the old pipeline's last one */
    ac_pipeline_set_next_track_id(np, next_id);
    if (!ac_pipeline_start(np, err, sizeof err)) {
        d->pipe = np;
        if (!same_ring) {
            close_ring(d->ring);
            d->ring = nring;
        }
        d->cfg = nc;
        ac_log_set_level(log_levels[nc.log.level]);
        ac_info("reloaded: source %s, ring %s", nc.camera.source, nc.ring.name);
        ac_notify("READY=1");
        return 0;
    }
    ac_err("reload failed at start: %s; going back to the previous settings", err);
    ac_pipeline_destroy(np);
    close_ring(nring);
    if (ac_pipeline_create(&d->cfg, d->ring, next_id, &d->pipe, err, sizeof err) ||
        ac_pipeline_start(d->pipe, err, sizeof err)) {
        ac_err("previous settings failed to restart too: %s", err);
        return -EIO;
    }
    ac_notify("READY=1");
    return -EINVAL;
}

int main(int argc, char **argv)
{
    struct daemon d;
    memset(&d, 0, sizeof d);
    char err[512];
    if (ac_args_parse(argc, argv, &d.args, err, sizeof err)) {
        fprintf(stderr, "agecamd: %s\n", err);
        return 2;
    }
    if (d.args.help) {
        ac_args_usage(stdout, "agecamd");
        return 0;
    }
    if (d.args.version) {
        printf("agecamd %s\n", AGECAM_VERSION);
        return 0;
    }
    if (ac_config_build(&d.args, &d.cfg, err, sizeof err)) {
        ac_err("agecamd: %s", err);
        return EXIT_CONFIG;
    }
    if (d.args.print) {
        ac_config_write(stdout, &d.cfg);
        return 0;
    }
    if (d.args.check) {
        const char *path = ac_config_path(&d.args);
        printf("%s: ok\n", *path ? path : "(defaults)");
        return 0;
    }
    ac_log_set_level(log_levels[d.cfg.log.level]);

    /* signals go to the monitor only: block them before any thread exists */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    if (ring_open(&d.cfg, &d.ring, err, sizeof err)) {
        ac_err("agecamd: %s", err);
        return 1;
    }
    if (ac_pipeline_create(&d.cfg, d.ring, 1, &d.pipe, err, sizeof err) ||
        ac_pipeline_start(d.pipe, err, sizeof err)) {
        ac_err("agecamd: %s", err);
        ac_notifyf("STATUS=failed: %s", err);
        goto out;
    }
    ac_info("agecamd %s: source %s, ring /dev/shm/%s (%d records)", AGECAM_VERSION,
            d.cfg.camera.source, d.cfg.ring.name, d.cfg.ring.capacity);
    if (d.cfg.debug.save_crops)
        ac_warn("debug.save_crops is on: face crops are written to %s", d.cfg.debug.crops_dir);
    d.wd_usec = ac_notify_watchdog_usec();
    ac_notify("STATUS=starting");

    int64_t wd_at = 0, status_at = 0, offline_since = -1, last_log = mono_ms();
    const char *stalled_logged = NULL;
    status = 0;
    for (;;) {
        struct timespec to = {0, TICK_MS * 1000000L};
        int sig = sigtimedwait(&sigs, NULL, &to);
        if (sig == SIGTERM || sig == SIGINT) {
            ac_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (sig == SIGHUP && reload(&d) == -EIO) {
            status = 1;
            break;
        }
        int64_t now = mono_ms();
        struct ac_pipeline_stats st;
        int stalled = ac_pipeline_check(d.pipe, &st) == -ETIMEDOUT;
        if (stalled) {
            if (stalled_logged != st.stalled) {
                ac_err("stage %s made no progress for %.0f ms: withholding the watchdog", st.stalled,
                       st.stalled_ms);
                ac_notifyf("STATUS=stalled: stage %s, no progress for %.0f s", st.stalled,
                           st.stalled_ms / 1000);
                stalled_logged = st.stalled;
            }
        } else {
            if (stalled_logged)
                ac_info("stage %s progressing again", stalled_logged);
            stalled_logged = NULL;
            if (d.wd_usec && (now - wd_at) * 1000 >= (int64_t)d.wd_usec / 2) {
                ac_notify("WATCHDOG=1");
                wd_at = now;
            }
        }
        if (!st.camera_online && offline_since < 0)
            offline_since = now;
        else if (st.camera_online)
            offline_since = -1;
        /* a service waiting for its camera to appear is up, not starting */
        if (!d.ready && (st.first_frame || (offline_since >= 0 && now - offline_since > 2000)))
            mark_ready(&d, st.first_frame ? "first frame processed" : "waiting for the camera");
        if (!stalled && now - status_at >= 2000 && !st.frames) {
            ac_notifyf("STATUS=waiting for frames, camera %s", st.camera_online ? "online" : "offline");
            status_at = now;
        } else if (!stalled && now - status_at >= 2000) {
            ac_notifyf("STATUS=%.1f fps, %u faces, %u tracks, %llu drops, camera %s", st.fps,
                       st.faces, st.tracks, (unsigned long long)st.drops,
                       st.camera_online ? "online" : "offline");
            status_at = now;
        }
        if (now - last_log >= 60000) {
            ac_info("%.1f fps, latency %.1f ms, %u faces, %u tracks, %llu frames, %llu drops, "
                    "%llu records", st.fps, st.latency_ms, st.faces, st.tracks,
                    (unsigned long long)st.frames, (unsigned long long)st.drops,
                    (unsigned long long)st.records);
            last_log = now;
        }
        if (st.finished) {
            ac_info("source finished: %llu frames, %llu records", (unsigned long long)st.frames,
                    (unsigned long long)st.records);
            status = st.source_error ? 1 : 0;
            break;
        }
    }
    ac_notify("STOPPING=1");
    if (d.pipe) {
        ac_pipeline_stop(d.pipe);
        log_timings(d.pipe);
    }
out:
    ac_pipeline_destroy(d.pipe);
    close_ring(d.ring);
    ac_info("agecamd stopped");
    return status;
}
