/* Open-track table of the stats consumer. Linear search is fine: a camera
 * sees a handful of faces at once and this runs per ring record, not per
 * pixel. */
#include "stats/ac_visits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct open_track {
    int used;
    int has_age;
    struct ac_visit v;
};

struct ac_visits {
    struct ac_visits_settings s;
    struct open_track *t;
    struct ac_visits_counters c;
    struct ac_camera_health health[AC_VISITS_MAX_CAMERAS];
};

int ac_visits_create(struct ac_visits **out, const struct ac_visits_settings *s)
{
    struct ac_visits *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->s = *s;
    if (!v->s.max_tracks)
        v->s.max_tracks = 1024;
    v->t = calloc(v->s.max_tracks, sizeof(*v->t));
    if (!v->t) {
        ac_visits_destroy(v);
        return -ENOMEM;
    }
    *out = v;
    return 0;
}

void ac_visits_destroy(struct ac_visits *v)
{
    if (!v)
        return;
    free(v->t);
    free(v);
}

static struct open_track *find(struct ac_visits *v, uint64_t instance, unsigned cam, uint64_t track,
                               int create)
{
    struct open_track *free_slot = NULL;
    for (uint32_t i = 0; i < v->s.max_tracks; i++) {
        struct open_track *o = &v->t[i];
        if (!o->used) {
            if (!free_slot)
                free_slot = o;
        } else if (o->v.track == track && o->v.camera == cam && o->v.instance == instance) {
            return o;
        }
    }
    if (!create)
        return NULL;
    if (!free_slot) {
        v->c.dropped++;
        return NULL;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    free_slot->v.instance = instance;
    free_slot->v.camera = cam;
    free_slot->v.track = track;
    return free_slot;
}

/* Closes a track; 1 if it counts as a visit. */
static int finish(struct ac_visits *v, struct open_track *o, struct ac_visit *done)
{
    o->used = 0;
    if (!o->has_age) {
        v->c.no_age++;
        return 0;
    }
    if (o->v.last_ns - o->v.first_ns < v->s.min_dwell_ns) {
        v->c.passersby++;
        return 0;
    }
    *done = o->v;
    return 1;
}

int ac_visits_feed(struct ac_visits *v, uint64_t instance, const struct agecam_record *r,
                   struct ac_visit *done)
{
    if (r->kind == AGECAM_EV_HEALTH) {
        if (r->camera_id < AC_VISITS_MAX_CAMERAS) {
            struct ac_camera_health *h = &v->health[r->camera_id];
            h->seen = 1;
            h->t_real_ns = r->t_real_ns;
            h->h = r->u.health;
        }
        return 0;
    }
    if (r->kind != AGECAM_EV_NEW && r->kind != AGECAM_EV_UPDATE && r->kind != AGECAM_EV_END)
        return 0;
    struct open_track *o = find(v, instance, r->camera_id, r->track_id, 1);
    if (!o)
        return 0;
    const struct agecam_face *f = &r->u.face;
    if (!o->v.first_ns)
        o->v.first_ns = f->first_seen_real_ns ? f->first_seen_real_ns : r->t_real_ns;
    else if (f->first_seen_real_ns && f->first_seen_real_ns < o->v.first_ns)
        o->v.first_ns = f->first_seen_real_ns; /* we joined mid-track */
    if (r->t_real_ns > o->v.last_ns)
        o->v.last_ns = r->t_real_ns;
    if (r->flags & AGECAM_REC_AGE_VALID) {
        o->has_age = 1;
        o->v.age = f->age;
        o->v.std = f->age_std;
        o->v.quality = f->quality;
    }
    if (r->kind == AGECAM_EV_END)
        return finish(v, o, done);
    return 0;
}

int ac_visits_finish_all(struct ac_visits *v, struct ac_visit *done, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < v->s.max_tracks && n < max; i++)
        if (v->t[i].used)
            n += finish(v, &v->t[i], &done[n]);
    return n;
}

uint32_t ac_visits_open_count(const struct ac_visits *v)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->s.max_tracks; i++)
        n += v->t[i].used != 0;
    return n;
}

const struct ac_camera_health *ac_visits_health(const struct ac_visits *v, unsigned camera)
{
    return camera < AC_VISITS_MAX_CAMERAS && v->health[camera].seen ? &v->health[camera] : NULL;
}

struct ac_visits_counters ac_visits_counters(const struct ac_visits *v)
{
    return v->c;
}
