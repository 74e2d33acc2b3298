#include "daemon/ac_pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "age/ac_age.h"
#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "common/ac_image.h"
#include "common/ac_log.h"
#include "daemon/ac_faces.h"
#include "daemon/ac_queue.h"
#include "track/ac_track.h"

#define MAX_WORKERS 16
#define REORDER 128

enum { ST_CAPTURE, ST_DETECT, ST_TRACK, ST_AGE0 };
#define MAX_STAGES (ST_AGE0 + MAX_WORKERS)

struct stage {
    char name[16];
    atomic_uint_fast64_t beats;   /* items done */
    atomic_int waiting;           /* blocked on its input: idle, not stalled */
    atomic_int done;              /* thread has exited */
    atomic_uint_fast64_t busy_ns; /* time spent on items */
    /* monitor-private */
    uint64_t seen_beats;
    int64_t seen_ns;
};

struct job {
    uint64_t seq;        /* contiguous per pipeline: the tracker's order */
    struct ac_frame *frame; /* held until the age stage is done with it */
    int64_t ts_ns;
    uint64_t frame_seq;
    int detected, n;
    struct ac_pface face[AC_PIPE_MAX_FACES];
    float quality[AC_PIPE_MAX_FACES];
    int has_age[AC_PIPE_MAX_FACES];
    float prob[AC_PIPE_MAX_FACES][AC_TRACK_MAX_CLASSES];
};

struct worker {
    struct ac_pipeline *p;
    int index;
    struct ac_age *est;
    struct ac_facegate gate;
    uint8_t *chip;
    struct job job;
    pthread_t th;
    int started;
};

struct ac_pipeline {
    struct ac_config cfg;
    struct ac_ring *ring;
    struct ac_capture *cap;
    struct ac_frameslot *slot;
    struct ac_facedet *det;
    struct ac_nn_model *age_model;
    struct ac_queue *age_q, *res_q;
    struct ac_tracker *tracker;
    struct ac_track_event *events;
    int nworkers;
    struct worker w[MAX_WORKERS];
    struct stage st[MAX_STAGES];
    int nstages;
    pthread_t th_capture, th_detect, th_track;
    int started_capture, started_detect, started_track;
    atomic_int stop;
    atomic_int producers; /* detect + workers still feeding res_q */
    struct job detect_job, dropped_job, track_in;
    struct job *held;     /* tracker reorder buffer */
    int *held_used;
    int64_t *held_since;
    /* tracker-thread statistics, read by the monitor */
    atomic_uint_fast64_t frames, records, skipped, detect_errors, age_errors;
    atomic_uint faces, tracks;
    atomic_int first_frame, finished, source_error;
    atomic_uint_fast64_t lat_sum_ns, lat_n;
    /* monitor-private rate window */
    uint64_t win_frames, win_lat_sum, win_lat_n;
    int64_t win_ns;
    double fps, latency_ms;
    uint64_t next_id_after;
    int64_t real_minus_mono;
    int64_t gap_wait_ns;
    int lossless; /* file:/dir: with camera.realtime off: stages wait, nothing is dropped */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Test aid (debug.stall_stage): the chosen stage hangs after stall_after
 * items, busy and without progress, until the pipeline stops. */
static void maybe_stall(struct ac_pipeline *p, int which, struct stage *s)
{
    if (p->cfg.debug.stall_stage != which || atomic_load(&s->beats) < (uint64_t)p->cfg.debug.stall_after)
        return;
    static atomic_int logged;
    if (!atomic_exchange(&logged, 1))
        ac_warn("debug: stage %s stalls now (debug.stall_stage)", s->name);
    while (!atomic_load(&p->stop)) {
        struct timespec d = {0, 50000000};
        nanosleep(&d, NULL);
    }
}

static void stage_done_item(struct stage *s, int64_t t0)
{
    atomic_fetch_add(&s->busy_ns, (uint64_t)(mono_ns() - t0));
    atomic_fetch_add(&s->beats, 1);
}

/* ---- capture ---- */

static void *capture_main(void *arg)
{
    struct ac_pipeline *p = arg;
    struct stage *s = &p->st[ST_CAPTURE];
    while (!atomic_load(&p->stop)) {
        maybe_stall(p, AC_STAGE_CAPTURE, s);
        struct ac_frame *f;
        atomic_store(&s->waiting, 1);
        int rc = ac_capture_read(p->cap, 200, &f);
        atomic_store(&s->waiting, 0);
        if (rc == 0) {
            int64_t t0 = mono_ns();
            if (p->lossless) {
                atomic_store(&s->waiting, 1); /* on the detector: idle, not stalled */
                while ((rc = ac_frameslot_publish_wait(p->slot, f, 200)) == -ETIMEDOUT && !atomic_load(&p->stop))
                    ;
                atomic_store(&s->waiting, 0);
                if (rc)
                    ac_frame_unref(f);
            } else {
                ac_frameslot_publish(p->slot, f);
            }
            stage_done_item(s, t0);
        } else if (rc == -ENODATA) {
            ac_info("source %s ended", p->cfg.camera.source);
            break;
        } else if (rc != -ETIMEDOUT && rc != -EAGAIN) {
            ac_err("capture %s: %s; stopping the pipeline", p->cfg.camera.source, strerror(-rc));
            atomic_store(&p->source_error, rc);
            break;
        }
    }
    ac_frameslot_close(p->slot);
    atomic_store(&s->done, 1);
    return NULL;
}

/* ---- detect ---- */

static void producer_done(struct ac_pipeline *p)
{
    if (atomic_fetch_sub(&p->producers, 1) == 1)
        ac_queue_close(p->res_q);
}

/* Lossless mode waits for room (idle, not stalled) until a stop; otherwise
 * a full queue drops its oldest job into *old (when given) and returns 1. */
static int push_job(struct ac_pipeline *p, struct stage *s, struct ac_queue *q, const struct job *j, struct job *old)
{
    if (p->lossless) {
        int rc;
        atomic_store(&s->waiting, 1);
        while ((rc = ac_queue_push_wait(q, j, 200)) == -ETIMEDOUT && !atomic_load(&p->stop))
            ;
        atomic_store(&s->waiting, 0);
        if (rc != -ETIMEDOUT)
            return rc;
    }
    return ac_queue_push(q, j, old);
}

static void *detect_main(void *arg)
{
    struct ac_pipeline *p = arg;
    struct stage *s = &p->st[ST_DETECT];
    struct job *j = &p->detect_job, *old = &p->dropped_job;
    uint64_t nframe = 0, seq = 0;
    for (;;) {
        struct ac_frame *f;
        atomic_store(&s->waiting, 1);
        int rc = ac_frameslot_take(p->slot, 200, &f);
        atomic_store(&s->waiting, 0);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc)
            break; /* closed and drained */
        int64_t t0 = mono_ns();
        j->seq = ++seq;
        j->ts_ns = f->ts_ns;
        j->frame_seq = f->seq;
        j->detected = nframe++ % (uint64_t)p->cfg.detect.every == 0;
        j->n = 0;
        if (j->detected) {
            int n = ac_facedet_run(p->det, f->seq, f->rgb, f->w, f->h, f->stride, j->face, AC_PIPE_MAX_FACES);
            if (n < 0) {
                atomic_fetch_add(&p->detect_errors, 1);
                j->detected = 0; /* a failed run is no evidence that faces left */
            } else {
                j->n = n;
            }
        }
        for (int i = 0; i < j->n; i++) {
            j->has_age[i] = 0;
            j->quality[i] = 0;
        }
        if (j->n == 0) {
            ac_frame_unref(f);
            j->frame = NULL;
            push_job(p, s, p->res_q, j, NULL);
        } else {
            j->frame = f;
            if (push_job(p, s, p->age_q, j, old) == 1) {
                /* the age stage is behind: the oldest job skips it but its
                 * boxes still reach the tracker */
                ac_frame_unref(old->frame);
                old->frame = NULL;
                ac_queue_push(p->res_q, old, NULL);
            }
        }
        stage_done_item(s, t0);
        maybe_stall(p, AC_STAGE_DETECT, s);
    }
    ac_queue_close(p->age_q);
    producer_done(p);
    atomic_store(&s->done, 1);
    return NULL;
}

/* ---- age workers ---- */

static void save_crop(struct ac_pipeline *p, const struct job *j, int i, const uint8_t *chip)
{
    char path[AC_CFG_STR + 64];
    snprintf(path, sizeof path, "%s/frame%06llu_face%d.jpg", p->cfg.debug.crops_dir,
             (unsigned long long)j->frame_seq, i);
    ac_image_save_jpeg(path, chip, AC_CHIP_SIDE, AC_CHIP_SIDE, AC_CHIP_SIDE * 3, 90);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ac_pipeline *p = w->p;
    struct stage *s = &p->st[ST_AGE0 + w->index];
    struct job *j = &w->job;
    struct ac_age_result r;
    for (;;) {
        atomic_store(&s->waiting, 1);
        int rc = ac_queue_pop(p->age_q, j, 200);
        atomic_store(&s->waiting, 0);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc)
            break;
        int64_t t0 = mono_ns();
        struct ac_frame *f = j->frame;
        for (int i = 0; i < j->n; i++) {
            struct ac_quality_measures m;
            j->has_age[i] = 0;
            j->quality[i] = 0;
            if (!ac_facegate_face(&w->gate, &j->face[i], &m))
                continue;
            if (ac_face_chip(f->rgb, f->w, f->h, f->stride, &j->face[i], w->chip))
                continue;
            float q = ac_facegate_chip(&w->gate, &j->face[i], w->chip, &m);
            if (q <= 0)
                continue;
            j->quality[i] = q;
            if (p->cfg.debug.save_crops)
                save_crop(p, j, i, w->chip);
            if (ac_age_estimate(w->est, w->chip, AC_CHIP_SIDE, AC_CHIP_SIDE, AC_CHIP_SIDE * 3, &r)) {
                atomic_fetch_add(&p->age_errors, 1);
                continue;
            }
            memcpy(j->prob[i], r.prob, sizeof j->prob[i]);
            j->has_age[i] = 1;
        }
        ac_frame_unref(f);
        j->frame = NULL;
        push_job(p, s, p->res_q, j, NULL);
        stage_done_item(s, t0);
        maybe_stall(p, AC_STAGE_AGE, s);
    }
    producer_done(p);
    atomic_store(&s->done, 1);
    return NULL;
}

/* ---- tracker + ring writer ---- */

static void publish_event(struct ac_pipeline *p, const struct ac_track_event *e)
{
    struct agecam_record r;
    memset(&r, 0, sizeof r);
    r.kind = (uint16_t)(e->kind == AC_TEV_NEW ? AGECAM_EV_NEW
                        : e->kind == AC_TEV_END ? AGECAM_EV_END : AGECAM_EV_UPDATE);
    r.track_id = e->id;
    r.camera_id = (uint16_t)p->cfg.camera.id;
    r.flags = e->age_valid ? AGECAM_REC_AGE_VALID : 0;
    struct agecam_face *f = &r.u.face;
    f->x = e->x;
    f->y = e->y;
    f->w = e->w;
    f->h = e->h;
    if (e->age_valid) {
        f->age = e->age;
        f->age_std = e->std;
        f->age_low = e->low;
        f->age_high = e->high;
    }
    f->quality = e->quality;
    f->frames = e->frames;
    f->first_seen_mono_ns = e->first_seen_ns;
    f->first_seen_real_ns = e->first_seen_ns + p->real_minus_mono;
    ac_ring_publish(p->ring, &r);
    atomic_fetch_add(&p->records, 1);
}

static void track_job(struct ac_pipeline *p, const struct job *j, int64_t *last_ts)
{
    struct ac_det d[AC_PIPE_MAX_FACES];
    for (int i = 0; i < j->n; i++) {
        d[i] = (struct ac_det){j->face[i].x, j->face[i].y, j->face[i].w, j->face[i].h,
                               j->face[i].score, j->quality[i], j->has_age[i] ? j->prob[i] : NULL};
    }
    /* clamp: a source whose timestamps step back must not stall tracking */
    int64_t ts = j->ts_ns > *last_ts ? j->ts_ns : *last_ts;
    *last_ts = ts;
    int n = ac_tracker_update(p->tracker, ts, d, j->n, j->detected, NULL, p->events,
                              ac_tracker_max_events(p->tracker));
    for (int k = 0; k < n; k++)
        publish_event(p, &p->events[k]);
    if (j->detected)
        atomic_store(&p->faces, (unsigned)j->n);
    atomic_store(&p->tracks, (unsigned)ac_tracker_live(p->tracker));
    int64_t now = mono_ns();
    if (j->ts_ns > 0 && now > j->ts_ns) {
        atomic_fetch_add(&p->lat_sum_ns, (uint64_t)(now - j->ts_ns));
        atomic_fetch_add(&p->lat_n, 1);
    }
    atomic_fetch_add(&p->frames, 1);
    atomic_store(&p->first_frame, 1);
}

static uint64_t total_drops(struct ac_pipeline *p);

static void publish_health(struct ac_pipeline *p, double fps, double lat_ms)
{
    struct agecam_record r;
    memset(&r, 0, sizeof r);
    r.kind = AGECAM_EV_HEALTH;
    r.camera_id = (uint16_t)p->cfg.camera.id;
    struct ac_capture_stats cs;
    ac_capture_get_stats(p->cap, &cs);
    r.u.health.fps = (float)fps;
    r.u.health.latency_ms = (float)lat_ms;
    r.u.health.faces = atomic_load(&p->faces);
    r.u.health.tracks = atomic_load(&p->tracks);
    r.u.health.frames = atomic_load(&p->frames);
    r.u.health.drops = total_drops(p);
    r.u.health.camera_online = (uint32_t)cs.online;
    ac_ring_publish(p->ring, &r);
    atomic_fetch_add(&p->records, 1);
}

/* Feeds held jobs to the tracker in sequence order. A missing sequence
 * number is still in the age queue or with a worker, however slow, unless
 * the result queue dropped it: so a gap is waited for until `force` (the
 * result queue dropped something since, the input ended, or the buffer
 * needs the slot) or, as a last resort, until the oldest held job has
 * waited longer than a stage may take before it counts as stalled. */
static void drain(struct ac_pipeline *p, struct stage *s, uint64_t *next, int64_t now, int force,
                  int64_t *last_ts)
{
    for (;;) {
        int k = (int)(*next % REORDER);
        if (p->held_used[k] && p->held[k].seq == *next) {
            track_job(p, &p->held[k], last_ts);
            p->held_used[k] = 0;
            (*next)++;
            maybe_stall(p, AC_STAGE_TRACK, s);
            atomic_fetch_add(&s->beats, 1);
            continue;
        }
        uint64_t oldest = 0;
        int64_t since = 0;
        for (int i = 0; i < REORDER; i++)
            if (p->held_used[i] && (!oldest || p->held[i].seq < oldest)) {
                oldest = p->held[i].seq;
                since = p->held_since[i];
            }
        if (!oldest || (!force && now - since < p->gap_wait_ns))
            return;
        atomic_fetch_add(&p->skipped, oldest - *next);
        *next = oldest;
        force = 0; /* one gap at a time; the next one gets its own wait */
    }
}

static void *track_main(void *arg)
{
    struct ac_pipeline *p = arg;
    struct stage *s = &p->st[ST_TRACK];
    struct job *j = &p->track_in;
    uint64_t next = 1;
    int64_t last_ts = 0, health_at = mono_ns();
    uint64_t hframes = atomic_load(&p->frames), hlat = 0, hlat_n = 0;
    int closed = 0;
    uint64_t res_dropped = 0;
    while (!closed) {
        atomic_store(&s->waiting, 1);
        int rc = ac_queue_pop(p->res_q, j, 100);
        atomic_store(&s->waiting, 0);
        int64_t t0 = mono_ns();
        if (rc == -EPIPE)
            closed = 1;
        if (rc == 0) {
            if (j->seq < next) {
                atomic_fetch_add(&p->skipped, 1); /* arrived after its gap was given up */
            } else {
                int k = (int)(j->seq % REORDER);
                while (p->held_used[k])
                    drain(p, s, &next, t0, 1, &last_ts);
                p->held[k] = *j;
                p->held_used[k] = 1;
                p->held_since[k] = t0;
            }
        }
        struct ac_queue_stats qs;
        ac_queue_get_stats(p->res_q, &qs);
        drain(p, s, &next, t0, qs.dropped != res_dropped, &last_ts);
        res_dropped = qs.dropped;
        while (closed) {
            int any = 0;
            for (int i = 0; i < REORDER; i++)
                any |= p->held_used[i];
            if (!any)
                break;
            drain(p, s, &next, t0, 1, &last_ts);
        }
        if (rc == 0)
            atomic_fetch_add(&s->busy_ns, (uint64_t)(mono_ns() - t0));
        int64_t now = mono_ns();
        ac_ring_heartbeat(p->ring);
        if (now - health_at >= (int64_t)p->cfg.ring.health_interval_ms * 1000000LL) {
            uint64_t fr = atomic_load(&p->frames);
            uint64_t ls = atomic_load(&p->lat_sum_ns), ln = atomic_load(&p->lat_n);
            double fps = (double)(fr - hframes) * 1e9 / (double)(now - health_at);
            double lat = ln > hlat_n ? (double)(ls - hlat) / (double)(ln - hlat_n) / 1e6 : 0;
            publish_health(p, fps, lat);
            health_at = now;
            hframes = fr;
            hlat = ls;
            hlat_n = ln;
        }
    }
    int n = ac_tracker_flush(p->tracker, p->events, ac_tracker_max_events(p->tracker));
    for (int k = 0; k < n; k++)
        publish_event(p, &p->events[k]);
    p->next_id_after = ac_tracker_next_id(p->tracker);
    atomic_store(&p->finished, !atomic_load(&p->stop));
    atomic_store(&s->done, 1);
    return NULL;
}

/* ---- setup ---- */

static int parse_formats(const char *s, struct ac_capture_settings *cs, char *err, size_t errlen)
{
    if (!strcasecmp(s, "auto"))
        return 0;
    char buf[AC_CFG_STR];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        uint32_t f = ac_capfmt_parse(t);
        if (!f || !ac_capfmt_supported(f) || cs->nprefer == AC_CAPTURE_MAX_PREFER) {
            snprintf(err, errlen, "camera.format: '%s' is not a supported pixel format", t);
            return -EINVAL;
        }
        cs->prefer[cs->nprefer++] = f;
    }
    return 0;
}

int ac_pipeline_create(const struct ac_config *c, struct ac_ring *ring, uint64_t next_track_id,
                       struct ac_pipeline **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ac_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->cfg = *c;
    p->ring = ring;
    p->nworkers = c->age.threads < MAX_WORKERS ? c->age.threads : MAX_WORKERS;
    p->next_id_after = next_track_id;
    p->gap_wait_ns = (int64_t)c->pipeline.stall_timeout_ms * 1000000LL;
    int rc;
    snprintf(p->st[ST_CAPTURE].name, sizeof p->st[0].name, "capture");
    snprintf(p->st[ST_DETECT].name, sizeof p->st[0].name, "detect");
    snprintf(p->st[ST_TRACK].name, sizeof p->st[0].name, "track");
    for (int i = 0; i < p->nworkers; i++)
        snprintf(p->st[ST_AGE0 + i].name, sizeof p->st[0].name, "age%d", i);
    p->nstages = ST_AGE0 + p->nworkers;

    struct ac_capture_settings cs;
    ac_capture_settings_default(&cs);
    if ((rc = parse_formats(c->camera.format, &cs, err, errlen)))
        goto fail;
    if (strncmp(c->camera.source, "v4l2:", 5) && strncmp(c->camera.source, "dir:", 4) &&
        strncmp(c->camera.source, "file:", 5) && strncmp(c->camera.source, "libcamera:", 10) &&
        strncmp(c->camera.source, "/dev/", 5)) {
        snprintf(err, errlen, "camera.source: '%s' has no known scheme (v4l2:, libcamera:, file:, dir:)",
                 c->camera.source);
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = ac_facedet_create(c, &p->det, err, errlen)))
        goto fail;

    char path[AC_CFG_STR + 64], why[256];
    if (c->age.model[0])
        snprintf(path, sizeof path, "%s", c->age.model);
    else if ((rc = ac_age_find_model("small", path, sizeof path, err, errlen)))
        goto fail;
    if ((rc = ac_nn_model_load(path, &p->age_model, why, sizeof why))) {
        snprintf(err, errlen, "age model %s: %s", path, why);
        goto fail;
    }
    const struct ac_nn_info *info = ac_nn_model_info(p->age_model);
    if (info->kind != AC_NN_KIND_AGE || info->num_classes < 2 || info->num_classes > AC_TRACK_MAX_CLASSES) {
        snprintf(err, errlen, "age model %s: not an age model with 2..%d classes", path, AC_TRACK_MAX_CLASSES);
        rc = -EINVAL;
        goto fail;
    }
    struct ac_age_settings as;
    ac_age_settings_default(&as);
    as.backend = c->age.backend == AC_CFG_BACKEND_SCALAR ? AC_NN_SCALAR : AC_NN_FAST;
    as.mirror = c->age.mirror;
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->w[i];
        w->p = p;
        w->index = i;
        ac_facegate_init(&w->gate, c);
        if ((rc = ac_age_create_shared(&as, p->age_model, &w->est, why, sizeof why))) {
            snprintf(err, errlen, "age estimator: %s", why);
            goto fail;
        }
        if (!(w->chip = malloc((size_t)AC_CHIP_SIDE * AC_CHIP_SIDE * 3))) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    ac_info("models: detector %s, age %s (%dx%d, %d workers)", ac_facedet_model_path(p->det), path,
            info->input_w, info->input_h, p->nworkers);

    struct ac_track_settings ts = {
        .iou_threshold = c->track.iou_threshold, .confirm_hits = c->track.confirm_hits,
        .new_score = c->track.new_score,
        .max_missed = c->track.max_missed, .max_tracks = c->track.max_tracks,
        .fusion_tau = c->track.fusion_tau, .update_years = c->track.update_years,
        .range_years = c->track.range_years, .update_interval = c->track.update_interval,
        .range_low = c->track.range_low,
        .range_high = c->track.range_high, .num_classes = info->num_classes};
    if ((rc = ac_tracker_create(&ts, &p->tracker))) {
        snprintf(err, errlen, "tracker settings rejected");
        goto fail;
    }
    ac_tracker_set_next_id(p->tracker, next_track_id);
    p->events = calloc((size_t)ac_tracker_max_events(p->tracker), sizeof *p->events);
    p->held = calloc(REORDER, sizeof *p->held);
    p->held_used = calloc(REORDER, sizeof *p->held_used);
    p->held_since = calloc(REORDER, sizeof *p->held_since);
    if (!p->events || !p->held || !p->held_used || !p->held_since) {
        rc = -ENOMEM;
        goto fail;
    }
    /* the result queue also takes the age queue's overflow and the
     * face-less frames, so it is deeper */
    if ((rc = ac_queue_create(&p->age_q, c->pipeline.queue_depth, sizeof(struct job))) ||
        (rc = ac_queue_create(&p->res_q, 2 * c->pipeline.queue_depth + p->nworkers,
                              sizeof(struct job))) ||
        (rc = ac_frameslot_create(&p->slot))) {
        snprintf(err, errlen, "queues: %s", strerror(-rc));
        goto fail;
    }
    *out = p;
    return 0;
fail:
    ac_pipeline_destroy(p);
    return rc;
}

int ac_pipeline_start(struct ac_pipeline *p, char *err, size_t errlen)
{
    const struct ac_config *c = &p->cfg;
    struct ac_capture_settings cs;
    ac_capture_settings_default(&cs);
    parse_formats(c->camera.format, &cs, err, errlen); /* checked in create */
    cs.width = c->camera.width;
    cs.height = c->camera.height;
    cs.fps = c->camera.fps;
    cs.loop = c->camera.loop;
    cs.realtime = c->camera.realtime;
    p->lossless = !c->camera.realtime &&
                  (!strncmp(c->camera.source, "dir:", 4) || !strncmp(c->camera.source, "file:", 5));
    cs.wait_for_device = c->camera.wait_for_device && c->camera.width > 0;
    /* every frame a stage may hold at once: producer, slot, detector, the
     * age queue, one per worker */
    cs.pool = c->pipeline.queue_depth + p->nworkers + 3;
    int rc;
    if ((rc = ac_capture_open(c->camera.source, &cs, &p->cap))) {
        char why[512] = "";
        if (rc == -ENOPKG)
            ac_capture_plugin_error(c->camera.source, why, sizeof why);
        snprintf(err, errlen, "camera %s: %s%s%s", c->camera.source,
                 rc == -ENOPKG ? "capture plugin unavailable" : strerror(-rc), why[0] ? ": " : "", why);
        return rc;
    }
    if ((rc = ac_capture_init(p->cap)) || (rc = ac_capture_start(p->cap))) {
        snprintf(err, errlen, "camera %s: %s", c->camera.source, strerror(-rc));
        return rc;
    }
    p->real_minus_mono = real_ns() - mono_ns();
    atomic_store(&p->producers, 1 + p->nworkers);
    if ((rc = -pthread_create(&p->th_track, NULL, track_main, p)))
        goto fail;
    p->started_track = 1;
    for (int i = 0; i < p->nworkers; i++) {
        if ((rc = -pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i])))
            goto fail;
        p->w[i].started = 1;
    }
    if ((rc = -pthread_create(&p->th_detect, NULL, detect_main, p)))
        goto fail;
    p->started_detect = 1;
    if ((rc = -pthread_create(&p->th_capture, NULL, capture_main, p)))
        goto fail;
    p->started_capture = 1;
    int64_t now = mono_ns();
    for (int i = 0; i < p->nstages; i++)
        p->st[i].seen_ns = now;
    p->win_ns = now;
    return 0;
fail:
    snprintf(err, errlen, "threads: %s", strerror(-rc));
    ac_pipeline_stop(p);
    return rc;
}

void ac_pipeline_stop(struct ac_pipeline *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    /* each stage exits once its input closes, so stopping the source
     * drains the pipeline in order; threads that never started are
     * stood in for by closing what they would have closed */
    if (p->started_capture)
        pthread_join(p->th_capture, NULL);
    else if (p->slot)
        ac_frameslot_close(p->slot);
    p->started_capture = 0;
    if (p->started_detect) {
        pthread_join(p->th_detect, NULL);
    } else if (p->age_q) {
        ac_queue_close(p->age_q);
        if (p->started_track)
            producer_done(p);
    }
    p->started_detect = 0;
    for (int i = 0; i < p->nworkers; i++) {
        if (p->w[i].started)
            pthread_join(p->w[i].th, NULL);
        else if (p->started_track)
            producer_done(p);
        p->w[i].started = 0;
    }
    if (p->started_track)
        pthread_join(p->th_track, NULL);
    p->started_track = 0;
    if (p->cap) {
        ac_capture_stop(p->cap);
        ac_capture_uninit(p->cap);
    }
}

void ac_pipeline_destroy(struct ac_pipeline *p)
{
    if (!p)
        return;
    ac_pipeline_stop(p);
    /* jobs left in queues still hold frames: give them back before the
     * frame pool goes with the capture */
    struct job *j = &p->detect_job;
    if (p->age_q) {
        ac_queue_close(p->age_q);
        while (ac_queue_pop(p->age_q, j, 0) == 0)
            if (j->frame)
                ac_frame_unref(j->frame);
    }
    ac_capture_close(p->cap);
    ac_frameslot_destroy(p->slot);
    ac_queue_destroy(p->age_q);
    ac_queue_destroy(p->res_q);
    for (int i = 0; i < p->nworkers; i++) {
        ac_age_destroy(p->w[i].est);
        free(p->w[i].chip);
    }
    ac_nn_model_destroy(p->age_model);
    ac_facedet_destroy(p->det);
    ac_tracker_destroy(p->tracker);
    free(p->events);
    free(p->held);
    free(p->held_used);
    free(p->held_since);
    free(p);
}

uint64_t ac_pipeline_next_track_id(const struct ac_pipeline *p)
{
    return p->started_track ? ac_tracker_next_id(p->tracker) : p->next_id_after;
}

void ac_pipeline_set_next_track_id(struct ac_pipeline *p, uint64_t id)
{
    ac_tracker_set_next_id(p->tracker, id);
    p->next_id_after = id;
}

static uint64_t total_drops(struct ac_pipeline *p)
{
    struct ac_queue_stats qa, qr;
    struct ac_frameslot_stats fs;
    ac_queue_get_stats(p->age_q, &qa);
    ac_queue_get_stats(p->res_q, &qr);
    ac_frameslot_get_stats(p->slot, &fs);
    uint64_t d = qa.dropped + qr.dropped + fs.dropped + atomic_load(&p->skipped);
    if (p->cap) {
        struct ac_capture_stats cs;
        ac_capture_get_stats(p->cap, &cs);
        d += cs.corrupt + cs.no_buffer;
    }
    return d;
}

int ac_pipeline_check(struct ac_pipeline *p, struct ac_pipeline_stats *st)
{
    memset(st, 0, sizeof *st);
    int64_t now = mono_ns();
    int rc = 0;
    for (int i = 0; i < p->nstages; i++) {
        struct stage *s = &p->st[i];
        uint64_t b = atomic_load(&s->beats);
        if (b != s->seen_beats || atomic_load(&s->waiting) || atomic_load(&s->done)) {
            s->seen_beats = b;
            s->seen_ns = now;
            continue;
        }
        double ms = (double)(now - s->seen_ns) / 1e6;
        if (ms > p->cfg.pipeline.stall_timeout_ms && !rc) {
            st->stalled = s->name;
            st->stalled_ms = ms;
            rc = -ETIMEDOUT;
        }
    }
    if (now - p->win_ns >= 1000000000LL) {
        uint64_t fr = atomic_load(&p->frames);
        uint64_t ls = atomic_load(&p->lat_sum_ns), ln = atomic_load(&p->lat_n);
        p->fps = (double)(fr - p->win_frames) * 1e9 / (double)(now - p->win_ns);
        p->latency_ms = ln > p->win_lat_n ? (double)(ls - p->win_lat_sum) / (double)(ln - p->win_lat_n) / 1e6 : 0;
        p->win_frames = fr;
        p->win_lat_sum = ls;
        p->win_lat_n = ln;
        p->win_ns = now;
    }
    struct ac_capture_stats cs;
    ac_capture_get_stats(p->cap, &cs);
    st->fps = p->fps;
    st->latency_ms = p->latency_ms;
    st->faces = atomic_load(&p->faces);
    st->tracks = atomic_load(&p->tracks);
    st->frames = atomic_load(&p->frames);
    st->drops = total_drops(p);
    st->records = atomic_load(&p->records);
    st->camera_online = cs.online;
    st->first_frame = atomic_load(&p->first_frame);
    st->finished = atomic_load(&p->finished);
    st->source_error = atomic_load(&p->source_error);
    return rc;
}

void ac_pipeline_timings(struct ac_pipeline *p, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < p->nstages && o < len; i++) {
        uint64_t b = atomic_load(&p->st[i].beats), ns = atomic_load(&p->st[i].busy_ns);
        int n = snprintf(buf + o, len - o, "%s%s %llu items %.2f ms/item", i ? ", " : "",
                         p->st[i].name, (unsigned long long)b, b ? (double)ns / (double)b / 1e6 : 0.0);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    /* the gates' counters belong to the workers: read only once they stopped */
    unsigned long qc[AC_QUALITY_NREASONS] = {0};
    if (!p->started_track)
        for (int i = 0; i < p->nworkers; i++)
            for (int r = 0; r < AC_QUALITY_NREASONS; r++)
                qc[r] += p->w[i].gate.q.counts[r];
    if (o < len)
        snprintf(buf + o, len - o,
                 "; faces estimated %lu, rejected for size %lu, pose %lu, blur %lu; "
                 "detector errors %llu, age errors %llu",
                 qc[AC_QUALITY_OK], qc[AC_QUALITY_SIZE], qc[AC_QUALITY_POSE], qc[AC_QUALITY_BLUR],
                 (unsigned long long)atomic_load(&p->detect_errors),
                 (unsigned long long)atomic_load(&p->age_errors));
}
