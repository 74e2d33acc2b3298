/* Reads a running agecamd's ring live until the daemon exits, tallying
 * records per track. Shared by the end-to-end and replay tests. */
#ifndef RING_COLLECT_H
#define RING_COLLECT_H

#include "agecam/ring.h"
#include "daemon_harness.h"

#define MAX_TRACKS 16

struct track_seen {
    uint64_t id;
    int news, updates, ends;
    float first_x, last_x, first_y;
    struct agecam_record end;
};

struct ring_run {
    struct track_seen t[MAX_TRACKS];
    int nt, records, healths, bad_age, status;
    uint64_t missed, gaps, max_drops;
};

static inline void collect_ring(struct daemon *d, const char *ring, struct ring_run *rr, int ms)
{
    memset(rr, 0, sizeof *rr);
    rr->status = -1;
    agecam_reader *r = NULL;
    int64_t end = now_ms() + 20000;
    while (agecam_reader_open(&r, ring) != 0 && now_ms() < end)
        sleep_ms(10);
    CHECK(r != NULL);
    uint64_t last_seq = 0;
    int exited = 0;
    end = now_ms() + ms;
    while (r && now_ms() < end) {
        struct agecam_record rec;
        int rc = agecam_reader_next(r, &rec, &rr->missed);
        if (rc == 1) {
            rr->records++;
            if (rec.seq != last_seq + 1)
                rr->gaps++;
            last_seq = rec.seq;
            if (rec.kind == AGECAM_EV_HEALTH) {
                rr->healths++;
                if (rec.u.health.drops > rr->max_drops)
                    rr->max_drops = rec.u.health.drops;
                continue;
            }
            int k = 0;
            while (k < rr->nt && rr->t[k].id != rec.track_id)
                k++;
            if (k == MAX_TRACKS)
                continue;
            struct track_seen *t = &rr->t[k];
            if (k == rr->nt) {
                memset(t, 0, sizeof *t);
                t->id = rec.track_id;
                t->first_x = rec.u.face.x;
                t->first_y = rec.u.face.y;
                rr->nt++;
            }
            t->news += rec.kind == AGECAM_EV_NEW;
            t->updates += rec.kind == AGECAM_EV_UPDATE;
            t->last_x = rec.u.face.x;
            if (rec.kind == AGECAM_EV_END) {
                t->ends++;
                t->end = rec;
            }
            const struct agecam_face *f = &rec.u.face;
            if ((rec.flags & AGECAM_REC_AGE_VALID) &&
                !(f->age >= 0 && f->age <= 65 && f->age_low <= f->age && f->age <= f->age_high &&
                  f->age_low >= 0 && f->age_high <= 65 && f->age_std >= 0))
                rr->bad_age++;
            continue;
        }
        if (rc < 0 && rc != -EAGAIN) {
            fprintf(stderr, "reader: %s\n", strerror(-rc));
            failures++;
            break;
        }
        if (exited)
            break; /* the writer is gone and everything is read */
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            exited = 1; /* one more pass drains what it wrote last */
            rr->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            continue;
        }
        sleep_ms(5);
    }
    if (exited)
        close(d->sock);
    else
        rr->status = daemon_wait_exit(d, 30000);
    if (r)
        agecam_reader_close(r);
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/%s", ring);
    unlink(shm);
}

static inline void print_run(const char *what, const struct ring_run *rr)
{
    printf("%s: exit %d, %d records (%d health), %d tracks, missed %llu, gaps %llu, drops %llu\n",
           what, rr->status, rr->records, rr->healths, rr->nt, (unsigned long long)rr->missed,
           (unsigned long long)rr->gaps, (unsigned long long)rr->max_drops);
    for (int k = 0; k < rr->nt; k++) {
        const struct track_seen *t = &rr->t[k];
        const struct agecam_face *f = &t->end.u.face;
        printf("  track %llu: new %d updates %d end %d, x %.0f -> %.0f, %u frames, age %.1f "
               "(%.1f-%.1f) std %.1f q %.2f\n",
               (unsigned long long)t->id, t->news, t->updates, t->ends, t->first_x, t->last_x,
               f->frames, f->age, f->age_low, f->age_high, f->age_std, f->quality);
    }
}

#endif
