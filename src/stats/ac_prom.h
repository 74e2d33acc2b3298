/* Prometheus text exposition (format 0.0.4) of the stats consumer's state. */
#ifndef AC_PROM_H
#define AC_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "stats/ac_agestats.h"
#include "stats/ac_visits.h"

struct ac_prom_input {
    const struct ac_agestats *stats;
    const struct ac_visits *visits;
    uint64_t ring_missed;    /* records overwritten before we read them */
    int writer_up;           /* ring attached, writer alive and live */
    double heartbeat_age_s;  /* since the writer's last heartbeat; < 0 = no ring attached */
    uint64_t save_errors;    /* failed state-file flushes */
    uint64_t pending;        /* visits not yet on disk */
    int64_t mqtt_dropped;    /* MQTT messages dropped while disconnected, -1 = MQTT off */
};

/* malloc'd text in *buf (caller frees). 0 or -ENOMEM. */
int ac_prom_render(const struct ac_prom_input *in, char **buf, size_t *len);

#endif
