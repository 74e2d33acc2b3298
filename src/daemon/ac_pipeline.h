/* The agecamd pipeline: threads and queues from camera to ring.
 *
 *   capture --frameslot (newest frame wins)--> detect --age queue--> age
 *   workers (N) --result queue--> track + ring writer
 *
 * Queues drop their oldest entry when full; a job the age queue drops still
 * reaches the tracker with its boxes (no ages), so tracking never loses a
 * detector run to a busy age stage. Workers finish frames out of order; the
 * tracker puts them back in order (a gap waits briefly, then is skipped).
 * The detector runs on every Nth frame; the frames in between only advance
 * the tracks' predictions.
 *
 * Heartbeat: every stage bumps a counter per item and flags the times it
 * blocks waiting for input. ac_pipeline_check (called by the monitor thread)
 * calls a stage stalled when it is busy without progress for longer than
 * pipeline.stall_timeout_ms; the daemon stops petting the systemd watchdog
 * then.
 *
 * create loads everything that can fail for a bad setting (models, sizes)
 * without touching the camera, so a reload can be refused while the old
 * pipeline keeps running; start opens the camera and spawns the threads. */
#ifndef AC_PIPELINE_H
#define AC_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/ac_config.h"
#include "ring/ac_ring.h"

struct ac_pipeline;

struct ac_pipeline_stats {
    double fps;           /* frames through the tracker per second, recent */
    double latency_ms;    /* capture to publish, recent mean */
    uint32_t faces;       /* faces in the last detector run */
    uint32_t tracks;      /* live tracks */
    uint64_t frames;      /* frames through the tracker */
    uint64_t drops;       /* frames or jobs dropped anywhere */
    uint64_t records;     /* records published */
    int camera_online;
    int first_frame;      /* a frame went all the way through */
    int finished;         /* the source ended and everything drained */
    int source_error;     /* -errno that ended the source, 0 for a normal end */
    const char *stalled;  /* name of a stalled stage, or NULL */
    double stalled_ms;
};

int ac_pipeline_create(const struct ac_config *c, struct ac_ring *ring, uint64_t next_track_id,
                       struct ac_pipeline **out, char *err, size_t errlen);
int ac_pipeline_start(struct ac_pipeline *p, char *err, size_t errlen);
/* Stops the threads (each drains what it holds), then publishes END records
 * for the live tracks. */
void ac_pipeline_stop(struct ac_pipeline *p);
void ac_pipeline_destroy(struct ac_pipeline *p);
/* Track ids continue from here in the next pipeline (after a reload). */
uint64_t ac_pipeline_next_track_id(const struct ac_pipeline *p);
/* Before start only. */
void ac_pipeline_set_next_track_id(struct ac_pipeline *p, uint64_t id);

/* Monitor: health and stall detection. One caller thread. Returns 0, or
 * -ETIMEDOUT when a stage is stalled (st->stalled names it). */
int ac_pipeline_check(struct ac_pipeline *p, struct ac_pipeline_stats *st);

/* Per-stage timings for the log: "detect 12.3 ms/item, age ...", and the
 * quality gates' counts once the pipeline is stopped. */
void ac_pipeline_timings(struct ac_pipeline *p, char *buf, size_t len);

#endif
