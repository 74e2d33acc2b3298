/* Writer throughput: records/s published with no reader and with one reader
 * spinning on the ring (cache-line contention). Usage: bench_ring [N] [--json] */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "ring/ac_ring.h"
#include "ring_test_util.h"

static atomic_int stop;
static char name[64];

static void *spin_reader(void *arg)
{
    agecam_reader *r = NULL;
    uint64_t *got = arg;
    if (agecam_reader_open(&r, name))
        return NULL;
    struct agecam_record rec;
    while (!atomic_load(&stop))
        if (agecam_reader_next(r, &rec, NULL) == 1)
            (*got)++;
    agecam_reader_close(r);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double run(uint64_t n, int with_reader, uint64_t *got)
{
    struct ac_ring *w;
    struct ac_ring_settings s = {.name = name, .capacity = 4096, .mode = 0600, .gid = (gid_t)-1};
    CHECK(ac_ring_create(&w, &s) == 0);
    pthread_t th;
    atomic_store(&stop, 0);
    if (with_reader)
        CHECK(pthread_create(&th, NULL, spin_reader, got) == 0);
    struct agecam_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = AGECAM_EV_UPDATE;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        rec.track_id = i;
        rec.t_mono_ns = (int64_t)i + 1; /* daemon stamps times itself */
        ac_ring_publish(w, &rec);
    }
    double t = now_s() - t0;
    atomic_store(&stop, 1);
    if (with_reader)
        pthread_join(th, NULL);
    ac_ring_unlink(name);
    ac_ring_destroy(w);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 && argv[1][0] != '-' ? strtoull(argv[1], NULL, 10) : 20000000;
    int json = argc > 1 && !strcmp(argv[argc - 1], "--json");
    test_ring_name(name, sizeof(name), "bench");
    uint64_t got = 0;
    double alone = run(n, 0, NULL);
    double contended = run(n, 1, &got);
    if (json)
        printf("{\"records\":%llu,\"publish_per_s\":%.0f,\"publish_per_s_with_reader\":%.0f,"
               "\"reader_received\":%llu}\n", (unsigned long long)n, alone, contended,
               (unsigned long long)got);
    else
        printf("ring publish: %.1f M records/s alone, %.1f M records/s with a spinning reader "
               "(reader got %llu of %llu)\n", alone / 1e6, contended / 1e6,
               (unsigned long long)got, (unsigned long long)n);
    return 0;
}
