/* Ring reader for the vivid VM (statically linked; only the public
 * agecam/ring.h API, as a third-party consumer would use it). Follows the
 * daemon's ring from its first record until the writer marks it closed and
 * everything is read, printing one serial-console line per record
 *   AGECAM-RING new|update|end seq=N track=ID ... age=A low=L high=H ...
 *   AGECAM-RING health seq=N fps=F ... online=0|1
 * and a summary the host checks:
 *   AGECAM-RING summary records=N gaps=G missed=M first_seq=S closed=0|1
 * With STATE, the latest HEALTH is also kept in that file as
 * "online=0|1 frames=N tracks=N": what the VM's init script and the frame
 * pump wait on.
 * usage: vivid_ring RING TIMEOUT_S [STATE] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agecam/ring.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* written whole then renamed, so a reader never sees half a line */
static void write_state(const char *path, const struct agecam_health *h)
{
    char tmp[256], line[128];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(line, sizeof line, "online=%u frames=%llu tracks=%u\n", h->camera_online,
                     (unsigned long long)h->frames, h->tracks);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    int ok = write(fd, line, (size_t)n) == n;
    close(fd);
    if (ok)
        rename(tmp, path);
}

static void print_record(const struct agecam_record *r, const char *state)
{
    if (r->kind == AGECAM_EV_HEALTH) {
        const struct agecam_health *h = &r->u.health;
        if (state)
            write_state(state, h);
        printf("AGECAM-RING health seq=%llu fps=%.2f latency_ms=%.0f faces=%u tracks=%u frames=%llu drops=%llu "
               "online=%u\n",
               (unsigned long long)r->seq, h->fps, h->latency_ms, h->faces, h->tracks,
               (unsigned long long)h->frames, (unsigned long long)h->drops, h->camera_online);
        return;
    }
    const struct agecam_face *f = &r->u.face;
    printf("AGECAM-RING %s seq=%llu track=%llu camera=%u x=%.0f y=%.0f w=%.0f h=%.0f frames=%u valid=%d "
           "age=%.1f low=%.1f high=%.1f std=%.1f q=%.2f\n",
           agecam_event_kind_name(r->kind), (unsigned long long)r->seq, (unsigned long long)r->track_id,
           r->camera_id, f->x, f->y, f->w, f->h, f->frames, !!(r->flags & AGECAM_REC_AGE_VALID), f->age,
           f->age_low, f->age_high, f->age_std, f->quality);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: vivid_ring RING TIMEOUT_S [STATE]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    double deadline = now_s() + atof(argv[2]);
    agecam_reader *r = NULL;
    int rc;
    while ((rc = agecam_reader_open(&r, argv[1])) != 0 && now_s() < deadline)
        usleep(50000); /* the daemon creates the ring once it has started */
    if (rc) {
        printf("AGECAM-RING summary records=0 gaps=0 missed=0 first_seq=0 closed=0 error=%s\n", strerror(-rc));
        return 1;
    }
    uint64_t missed = 0, gaps = 0, last = 0, first = 0;
    long records = 0;
    int closed = 0;
    while (now_s() < deadline) {
        struct agecam_record rec;
        rc = agecam_reader_next(r, &rec, &missed);
        if (rc == 1) {
            /* the first record must be sequence 1: nothing before it lost */
            if (rec.seq != last + 1)
                gaps++;
            if (!records)
                first = rec.seq;
            last = rec.seq;
            records++;
            print_record(&rec, argc == 4 ? argv[3] : NULL);
            continue;
        }
        if (rc < 0 && rc != -EAGAIN) {
            printf("AGECAM-RING error %s\n", strerror(-rc));
            break;
        }
        if (closed)
            break; /* closed, then one more pass found nothing: all read */
        struct agecam_ring_info info;
        agecam_reader_info(r, &info);
        if (info.state == AGECAM_RING_CLOSED)
            closed = 1;
        else
            usleep(20000);
    }
    printf("AGECAM-RING summary records=%ld gaps=%llu missed=%llu first_seq=%llu closed=%d\n", records,
           (unsigned long long)gaps, (unsigned long long)missed, (unsigned long long)first, closed);
    agecam_reader_close(r);
    return closed && !gaps && !missed ? 0 : 1;
}
