/* Test helper: plays a script of ring events as the daemon would publish
 * them, with a simulated wall clock so window and dwell arithmetic in the
 * consumers is deterministic. One command per line ('#' comments):
 *   create NAME CAP          (re)create the ring: a writer (re)start
 *   clock EPOCH_S | advance S  set / move the simulated CLOCK_REALTIME
 *   new|update|end CAM TRACK AGE STD QUALITY
 *   noage CAM TRACK           update without an age estimate
 *   health CAM FPS FACES DROPS ONLINE
 *   flood N                   N update records for track 999 as fast as possible
 *   sleep S | close | touch PATH | wait-file PATH
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring/ac_ring.h"

#define MAX_TRACKS 256

static struct ac_ring *w;
static double sim_s;
static struct { unsigned cam; unsigned long long track; double first; } tracks[MAX_TRACKS];
static int ntracks;

static double *first_seen(unsigned cam, unsigned long long track, int create)
{
    for (int i = 0; i < ntracks; i++)
        if (tracks[i].cam == cam && tracks[i].track == track)
            return &tracks[i].first;
    if (!create || ntracks == MAX_TRACKS)
        return NULL;
    tracks[ntracks].cam = cam;
    tracks[ntracks].track = track;
    tracks[ntracks].first = sim_s;
    return &tracks[ntracks++].first;
}

static void base(struct agecam_record *r, unsigned kind, unsigned cam)
{
    struct timespec ts;
    memset(r, 0, sizeof(*r));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->t_mono_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    r->t_real_ns = (int64_t)(sim_s * 1e9);
    r->kind = (uint16_t)kind;
    r->camera_id = (uint16_t)cam;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int run_line(char *line, int lineno)
{
    char cmd[32], arg[256];
    unsigned cam;
    unsigned long long track;
    double a, b, c, d;
    struct agecam_record r;
    if (sscanf(line, "%31s", cmd) != 1 || cmd[0] == '#')
        return 0;
    int need_ring = strcmp(cmd, "create") && strcmp(cmd, "clock") && strcmp(cmd, "advance") &&
                    strcmp(cmd, "sleep") && strcmp(cmd, "touch") && strcmp(cmd, "wait-file");
    if (need_ring && !w) {
        fprintf(stderr, "ringscript:%d: no ring created yet\n", lineno);
        return -1;
    }
    if (!strcmp(cmd, "create") && sscanf(line, "%*s %255s %lf", arg, &a) == 2) {
        if (w) {
            ac_ring_mark_closed(w);
            ac_ring_destroy(w);
        }
        struct ac_ring_settings s = {.name = arg, .capacity = (uint32_t)a, .mode = 0644, .gid = (gid_t)-1};
        int ret = ac_ring_create(&w, &s);
        if (ret) {
            fprintf(stderr, "ringscript:%d: create %s: %s\n", lineno, arg, strerror(-ret));
            return -1;
        }
        ntracks = 0;
    } else if (!strcmp(cmd, "clock") && sscanf(line, "%*s %lf", &a) == 1) {
        sim_s = a;
    } else if (!strcmp(cmd, "advance") && sscanf(line, "%*s %lf", &a) == 1) {
        sim_s += a;
    } else if ((!strcmp(cmd, "new") || !strcmp(cmd, "update") || !strcmp(cmd, "end")) &&
               sscanf(line, "%*s %u %llu %lf %lf %lf", &cam, &track, &a, &b, &c) == 5) {
        unsigned kind = cmd[0] == 'n' ? AGECAM_EV_NEW : cmd[0] == 'u' ? AGECAM_EV_UPDATE : AGECAM_EV_END;
        double *first = first_seen(cam, track, 1);
        base(&r, kind, cam);
        r.track_id = track;
        r.flags = AGECAM_REC_AGE_VALID;
        r.u.face = (struct agecam_face){.x = 100, .y = 80, .w = 64, .h = 64, .age = (float)a,
                                        .age_std = (float)b, .age_low = (float)(a - 2 * b),
                                        .age_high = (float)(a + 2 * b), .quality = (float)c,
                                        .frames = 1, .first_seen_real_ns = (int64_t)(*first * 1e9)};
        ac_ring_publish(w, &r);
    } else if (!strcmp(cmd, "noage") && sscanf(line, "%*s %u %llu", &cam, &track) == 2) {
        double *first = first_seen(cam, track, 1);
        base(&r, AGECAM_EV_UPDATE, cam);
        r.track_id = track;
        r.u.face.first_seen_real_ns = (int64_t)(*first * 1e9);
        ac_ring_publish(w, &r);
    } else if (!strcmp(cmd, "health") && sscanf(line, "%*s %u %lf %lf %lf %lf", &cam, &a, &b, &c, &d) == 5) {
        base(&r, AGECAM_EV_HEALTH, cam);
        r.u.health = (struct agecam_health){.fps = (float)a, .latency_ms = 40, .faces = (uint32_t)b,
                                            .tracks = (uint32_t)b, .frames = 1000,
                                            .drops = (uint64_t)c, .camera_online = (uint32_t)d};
        ac_ring_publish(w, &r);
    } else if (!strcmp(cmd, "flood") && sscanf(line, "%*s %lf", &a) == 1) {
        base(&r, AGECAM_EV_UPDATE, 0);
        r.track_id = 999;
        for (long i = 0; i < (long)a; i++)
            ac_ring_publish(w, &r);
    } else if (!strcmp(cmd, "sleep") && sscanf(line, "%*s %lf", &a) == 1) {
        sleep_s(a);
    } else if (!strcmp(cmd, "close")) {
        ac_ring_mark_closed(w);
    } else if (!strcmp(cmd, "touch") && sscanf(line, "%*s %255s", arg) == 1) {
        FILE *f = fopen(arg, "w");
        if (!f)
            return -1;
        fclose(f);
    } else if (!strcmp(cmd, "wait-file") && sscanf(line, "%*s %255s", arg) == 1) {
        for (int i = 0; access(arg, F_OK); i++) {
            if (i == 1000) {
                fprintf(stderr, "ringscript:%d: %s did not appear\n", lineno, arg);
                return -1;
            }
            sleep_s(0.01);
        }
    } else {
        fprintf(stderr, "ringscript:%d: bad line: %s", lineno, line);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;
    if (!f) {
        fprintf(stderr, "ringscript: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    char line[512];
    int lineno = 0, status = 0;
    while (fgets(line, sizeof(line), f))
        if (run_line(line, ++lineno)) {
            status = 1;
            break;
        }
    if (w) {
        ac_ring_mark_closed(w);
        ac_ring_destroy(w);
    }
    return status;
}
