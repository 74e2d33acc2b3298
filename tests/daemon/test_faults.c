/* Fault injection against the real agecamd (detect.backend = none, so no
 * detector model is needed; HEALTH records show the pipeline is alive):
 *   - a corrupt or truncated age model at startup: exit 1 naming the file;
 *   - the same at SIGHUP: reload rejected, the running pipeline goes on;
 *   - a SIGHUP storm (good and bad settings mixed): the daemon stays up,
 *     ends on the last good settings, the ring stays gap-free, SIGTERM
 *     still stops it cleanly;
 *   - consumers SIGKILLed mid-read, one frozen (SIGSTOP) past a ring lap:
 *     the writer never notices, the frozen one accounts exactly for what
 *     it missed;
 *   - frames corrupted, truncated and deleted under a running dir: source:
 *     dropped and counted, the pipeline keeps delivering.
 * usage: test_faults AGECAMD MKDEMO PORTRAIT AGE_MODEL */
#define DAEMON_HARNESS_MAIN
#include "daemon_harness.h"

#include "agecam/ring.h"


/* Written to a temporary name and renamed into place, as an editor or
 * config manager would: a reload never sees a half-written file (an empty
 * one is valid, all defaults, and would move the daemon to the default
 * camera and ring). */
static void write_config(const char *path, int camera_id, const char *model, int capacity)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_file(tmp,
               "[camera]\nsource = dir:%s\nwidth = 160\nheight = 120\nfps = 50\nloop = true\nid = %d\n"
               "[detect]\nbackend = none\n[age]\nmodel = %s\nthreads = 1\n"
               "[ring]\nname = %s\ncapacity = %d\nhealth_interval_ms = 100\n",
               frames, camera_id, model, ring_name, capacity);
    CHECK(rename(tmp, path) == 0);
}

/* Reads HEALTH records for ms; counts them, checks gap-free order, returns
 * the last one in *last. */
static int read_health(agecam_reader *r, int ms, struct agecam_record *last, uint64_t *missed_total)
{
    int n = 0;
    uint64_t missed = 0, prev = 0;
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        struct agecam_record rec;
        int rc = agecam_reader_next(r, &rec, &missed);
        CHECK(rc >= 0);
        if (rc <= 0) {
            sleep_ms(10);
            continue;
        }
        CHECK(prev == 0 || rec.seq > prev);
        prev = rec.seq;
        if (rec.kind == AGECAM_EV_HEALTH) {
            *last = rec;
            n++;
        }
    }
    if (missed_total)
        *missed_total += missed;
    return n;
}

static void copy_file(const char *from, const char *to, long max)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) {
        perror(to);
        exit(1);
    }
    char buf[65536];
    size_t n;
    long done = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && (max < 0 || done < max)) {
        if (max >= 0 && done + (long)n > max)
            n = (size_t)(max - done);
        fwrite(buf, 1, n, out);
        done += (long)n;
    }
    fclose(in);
    fclose(out);
}

static void test_bad_models(char *garbage, char *truncated)
{
    /* corrupt at startup */
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/start.conf", g_dir);
    const char *bad[] = {garbage, truncated};
    for (int i = 0; i < 2; i++) {
        write_config(cfg, 0, bad[i], 1024);
        struct daemon d;
        char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
        daemon_start(&d, i ? "truncmodel" : "garbagemodel", NULL, argv);
        CHECK(daemon_wait_exit(&d, 15000) == 1);
        CHECK(log_contains(&d, bad[i]));
        CHECK(!strstr(d.msgs, "READY=1"));
        if (failures)
            daemon_dump_log(&d);
    }

    /* corrupt at SIGHUP: rejected, camera 1 keeps publishing */
    write_config(cfg, 1, age_model, 1024);
    struct daemon d;
    char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
    agecam_reader *r = start_with_ring(&d, "hupmodel", argv);
    if (!r)
        return;
    agecam_reader_seek_end(r);
    for (int i = 0; i < 2; i++) {
        write_config(cfg, 2, bad[i], 1024);
        kill(d.pid, SIGHUP);
        CHECK(log_wait(&d, bad[i], 10000));
        CHECK(log_wait(&d, "reload rejected", 1000));
    }
    struct agecam_record last;
    CHECK(read_health(r, 800, &last, NULL) >= 3);
    CHECK(last.camera_id == 1 && last.u.health.camera_online == 1);
    CHECK(kill(d.pid, 0) == 0);
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);
    agecam_reader_close(r);
    if (failures)
        daemon_dump_log(&d);
}

static void test_sighup_storm(char *garbage)
{
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/storm.conf", g_dir);
    write_config(cfg, 1, age_model, 65536);
    struct daemon d;
    char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
    agecam_reader *r = start_with_ring(&d, "storm", argv);
    if (!r)
        return;
    uint64_t missed = 0;
    /* 300 SIGHUPs 0-3 ms apart while the file flips between good settings
     * (camera 2..4), a bad model and a syntax error; the last one is good */
    srand(77);
    for (int i = 0; i < 300; i++) {
        int kind = i == 299 ? 0 : rand() % 4;
        if (kind == 2)
            write_config(cfg, 9, garbage, 65536);
        else if (kind == 3)
        {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s.tmp", cfg);
            write_file(tmp, "[camera]\nid = 9\n[nonsense\n");
            CHECK(rename(tmp, cfg) == 0);
        }
        else
            write_config(cfg, i == 299 ? 5 : 2 + rand() % 3, age_model, 65536);
        kill(d.pid, SIGHUP);
        if (rand() % 2)
            sleep_ms(rand() % 4);
    }
    CHECK(kill(d.pid, 0) == 0);
    /* settles on camera 5 and keeps going */
    int64_t end = now_ms() + 30000;
    struct agecam_record last = {0};
    while (now_ms() < end) {
        read_health(r, 300, &last, &missed);
        if (last.camera_id == 5)
            break;
    }
    CHECK(last.camera_id == 5);
    CHECK(read_health(r, 1000, &last, &missed) >= 5);
    CHECK(last.camera_id == 5 && last.u.health.camera_online == 1);
    CHECK(missed == 0); /* a ring of 65536 records: nothing lost to the storm */
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 15000) == 0);
    CHECK(log_contains(&d, "agecamd stopped"));
    agecam_reader_close(r);
    if (failures)
        daemon_dump_log(&d);
}

/* A child that reads the ring in a tight loop until killed. */
static pid_t spawn_reader(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        agecam_reader *r;
        if (agecam_reader_open(&r, ring_name))
            _exit(3);
        for (;;) {
            struct agecam_record rec;
            if (agecam_reader_next(r, &rec, NULL) < 0)
                _exit(4);
        }
    }
    return pid;
}

static void test_consumers_and_frames(void)
{
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/cons.conf", g_dir);
    write_config(cfg, 1, age_model, 16); /* small: a frozen reader gets lapped */
    struct daemon d;
    char *argv[] = {(char *)agecamd, "-c", cfg, NULL};
    agecam_reader *r = start_with_ring(&d, "consumers", argv);
    if (!r)
        return;
    /* 20 readers killed mid-read at random moments */
    srand(5);
    for (int i = 0; i < 20; i++) {
        pid_t p = spawn_reader();
        sleep_ms(5 + rand() % 60);
        kill(p, SIGKILL);
        int st;
        waitpid(p, &st, 0);
        CHECK(WIFSIGNALED(st)); /* it was still reading, no error exit */
    }
    /* a reader frozen for 3 s (about 30 records at 10 HEALTH/s, ring of 16) */
    agecam_reader_seek_end(r);
    struct agecam_ring_info a, b;
    agecam_reader_info(r, &a);
    sleep_ms(3000);
    uint64_t missed = 0;
    int got = 0;
    for (;;) {
        struct agecam_record rec;
        int rc = agecam_reader_next(r, &rec, &missed);
        CHECK(rc >= 0 || rc == -EAGAIN);
        if (rc == 0)
            break;
        got += rc == 1;
    }
    agecam_reader_info(r, &b);
    CHECK(missed > 0);
    /* every sequence number since the freeze: read once or counted missed */
    CHECK(b.next_seq - a.next_seq == missed + (uint64_t)got);
    CHECK(kill(d.pid, 0) == 0);

    /* frames broken under the running source: garbage, truncated, deleted */
    struct agecam_record last;
    CHECK(read_health(r, 500, &last, NULL) > 0);
    uint64_t drops0 = last.u.health.drops, frames0 = last.u.health.frames;
    for (int i = 0; i < 12; i += 3) {
        char f[400];
        snprintf(f, sizeof f, "%s/frame_%05d.jpg", frames, i);
        if (i == 0)
            write_file(f, "this is not a jpeg at all");
        else if (i == 3)
            CHECK(truncate(f, 300) == 0);
        else if (i == 6)
            unlink(f);
        else
            write_file(f, "\xff\xd8\xff\xe0 garbage after a JPEG signature");
    }
    sleep_ms(1500);
    agecam_reader_seek_end(r);
    CHECK(read_health(r, 1000, &last, NULL) > 0);
    CHECK(last.u.health.drops > drops0);          /* the broken frames were dropped */
    CHECK(last.u.health.frames > frames0 + 10);   /* and the good ones still flow */
    CHECK(last.u.health.camera_online == 1);
    kill(d.pid, SIGTERM);
    CHECK(daemon_wait_exit(&d, 10000) == 0);
    agecam_reader_close(r);
    if (failures)
        daemon_dump_log(&d);
}

int main(int argc, char **argv)
{
    int rc = harness_main_setup(argc, argv, "faults", "160", "120", "60");
    if (rc)
        return rc;
    char garbage[400], truncated[400];
    snprintf(garbage, sizeof garbage, "%s/garbage.acnn", g_dir);
    snprintf(truncated, sizeof truncated, "%s/truncated.acnn", g_dir);
    FILE *f = fopen(garbage, "wb");
    for (int i = 0; f && i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    if (f)
        fclose(f);
    copy_file(age_model, truncated, 5000);

    test_bad_models(garbage, truncated);
    test_sighup_storm(garbage);
    test_consumers_and_frames();
    return harness_main_finish();
}
