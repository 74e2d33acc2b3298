#include "track/ac_track.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DETS 64

/* Filter noise in box sizes, so one tuning fits near and far faces: the
 * measurement is good to ~5% of the box, a face may change its speed by
 * about one box width per second squared. */
#define MEAS_SIGMA 0.05f
#define ACCEL_SIGMA 1.0f
#define VEL0_SIGMA 1.0f
/* match gate on the squared Mahalanobis distance over the 4 box coordinates:
 * the chi-square 99.9 % point for 4 degrees of freedom */
#define GATE_M2 18.5f

struct kf1 {
    float p, v;          /* position (or size) and its rate per second */
    float P00, P01, P11; /* covariance */
};

struct track {
    int used;
    int state;
    uint64_t id;         /* 0 until confirmed, so announced ids are dense */
    struct kf1 k[4];     /* cx, cy, w, h */
    int hits, misses;
    uint32_t frames;
    int64_t first_ns, last_ns, age_ns;
    float best_q;
    double S;            /* forgetting-weighted sum of qualities */
    float P[AC_TRACK_MAX_CLASSES];
    int have_age;
    int published;       /* an estimate went out; pub_* hold it */
    float pub_age, pub_low, pub_high;
    int64_t pub_ns;
};

struct pair {
    float score;
    int t, d;
};

struct ac_tracker {
    struct ac_track_settings s;
    struct track *tr;
    struct pair *pairs;
    int64_t last_ns;
    int started;
    uint64_t next_id;
};

void ac_track_settings_default(struct ac_track_settings *s)
{
    s->iou_threshold = 0.2f;
    s->confirm_hits = 3;
    s->new_score = 0.7f;
    s->max_missed = 10;
    s->max_tracks = 32;
    s->fusion_tau = 4.0f;
    s->update_years = 2.0f;
    s->range_years = 3.0f;
    s->update_interval = 1.0f;
    s->range_low = 0.1f;
    s->range_high = 0.9f;
    s->num_classes = 66;
}

int ac_tracker_create(const struct ac_track_settings *s, struct ac_tracker **out)
{
    *out = NULL;
    if (s->max_tracks < 1 || s->max_tracks > 1024 || s->confirm_hits < 1 || s->max_missed < 0 ||
        !(s->new_score >= 0 && s->new_score <= 1) ||
        !(s->fusion_tau > 0) || !(s->update_interval >= 0) || !(s->range_low >= 0 && s->range_low <= s->range_high &&
                                  s->range_high <= 1) || s->num_classes < 2 || s->num_classes > AC_TRACK_MAX_CLASSES)
        return -EINVAL;
    struct ac_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->s = *s;
    t->tr = calloc((size_t)s->max_tracks, sizeof *t->tr);
    t->pairs = calloc((size_t)s->max_tracks * MAX_DETS, sizeof *t->pairs);
    if (!t->tr || !t->pairs) {
        ac_tracker_destroy(t);
        return -ENOMEM;
    }
    t->next_id = 1;
    *out = t;
    return 0;
}

void ac_tracker_destroy(struct ac_tracker *t)
{
    if (!t)
        return;
    free(t->tr);
    free(t->pairs);
    free(t);
}

void ac_tracker_set_next_id(struct ac_tracker *t, uint64_t id) { t->next_id = id ? id : 1; }
uint64_t ac_tracker_next_id(const struct ac_tracker *t) { return t->next_id; }
int ac_tracker_max_events(const struct ac_tracker *t) { return t->s.max_tracks; }

int ac_tracker_live(const struct ac_tracker *t)
{
    int n = 0;
    for (int i = 0; i < t->s.max_tracks; i++)
        n += t->tr[i].used && t->tr[i].state != AC_TRACK_TENTATIVE;
    return n;
}

static void kf_init(struct kf1 *k, float z, float scale)
{
    k->p = z;
    k->v = 0;
    k->P00 = (MEAS_SIGMA * scale) * (MEAS_SIGMA * scale);
    k->P01 = 0;
    k->P11 = (VEL0_SIGMA * scale) * (VEL0_SIGMA * scale);
}

static void kf_predict(struct kf1 *k, float dt, float scale)
{
    float q = (ACCEL_SIGMA * scale) * (ACCEL_SIGMA * scale);
    k->p += k->v * dt;
    /* F P F^T + white-noise-acceleration Q */
    float P00 = k->P00 + dt * (2 * k->P01 + dt * k->P11) + q * dt * dt * dt / 3;
    float P01 = k->P01 + dt * k->P11 + q * dt * dt / 2;
    float P11 = k->P11 + q * dt;
    k->P00 = P00;
    k->P01 = P01;
    k->P11 = P11;
}

static void kf_update(struct kf1 *k, float z, float scale)
{
    float R = (MEAS_SIGMA * scale) * (MEAS_SIGMA * scale);
    float S = k->P00 + R;
    float K0 = k->P00 / S, K1 = k->P01 / S;
    float y = z - k->p;
    k->p += K0 * y;
    k->v += K1 * y;
    float P00 = (1 - K0) * k->P00, P01 = (1 - K0) * k->P01, P11 = k->P11 - K1 * k->P01;
    k->P00 = P00;
    k->P01 = P01;
    k->P11 = P11;
}

static void track_box(const struct track *tr, float *x, float *y, float *w, float *h)
{
    *w = fmaxf(tr->k[2].p, 1.0f);
    *h = fmaxf(tr->k[3].p, 1.0f);
    *x = tr->k[0].p - *w / 2;
    *y = tr->k[1].p - *h / 2;
}

static float iou(float ax, float ay, float aw, float ah, float bx, float by, float bw, float bh)
{
    float ix = fminf(ax + aw, bx + bw) - fmaxf(ax, bx);
    float iy = fminf(ay + ah, by + bh) - fmaxf(ay, by);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    return inter / (aw * ah + bw * bh - inter);
}

void ac_track_dist_summary(const float *p, int n, float lo_q, float hi_q, float *mean, float *std,
                           float *lo, float *hi)
{
    double m = 0, m2 = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        sum += p[i];
        m += (double)p[i] * i;
        m2 += (double)p[i] * i * i;
    }
    if (sum <= 0)
        sum = 1;
    m /= sum;
    m2 /= sum;
    *mean = (float)m;
    *std = (float)sqrt(fmax(m2 - m * m, 0));
    /* bin i spans ages i-0.5 .. i+0.5; clamp to the label range */
    float qs[2] = {lo_q, hi_q}, *outs[2] = {lo, hi};
    for (int j = 0; j < 2; j++) {
        double target = qs[j] * sum, cum = 0;
        float v = (float)(n - 1);
        for (int i = 0; i < n; i++) {
            if (p[i] > 0 && cum + p[i] >= target) {
                v = (float)(i - 0.5 + (target - cum) / p[i]);
                break;
            }
            cum += p[i];
        }
        *outs[j] = fminf(fmaxf(v, 0.0f), (float)(n - 1));
    }
    /* a narrow peak with a long tail puts the mean outside its own
     * percentiles (peak at 20, 8% at 64: mean 23.5, 90th percentile 20.5);
     * a published range that excludes the published age reads as a bug */
    if (*lo > *mean)
        *lo = *mean;
    if (*hi < *mean)
        *hi = *mean;
}

static void fill_event(const struct ac_tracker *t, const struct track *tr, int kind,
                       struct ac_track_event *e)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->id = tr->id;
    track_box(tr, &e->x, &e->y, &e->w, &e->h);
    e->age_valid = tr->have_age;
    if (tr->have_age)
        ac_track_dist_summary(tr->P, t->s.num_classes, t->s.range_low, t->s.range_high, &e->age,
                              &e->std, &e->low, &e->high);
    e->quality = tr->best_q;
    e->frames = tr->frames;
    e->first_seen_ns = tr->first_ns;
    e->last_seen_ns = tr->last_ns;
}

static void fuse(const struct ac_tracker *t, struct track *tr, int64_t now, const struct ac_det *d)
{
    float q = d->quality;
    if (!d->prob || !(q > 0))
        return;
    if (q > 1)
        q = 1;
    double sum = 0;
    for (int i = 0; i < t->s.num_classes; i++) {
        if (!(d->prob[i] >= 0))
            return; /* NaN or negative: not a distribution, ignore the frame */
        sum += d->prob[i];
    }
    if (!(sum > 0))
        return;
    double decay = tr->have_age ? exp(-(double)(now - tr->age_ns) * 1e-9 / t->s.fusion_tau) : 0;
    tr->S = decay * tr->S + q;
    float a = (float)(q / tr->S);
    for (int i = 0; i < t->s.num_classes; i++) {
        float p = (float)(d->prob[i] / sum);
        tr->P[i] += a * (p - tr->P[i]);
    }
    tr->have_age = 1;
    tr->age_ns = now;
}

static int push(struct ac_track_event *ev, int max_ev, int *n, const struct ac_tracker *t,
                const struct track *tr, int kind)
{
    if (*n >= max_ev)
        return 0;
    fill_event(t, tr, kind, &ev[*n]);
    (*n)++;
    return 1;
}

static void mark_published(struct track *tr, const struct ac_track_event *e, int64_t now)
{
    tr->pub_ns = now;
    if (e->age_valid) {
        tr->published = 1;
        tr->pub_age = e->age;
        tr->pub_low = e->low;
        tr->pub_high = e->high;
    }
}

static int valid_det(const struct ac_det *d)
{
    return isfinite(d->x) && isfinite(d->y) && isfinite(d->w) && isfinite(d->h) && d->w >= 1 &&
           d->h >= 1;
}

int ac_tracker_update(struct ac_tracker *t, int64_t now, const struct ac_det *dets, int n,
                      int detected, uint64_t *ids, struct ac_track_event *ev, int max_ev)
{
    if (t->started && now < t->last_ns)
        return -EINVAL;
    if (n < 0 || (n > 0 && !dets))
        return -EINVAL;
    float dt = t->started ? (float)((double)(now - t->last_ns) * 1e-9) : 0;
    t->started = 1;
    t->last_ns = now;
    int nev = 0, M = t->s.max_tracks;
    if (ids)
        for (int j = 0; j < n; j++)
            ids[j] = 0;

    for (int i = 0; i < M; i++) {
        struct track *tr = &t->tr[i];
        if (!tr->used || dt <= 0)
            continue;
        float scale = fmaxf(tr->k[2].p, tr->k[3].p);
        for (int c = 0; c < 4; c++)
            kf_predict(&tr->k[c], dt, scale);
    }
    if (!detected)
        return 0;

    int nd = n < MAX_DETS ? n : MAX_DETS;
    int np = 0;
    for (int i = 0; i < M; i++) {
        struct track *tr = &t->tr[i];
        if (!tr->used)
            continue;
        float tx, ty, tw, th;
        track_box(tr, &tx, &ty, &tw, &th);
        for (int j = 0; j < nd; j++) {
            const struct ac_det *d = &dets[j];
            if (!valid_det(d))
                continue;
            /* gate: the detection must fit the prediction's own uncertainty
             * (innovation over the Kalman covariance plus measurement
             * noise, all four coordinates); a box of a very different size
             * or far off the predicted path is another face or a false
             * detection, however it overlaps */
            float z[4] = {d->x + d->w / 2, d->y + d->h / 2, d->w, d->h};
            float m2 = 0, R = MEAS_SIGMA * fmaxf(d->w, d->h);
            for (int c = 0; c < 4; c++) {
                float y = z[c] - tr->k[c].p;
                m2 += y * y / (tr->k[c].P00 + R * R);
            }
            if (m2 > GATE_M2)
                continue;
            float s = iou(tx, ty, tw, th, d->x, d->y, d->w, d->h);
            if (s < t->s.iou_threshold)
                /* fast motion: the prediction lags but the detection is
                 * within the gate; ranked below any overlap match */
                s = 0.01f * (1 - m2 / GATE_M2);
            /* confirmed and lost tracks choose first (a matching cascade):
             * a tentative track born from a stray box must not take the
             * detection of a face that already has an identity */
            if (tr->state != AC_TRACK_TENTATIVE)
                s += 1.0f;
            t->pairs[np++] = (struct pair){s, i, j};
        }
    }

    int det_track[MAX_DETS];
    for (int j = 0; j < nd; j++)
        det_track[j] = -1;
    int track_taken[1024] = {0};
    for (;;) {
        int best = -1;
        for (int k = 0; k < np; k++)
            if (!track_taken[t->pairs[k].t] && det_track[t->pairs[k].d] < 0 &&
                (best < 0 || t->pairs[k].score > t->pairs[best].score))
                best = k;
        if (best < 0)
            break;
        track_taken[t->pairs[best].t] = 1;
        det_track[t->pairs[best].d] = t->pairs[best].t;
    }

    for (int j = 0; j < nd; j++) {
        int i = det_track[j];
        if (i < 0)
            continue;
        struct track *tr = &t->tr[i];
        const struct ac_det *d = &dets[j];
        float z[4] = {d->x + d->w / 2, d->y + d->h / 2, d->w, d->h};
        float scale = fmaxf(d->w, d->h);
        for (int c = 0; c < 4; c++)
            kf_update(&tr->k[c], z[c], scale);
        tr->hits++;
        tr->misses = 0;
        tr->frames++;
        tr->last_ns = now;
        if (d->quality > tr->best_q)
            tr->best_q = d->quality;
        fuse(t, tr, now, d);
        if (tr->state == AC_TRACK_LOST)
            tr->state = AC_TRACK_CONFIRMED;
        if (tr->state == AC_TRACK_TENTATIVE && tr->hits >= t->s.confirm_hits) {
            tr->state = AC_TRACK_CONFIRMED;
            tr->id = t->next_id++;
            if (push(ev, max_ev, &nev, t, tr, AC_TEV_NEW))
                mark_published(tr, &ev[nev - 1], now);
        } else if (tr->state == AC_TRACK_CONFIRMED && tr->have_age) {
            struct ac_track_event e;
            fill_event(t, tr, AC_TEV_UPDATE, &e);
            /* the first estimate goes out at once; later ones when they
             * moved materially, and not more often than update_interval, so
             * an estimate wavering at a threshold cannot flood the ring */
            int due = (double)(now - tr->pub_ns) * 1e-9 >= t->s.update_interval;
            if (!tr->published || (due && (fabsf(e.age - tr->pub_age) > t->s.update_years ||
                                            fabsf(e.low - tr->pub_low) > t->s.range_years ||
                                            fabsf(e.high - tr->pub_high) > t->s.range_years))) {
                if (nev < max_ev) {
                    ev[nev++] = e;
                    mark_published(tr, &e, now);
                }
            }
        }
        if (ids)
            ids[j] = tr->id;
    }

    for (int i = 0; i < M; i++) {
        struct track *tr = &t->tr[i];
        if (!tr->used || track_taken[i])
            continue;
        tr->misses++;
        if (tr->state == AC_TRACK_TENTATIVE) {
            tr->used = 0;
        } else if (tr->misses > t->s.max_missed) {
            push(ev, max_ev, &nev, t, tr, AC_TEV_END);
            tr->used = 0;
        } else {
            tr->state = AC_TRACK_LOST;
        }
    }

    for (int j = 0; j < nd; j++) {
        const struct ac_det *d = &dets[j];
        if (det_track[j] >= 0 || !valid_det(d) || !(d->score >= t->s.new_score))
            continue;
        int i = 0;
        while (i < M && t->tr[i].used)
            i++;
        if (i == M)
            break; /* every slot busy: this face waits for a free one */
        struct track *tr = &t->tr[i];
        memset(tr, 0, sizeof *tr);
        tr->used = 1;
        tr->state = AC_TRACK_TENTATIVE;
        float z[4] = {d->x + d->w / 2, d->y + d->h / 2, d->w, d->h};
        float scale = fmaxf(d->w, d->h);
        for (int c = 0; c < 4; c++)
            kf_init(&tr->k[c], z[c], scale);
        tr->hits = 1;
        tr->frames = 1;
        tr->first_ns = tr->last_ns = now;
        tr->best_q = d->quality > 0 ? d->quality : 0;
        fuse(t, tr, now, d);
        if (t->s.confirm_hits <= 1) {
            tr->state = AC_TRACK_CONFIRMED;
            tr->id = t->next_id++;
            if (push(ev, max_ev, &nev, t, tr, AC_TEV_NEW))
                mark_published(tr, &ev[nev - 1], now);
        }
        if (ids)
            ids[j] = tr->id;
    }
    return nev;
}

int ac_tracker_flush(struct ac_tracker *t, struct ac_track_event *ev, int max_ev)
{
    int nev = 0;
    for (int i = 0; i < t->s.max_tracks; i++) {
        struct track *tr = &t->tr[i];
        if (!tr->used)
            continue;
        if (tr->state != AC_TRACK_TENTATIVE)
            push(ev, max_ev, &nev, t, tr, AC_TEV_END);
        tr->used = 0;
    }
    return nev;
}

int ac_tracker_snapshot(const struct ac_tracker *t, uint64_t id, struct ac_track_event *e)
{
    for (int i = 0; i < t->s.max_tracks; i++) {
        const struct track *tr = &t->tr[i];
        if (tr->used && tr->id == id && id) {
            fill_event(t, tr, AC_TEV_UPDATE, e);
            return 0;
        }
    }
    return -ENOENT;
}
