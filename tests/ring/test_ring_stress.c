/* Concurrency: one writer process publishing at full speed, reader processes
 * (two spinning, one deliberately slow, one SIGKILLed mid-read). Every reader
 * must get records strictly in order, never a torn one, and its miss count
 * must equal exactly the sequence numbers it did not receive. A second phase
 * paces the writer inside the ring's buffering so the spinning readers must
 * receive every record. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "ring/ac_ring.h"
#include "ring_test_util.h"

enum { FAST, SLOW, KILLED };

struct result {
    uint64_t first, last, received, missed, gaps, torn, disorder;
};

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void reader(const char *name, int kind, int ready_fd, int out_fd)
{
    agecam_reader *r;
    CHECK(agecam_reader_open(&r, name) == 0);
    agecam_reader_seek_end(r);
    struct result res = {0};
    CHECK(write(ready_fd, "r", 1) == 1);
    struct agecam_record rec;
    uint64_t prev = 0;
    int closed_seen = 0;
    for (;;) {
        int ret = agecam_reader_next(r, &rec, &res.missed);
        if (ret == -EAGAIN)
            continue;
        CHECK(ret >= 0);
        if (ret == 0) {
            sched_yield();
            if (closed_seen)
                break;
            struct agecam_ring_info info;
            agecam_reader_info(r, &info);
            closed_seen = info.state == AGECAM_RING_CLOSED; /* drain once more after this */
            continue;
        }
        if (!check_pattern(&rec))
            res.torn++;
        if (rec.seq <= prev)
            res.disorder++;
        if (prev && rec.seq > prev + 1)
            res.gaps += rec.seq - prev - 1;
        if (!prev)
            res.first = rec.seq;
        prev = rec.seq;
        res.received++;
        if (kind == SLOW && res.received % 8 == 0)
            sleep_us(50);
    }
    res.last = prev;
    CHECK(write(out_fd, &res, sizeof(res)) == (ssize_t)sizeof(res));
    agecam_reader_close(r);
    _exit(0);
}

static int run_phase(const char *name, uint32_t cap, uint64_t n, long pace_every, int all_kinds)
{
    struct ac_ring *w;
    struct ac_ring_settings s = {.name = name, .capacity = cap, .mode = 0600, .gid = (gid_t)-1};
    CHECK(ac_ring_create(&w, &s) == 0);
    int kinds[4] = {FAST, FAST, SLOW, KILLED};
    int nreaders = all_kinds ? 4 : 2;
    pid_t pids[4];
    int outs[4];
    int ready[2];
    CHECK(pipe(ready) == 0);
    for (int i = 0; i < nreaders; i++) {
        int p[2];
        CHECK(pipe(p) == 0);
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            alarm(60);
            close(p[0]);
            reader(name, kinds[i], ready[1], p[1]);
        }
        close(p[1]);
        outs[i] = p[0];
    }
    for (int i = 0; i < nreaders; i++) {
        char c;
        CHECK(read(ready[0], &c, 1) == 1);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t seq = 1; seq <= n; seq++) {
        struct agecam_record rec;
        fill_pattern(&rec, seq);
        ac_ring_publish(w, &rec);
        if (nreaders == 4 && seq == n / 4)
            kill(pids[3], SIGKILL); /* a reader dying mid-read must not disturb anyone */
        if (pace_every && seq % pace_every == 0)
            sleep_us(1000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ac_ring_mark_closed(w);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("phase cap=%u n=%llu pace=%ld: writer %.2f s\n", cap, (unsigned long long)n, pace_every, secs);
    int fail = 0;
    for (int i = 0; i < nreaders; i++) {
        int status;
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        struct result res;
        ssize_t got = read(outs[i], &res, sizeof(res));
        close(outs[i]);
        if (kinds[i] == KILLED) {
            CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            continue;
        }
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == (ssize_t)sizeof(res));
        printf("  reader %d (%s): received %llu missed %llu first %llu last %llu\n", i,
               kinds[i] == SLOW ? "slow" : "fast", (unsigned long long)res.received,
               (unsigned long long)res.missed, (unsigned long long)res.first,
               (unsigned long long)res.last);
        /* Exact accounting: every sequence number was received or counted missed. */
        fail |= res.torn != 0 || res.disorder != 0;
        fail |= res.last != n || res.received + res.missed != n;
        fail |= res.gaps + (res.first - 1) != res.missed;
        if (kinds[i] == SLOW)
            fail |= res.missed == 0; /* 50 us per 8 records cannot keep up */
        if (pace_every && kinds[i] == FAST)
            fail |= res.missed != 0;
    }
    close(ready[0]);
    close(ready[1]);
    ac_ring_unlink(name);
    ac_ring_destroy(w);
    return fail;
}

int main(void)
{
    char name[64];
    test_ring_name(name, sizeof(name), "stress");
    int fail = run_phase(name, 1024, 3000000, 0, 1);
    /* At most 1000 records per ms against 2^17 slots: >= 130 ms of slack. */
    fail |= run_phase(name, 1u << 17, 200000, 1000, 0);
    printf("ring stress: %s\n", fail ? "FAILED" : "ok");
    return fail;
}
