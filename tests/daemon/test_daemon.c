/* The real agecamd binary: startup errors, READY, SIGTERM shutdown (ring
 * marked closed), SIGHUP reload with a good and with bad settings (the old
 * pipeline keeps running), a reload before the first look at the pipeline,
 * and the watchdog withheld on an injected stall.
 * Runs with detect.backend = none (health records only), so it needs no
 * detector model (but for one startup error: a broken face verifier); the
 * face path is covered by test_e2e.
 * usage: test_daemon AGECAMD MKDEMO PORTRAIT AGE_MODEL */
#define DAEMON_HARNESS_MAIN
#include "daemon_harness.h"

#include "agecam/ring.h"


/* The next HEALTH record within ms (skipping others); 1 with it in *out. */
static int next_health(agecam_reader *r, struct agecam_record *out, int ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        int rc = agecam_reader_next(r, out, NULL);
        if (rc == 1 && out->kind == AGECAM_EV_HEALTH)
            return 1;
        if (rc <= 0)
            sleep_ms(20);
    }
    return 0;
}

static void write_config(const char *path, int camera_id, const char *extra)
{
    write_file(path,
               "[camera]\nsource = dir:%s\nwidth = 320\nheight = 240\nfps = 20\nloop = true\nid = %d\n"
               "[detect]\nbackend = none\n[age]\nmodel = %s\nthreads = 1\n"
               "[ring]\nname = %s\ncapacity = 1024\nhealth_interval_ms = 200\n%s",
               frames, camera_id, age_model, ring_name, extra ? extra : "");
}

/* agecamd on a fresh TAG.conf of write_config(camera_id), no watchdog */
static void start_conf(struct daemon *d, const char *tag, int camera_id)
{
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/%s.conf", g_dir, tag);
    write_config(cfg, camera_id, NULL);
    char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
    daemon_start(d, tag, NULL, argv);
}

static void test_startup_errors(void)
{
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/bad.conf", g_dir);
    write_file(cfg, "[camera]\nfps = 15\nfsp = 15\n");
    struct daemon d;
    char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
    daemon_start(&d, "bad", NULL, argv);
    CHECK(daemon_wait_exit(&d, 10000) == 78);
    CHECK(log_contains(&d, "bad.conf:3: unknown key 'fsp' in [camera]"));

    /* a model that does not exist: clear error, no ring left behind as live */
    write_config(cfg, 0, NULL);
    char *argv2[] = {(char *)agecamd, "-c", cfg, "--model", "/nonexistent/age.acnn", NULL};
    daemon_start(&d, "nomodel", NULL, argv2);
    CHECK(daemon_wait_exit(&d, 10000) == 1);
    CHECK(log_contains(&d, "/nonexistent/age.acnn"));

    char *argv3[] = {(char *)agecamd, "-c", cfg, "--source", "dir:/nonexistent/frames", NULL};
    daemon_start(&d, "nosource", NULL, argv3);
    CHECK(daemon_wait_exit(&d, 10000) == 1);
    CHECK(log_contains(&d, "/nonexistent/frames"));

    /* the shipped detector with a face verifier that cannot load (the
     * detector sits beside the age model in models/) */
    char detset[600], bad[400];
    const char *slash = strrchr(age_model, '/');
    snprintf(detset, sizeof detset, "detect.model=%.*s/det-320x240.acnn",
             slash ? (int)(slash - age_model) : 1, slash ? age_model : ".");
    snprintf(bad, sizeof bad, "%s/broken-verifier.acnn", g_dir);
    write_file(bad, "ACNNMDL");
    char verset[500];
    snprintf(verset, sizeof verset, "detect.verifier=%s", bad);
    char *argv4[] = {(char *)agecamd, "-c", cfg, "--set", "detect.backend=net", "--set", detset,
                     "--set", verset, NULL};
    daemon_start(&d, "badverifier", NULL, argv4);
    CHECK(daemon_wait_exit(&d, 10000) == 1);
    CHECK(log_contains(&d, "verifier model") && log_contains(&d, "broken-verifier.acnn"));
    if (failures)
        daemon_dump_log(&d);
}

static void test_sigterm(void)
{
    struct daemon d;
    start_conf(&d, "term", 3);
    CHECK(daemon_notify_wait(&d, "READY=1", 15000));
    agecam_reader *r = open_ring(5000);
    CHECK(r != NULL);
    struct agecam_record rec;
    if (r) {
        CHECK(next_health(r, &rec, 3000));
        CHECK(rec.camera_id == 3 && rec.u.health.camera_online == 1 && rec.u.health.frames > 0);
        struct agecam_ring_info info;
        CHECK(agecam_reader_info(r, &info) == 0 && info.state == AGECAM_RING_LIVE &&
              info.writer_pid == d.pid);
    }
    daemon_notify_wait(&d, "STATUS=", 3000);
    CHECK(strstr(d.msgs, "fps") && strstr(d.msgs, "faces"));
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);
    CHECK(strstr(d.msgs, "STOPPING=1") != NULL);
    CHECK(log_contains(&d, "SIGTERM: stopping") && log_contains(&d, "agecamd stopped"));
    if (r) {
        struct agecam_ring_info info;
        CHECK(agecam_reader_info(r, &info) == 0 && info.state == AGECAM_RING_CLOSED);
        agecam_reader_close(r);
    }
    if (failures)
        daemon_dump_log(&d);
}

static void test_sighup(void)
{
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/hup.conf", g_dir);
    write_config(cfg, 1, NULL);
    struct daemon d;
    char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
    agecam_reader *r = start_with_ring(&d, "hup", argv);
    if (!r)
        return;
    struct agecam_record rec;
    CHECK(next_health(r, &rec, 3000) && rec.camera_id == 1);

    /* good settings: applied (records now carry camera 2) */
    write_config(cfg, 2, NULL);
    kill(d.pid, SIGHUP);
    CHECK(daemon_notify_wait(&d, "READY=1", 15000));
    CHECK(log_wait(&d, "reloaded", 5000));
    int seen2 = 0;
    for (int i = 0; i < 20 && !seen2; i++)
        seen2 = next_health(r, &rec, 2000) && rec.camera_id == 2;
    CHECK(seen2);

    /* bad settings (unknown key): rejected with file:line, camera 2 goes on */
    write_config(cfg, 5, "[track]\nconfirm_hitz = 3\n");
    kill(d.pid, SIGHUP);
    CHECK(log_wait(&d, "hup.conf:18: unknown key 'confirm_hitz' in [track]", 5000));
    CHECK(log_contains(&d, "reload rejected"));
    /* out of range */
    write_config(cfg, 5, "[pipeline]\nqueue_depth = 0\n");
    kill(d.pid, SIGHUP);
    CHECK(log_wait(&d, "hup.conf:18: pipeline.queue_depth: 0 is out of range", 5000));
    /* valid syntax, unusable model: rejected before the running pipeline stops */
    write_config(cfg, 5, "[detect]\nbackend = net\nmodel = /nonexistent/det.acnn\n");
    kill(d.pid, SIGHUP);
    CHECK(log_wait(&d, "/nonexistent/det.acnn", 5000));
    sleep_ms(300);
    uint64_t before = 0;
    int ok = 1, n = 0;
    for (int i = 0; i < 5; i++) {
        if (!next_health(r, &rec, 2000)) {
            ok = 0;
            break;
        }
        if (rec.camera_id != 2)
            ok = 0;
        if (rec.u.health.frames < before)
            ok = 0;
        before = rec.u.health.frames;
        n++;
    }
    CHECK(ok && n == 5 && before > 0);
    CHECK(kill(d.pid, 0) == 0);

    /* settings that only fail once the camera opens: back to the old ones */
    char frames_saved[300];
    snprintf(frames_saved, sizeof frames_saved, "%s", frames);
    snprintf(frames, sizeof frames, "/nonexistent/frames");
    write_config(cfg, 6, NULL);
    snprintf(frames, sizeof frames, "%s", frames_saved);
    kill(d.pid, SIGHUP);
    CHECK(log_wait(&d, "reload failed at start", 5000));
    CHECK(log_wait(&d, "/nonexistent/frames", 1000));
    sleep_ms(500);
    int back = 0;
    for (int i = 0; i < 10 && !back; i++)
        back = next_health(r, &rec, 2000) && rec.camera_id == 2 && rec.u.health.frames > 0;
    CHECK(back);

    /* a new ring name: the old ring is marked closed, the new one is live */
    char old_ring[64];
    snprintf(old_ring, sizeof old_ring, "%s", ring_name);
    snprintf(ring_name, sizeof ring_name, "%.40s-b", old_ring);
    write_config(cfg, 7, NULL);
    kill(d.pid, SIGHUP);
    agecam_reader *r2 = open_ring(5000);
    CHECK(r2 != NULL);
    if (r2) {
        CHECK(next_health(r2, &rec, 3000) && rec.camera_id == 7);
        struct agecam_ring_info info;
        CHECK(agecam_reader_info(r, &info) == 0 && info.state == AGECAM_RING_CLOSED);
        CHECK(agecam_reader_changed(r) == -ENOENT || agecam_reader_changed(r) == 0);
        agecam_reader_close(r2);
    }
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/%s", ring_name);
    unlink(shm);
    snprintf(ring_name, sizeof ring_name, "%s", old_ring);

    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);
    agecam_reader_close(r);
    if (failures)
        daemon_dump_log(&d);
}

/* A reload before the main loop has looked at the pipeline: stopping the
 * old pipeline drains the frames in flight, and when one of them went all
 * the way through, agecamd is ready before the reload completes (it once
 * said so only after the new pipeline's first frame, which a slow machine
 * may not reach before it is stopped). When the old pipeline had no frame
 * through at all there is nothing to check, and the test says so. */
static void test_early_reload(void)
{
    struct daemon d;
    start_conf(&d, "early", 0);
    CHECK(daemon_notify_wait(&d, "STATUS=starting", 15000));
    kill(d.pid, SIGHUP);
    CHECK(log_wait(&d, "reloaded", 10000));
    const char *log = log_text(&d);
    const char *timings = strstr(log, "stage timings:"), *reloaded = strstr(log, "reloaded");
    const char *ready = strstr(log, "ready: first frame processed");
    const char *track = timings ? strstr(timings, " track ") : NULL;
    int items = track ? atoi(track + 7) : -1;
    printf("early reload: old pipeline had %d frames through track\n", items);
    CHECK(items >= 0);
    if (items > 0)
        CHECK(ready && reloaded && ready < reloaded);
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);
    if (failures)
        daemon_dump_log(&d);
}

/* The detect stage hangs after 30 frames (1.5 s at 20 fps): WATCHDOG=1 flows
 * before, the stall is reported, and no WATCHDOG=1 follows it. */
static void test_watchdog(void)
{
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/wd.conf", g_dir);
    write_config(cfg, 0, "[pipeline]\nstall_timeout_ms = 700\n");
    struct daemon d;
    char *argv[] = {(char *)agecamd, "-c", cfg, "--debug-stall-stage", "detect", "--set",
                    "debug.stall_after=30", NULL};
    daemon_start(&d, "wd", "300000", argv);
    CHECK(daemon_notify_wait(&d, "READY=1", 15000));
    CHECK(daemon_notify_wait(&d, "STATUS=stalled: stage detect", 15000));
    int before = count_in(d.msgs, "WATCHDOG=1");
    size_t mark = d.msglen;
    daemon_notify_wait(&d, NULL, 2000);
    int after = count_in(d.msgs + mark, "WATCHDOG=1");
    printf("watchdog: %d pets before the stall, %d in the 2 s after it\n", before, after);
    CHECK(before >= 3);
    CHECK(after == 0);
    CHECK(log_contains(&d, "stage detect made no progress"));
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);

    /* control: the same run without the stall keeps petting */
    char *argv2[] = {(char *)agecamd, "-c", cfg, NULL};
    daemon_start(&d, "wd2", "300000", argv2);
    CHECK(daemon_notify_wait(&d, "READY=1", 15000));
    mark = d.msglen;
    daemon_notify_wait(&d, NULL, 3500);
    int control = count_in(d.msgs + mark, "WATCHDOG=1");
    printf("watchdog without stall: %d pets in 3.5 s\n", control);
    CHECK(control >= 6);
    CHECK(!strstr(d.msgs, "stalled"));
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);
    if (failures)
        daemon_dump_log(&d);
}

int main(int argc, char **argv)
{
    int rc = harness_main_setup(argc, argv, "daemon", "320", "240", "120");
    if (rc)
        return rc;
    test_startup_errors();
    test_sigterm();
    test_sighup();
    test_early_reload();
    test_watchdog();
    return harness_main_finish();
}
