/* Turns the ring's per-track event stream into finished visits: one per
 * track, counted once however long the person stays, with passers-by below
 * the minimum dwell filtered out. Also keeps the latest health per camera.
 * Single-threaded; fixed tables allocated at create. */
#ifndef AC_VISITS_H
#define AC_VISITS_H

#include <stdint.h>

#include "agecam/ring.h"

#define AC_VISITS_MAX_CAMERAS 16

struct ac_visit {
    uint64_t instance; /* ring instance: track ids are unique within one */
    uint64_t track;
    uint32_t camera;
    int64_t first_ns;  /* CLOCK_REALTIME of arrival */
    int64_t last_ns;   /* CLOCK_REALTIME of the last sighting */
    float age, std, quality;
};

struct ac_visits_settings {
    int64_t min_dwell_ns;
    uint32_t max_tracks; /* open tracks tracked at once; 0 = 1024 */
};

struct ac_visits_counters {
    uint64_t passersby;    /* tracks ended below min dwell */
    uint64_t no_age;       /* tracks ended without any age estimate */
    uint64_t dropped;      /* open-track table overflow */
};

struct ac_camera_health {
    int seen;
    int64_t t_real_ns;
    struct agecam_health h;
};

struct ac_visits;

int ac_visits_create(struct ac_visits **out, const struct ac_visits_settings *s);
void ac_visits_destroy(struct ac_visits *v);

/* Feeds one record of ring `instance`. Returns 1 and fills *done when a
 * visit completed (END of a track that stayed long enough), else 0. */
int ac_visits_feed(struct ac_visits *v, uint64_t instance, const struct agecam_record *r,
                   struct ac_visit *done);

/* The writer is gone (crashed, restarted, closed): finish every open track
 * from its last sighting. Returns how many visits were written to done[]
 * (at most max; the rest are finished in later calls). */
int ac_visits_finish_all(struct ac_visits *v, struct ac_visit *done, int max);

uint32_t ac_visits_open_count(const struct ac_visits *v);
const struct ac_camera_health *ac_visits_health(const struct ac_visits *v, unsigned camera);
struct ac_visits_counters ac_visits_counters(const struct ac_visits *v);

#endif
