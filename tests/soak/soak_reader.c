/* Soak helper: one ring consumer. Reads `name` for `secs` seconds, pausing
 * now and then (pause_ms every 2 s, so a small ring laps it), and checks the
 * reader contract on every call: records strictly in order, and the
 * position advancing by exactly the records returned plus the records
 * counted missed. Prints "records missed errors fps_min fps_med fps_max
 * stall_s" and exits 1 on any accounting error. After WARM_S seconds
 * (start-up is not the steady rate): fps from HEALTH records averaged per
 * second (a short HEALTH period's frame-count jitter is not a stall), and
 * stall_s, the longest time without a HEALTH record showing frames done: it
 * catches both a sink that stops publishing and a pipeline that publishes
 * zeros, while a slow second on a busy machine is only a figure.
 * usage: soak_reader NAME SECS PAUSE_MS [WARM_S] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agecam/ring.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void nap(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static int cmpf(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: soak_reader NAME SECS PAUSE_MS [WARM_S]\n");
        return 2;
    }
    double secs = atof(argv[2]);
    int pause_ms = atoi(argv[3]);
    double warm = argc == 5 ? atof(argv[4]) : 0;
    agecam_reader *r = NULL;
    double t0 = now_s();
    while (agecam_reader_open(&r, argv[1]) != 0) {
        if (now_s() - t0 > 30) {
            fprintf(stderr, "soak_reader: no ring %s\n", argv[1]);
            return 1;
        }
        nap(50);
    }
    agecam_reader_seek_end(r);
    static float fps[1 << 16];
    int nfps = 0, bad = 0;
    long bin = -1;          /* current second since start */
    double bin_sum = 0;
    int bin_n = 0;
    uint64_t records = 0, missed = 0, errors = 0, prev = 0;
    /* a gap that straddles the warm-up counts from its end */
    double progress_at = warm, stall = 0;
    double next_pause = now_s() + 2;
    while (now_s() - t0 < secs) {
        struct agecam_ring_info a, b;
        agecam_reader_info(r, &a);
        uint64_t m0 = missed;
        struct agecam_record rec;
        int rc = agecam_reader_next(r, &rec, &missed);
        agecam_reader_info(r, &b);
        if (b.next_seq - a.next_seq != (missed - m0) + (rc == 1)) {
            fprintf(stderr, "soak_reader: position moved %llu, returned %d + missed %llu\n",
                    (unsigned long long)(b.next_seq - a.next_seq), rc == 1,
                    (unsigned long long)(missed - m0));
            bad++;
        }
        if (rc < 0) {
            errors++;
            if (rc != -EAGAIN)
                bad++; /* a live, healthy writer never looks corrupt */
            continue;
        }
        if (rc == 0) {
            nap(5);
        } else {
            if (rec.seq <= prev)
                bad++;
            prev = rec.seq;
            records++;
            double t = now_s() - t0;
            if (rec.kind == AGECAM_EV_HEALTH && t >= warm) {
                if ((long)t != bin) {
                    if (bin_n && nfps < (int)(sizeof fps / sizeof fps[0]))
                        fps[nfps++] = (float)(bin_sum / bin_n);
                    bin = (long)t;
                    bin_sum = 0;
                    bin_n = 0;
                }
                bin_sum += rec.u.health.fps;
                bin_n++;
                if (rec.u.health.fps > 0) {
                    if (t - progress_at > stall)
                        stall = t - progress_at;
                    progress_at = t;
                }
            }
        }
        if (pause_ms > 0 && now_s() > next_pause) {
            nap(pause_ms);
            next_pause = now_s() + 2;
        }
    }
    agecam_reader_close(r);
    double end = now_s() - t0;
    if (end - progress_at > stall)
        stall = end - progress_at; /* stalled at the end counts too */
    float lo = 0, med = 0, hi = 0;
    if (nfps) {
        qsort(fps, (size_t)nfps, sizeof fps[0], cmpf);
        lo = fps[0];
        med = fps[nfps / 2];
        hi = fps[nfps - 1];
    }
    printf("%llu %llu %llu %.1f %.1f %.1f %.2f\n", (unsigned long long)records,
           (unsigned long long)missed, (unsigned long long)errors, lo, med, hi, stall);
    return bad ? 1 : 0;
}
