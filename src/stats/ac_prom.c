#include "stats/ac_prom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per camera that has sent a health record. */
static void per_camera(FILE *f, const struct ac_visits *v, const char *name, int which)
{
    for (unsigned c = 0; c < AC_VISITS_MAX_CAMERAS; c++) {
        const struct ac_camera_health *h = ac_visits_health(v, c);
        if (!h)
            continue;
        fprintf(f, "%s{camera=\"%u\"} ", name, c);
        switch (which) {
        case 0: fprintf(f, "%u\n", h->h.faces); break;
        case 1: fprintf(f, "%.3f\n", (double)h->h.fps); break;
        case 2: fprintf(f, "%llu\n", (unsigned long long)h->h.drops); break;
        case 3: fprintf(f, "%u\n", h->h.camera_online ? 1u : 0u); break;
        default: fprintf(f, "%llu\n", (unsigned long long)h->h.frames); break;
        }
    }
}

int ac_prom_render(const struct ac_prom_input *in, char **buf, size_t *len)
{
    *buf = NULL;
    FILE *f = open_memstream(buf, len);
    if (!f)
        return -ENOMEM;
    const struct ac_bands *b = ac_agestats_bands(in->stats);
    struct ac_visits_counters c = ac_visits_counters(in->visits);
    head(f, "agecam_visitors_total", "counter",
         "Visitors counted once per track (dwell at least the minimum), by estimated age band.");
    for (int i = 0; i < b->n; i++)
        fprintf(f, "agecam_visitors_total{band=\"%s\"} %llu\n", b->label[i],
                (unsigned long long)ac_agestats_band_total(in->stats, i));
    head(f, "agecam_passersby_total", "counter", "Tracks that ended below the minimum dwell time.");
    fprintf(f, "agecam_passersby_total %llu\n", (unsigned long long)c.passersby);
    head(f, "agecam_tracks_active", "gauge", "Tracks open in the event stream right now.");
    fprintf(f, "agecam_tracks_active %u\n", ac_visits_open_count(in->visits));
    head(f, "agecam_faces_current", "gauge", "Faces in the latest processed frame.");
    per_camera(f, in->visits, "agecam_faces_current", 0);
    head(f, "agecam_pipeline_fps", "gauge", "Frames processed per second.");
    per_camera(f, in->visits, "agecam_pipeline_fps", 1);
    head(f, "agecam_frames_dropped_total", "counter", "Frames dropped by the pipeline since daemon start.");
    per_camera(f, in->visits, "agecam_frames_dropped_total", 2);
    head(f, "agecam_frames_total", "counter", "Frames processed since daemon start.");
    per_camera(f, in->visits, "agecam_frames_total", 4);
    head(f, "agecam_camera_online", "gauge", "1 while the camera delivers frames.");
    per_camera(f, in->visits, "agecam_camera_online", 3);
    head(f, "agecam_writer_up", "gauge", "1 while the daemon's ring is attached and its writer alive.");
    fprintf(f, "agecam_writer_up %d\n", in->writer_up ? 1 : 0);
    head(f, "agecam_writer_heartbeat_age_seconds", "gauge", "Seconds since the daemon's last heartbeat in the ring.");
    if (in->heartbeat_age_s >= 0)
        fprintf(f, "agecam_writer_heartbeat_age_seconds %.3f\n", in->heartbeat_age_s);
    head(f, "agecam_ring_missed_records_total", "counter", "Ring records overwritten before this consumer read them.");
    fprintf(f, "agecam_ring_missed_records_total %llu\n", (unsigned long long)in->ring_missed);
    head(f, "agecam_state_write_errors_total", "counter", "Failed attempts to save visits to the state file.");
    fprintf(f, "agecam_state_write_errors_total %llu\n", (unsigned long long)in->save_errors);
    head(f, "agecam_state_pending_visits", "gauge", "Counted visits not yet saved to the state file.");
    fprintf(f, "agecam_state_pending_visits %llu\n", (unsigned long long)in->pending);
    if (in->mqtt_dropped >= 0) {
        head(f, "agecam_mqtt_dropped_total", "counter", "MQTT messages dropped while the broker was unreachable.");
        fprintf(f, "agecam_mqtt_dropped_total %lld\n", (long long)in->mqtt_dropped);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) {
        free(*buf);
        *buf = NULL;
        return -ENOMEM;
    }
    return 0;
}
