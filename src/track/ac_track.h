/* Face tracker with per-track age fusion.
 *
 * Matching: every track carries a constant-velocity Kalman filter on its box
 * centre and size (four independent position/velocity filters, which is the
 * full filter when the noises are independent per coordinate). A detection
 * can match a track only inside the track's gate (squared Mahalanobis
 * distance of the box over the predicted covariance, chi-square 99.9 %), so
 * a stray box of another size or off the predicted path cannot capture it.
 * Within the gates, pairs are taken greedily, best first: tracks that have
 * an identity before tentative ones, then by IoU, then (fast motion, no
 * overlap) by distance. An unmatched detection starts a tentative track if
 * its score reaches new_score; weaker ones only extend existing tracks (the
 * ByteTrack rule): a face keeps its track through a frame where the detector
 * doubts it, while a face-like patch that flickers around the detector's
 * threshold (a logo, a poster) never gets counted as a visitor.
 *
 * Lifecycle: TENTATIVE (not announced) -> CONFIRMED after confirm_hits
 * detections -> LOST while unmatched (still predicted, matchable again) ->
 * ENDED after max_missed detector runs without a match. A tentative track that
 * misses once is dropped silently. Frames on which the detector did not run
 * only advance the prediction.
 *
 * Age fusion: a quality-weighted running mean of the per-frame age
 * distributions with exponential forgetting (time constant fusion_tau):
 *   S <- exp(-dt/tau) S + q;   P <- P + (q/S)(p - P)
 * A still face therefore settles on a steady distribution whose mean is the
 * track age, whose spread (std, and the range_low/high percentiles) keeps
 * the frame-to-frame disagreement honestly, and good crops count more than
 * blurred or turned ones. Events: NEW on confirmation (with the estimate so
 * far), UPDATE when the age or a range end moves materially from the last
 * published values, END with the final estimate.
 *
 * No allocation after create; not thread-safe (one tracker thread). */
#ifndef AC_TRACK_H
#define AC_TRACK_H

#include <stdint.h>

/* Age classes are ages 0..n-1, the last meaning that age or older: 66 for
 * the paper's head (65+), more for a wider head; up to this many. */
#define AC_TRACK_MAX_CLASSES 128

struct ac_track_settings {
    float iou_threshold;  /* least IoU for a match */
    int confirm_hits;
    float new_score;      /* least detection score that starts a track */
    int max_missed;       /* detector runs without a match before END */
    int max_tracks;
    float fusion_tau;     /* seconds */
    float update_years;   /* UPDATE when |age - published| exceeds this */
    float range_years;    /* ... or a range end moved by more than this */
    float update_interval; /* seconds: at most one UPDATE per track this often */
    float range_low, range_high; /* percentiles (0..1) of the fused distribution */
    int num_classes;      /* length of every ac_det.prob (the age model's) */
};

void ac_track_settings_default(struct ac_track_settings *s);

/* One detection of a frame. prob may be NULL: no age for this face (too poor,
 * or the age stage skipped it); it still feeds the matching. */
struct ac_det {
    float x, y, w, h;
    float score;
    float quality;        /* 0..1, weight of its age distribution */
    const float *prob;    /* num_classes probabilities or NULL */
};

enum ac_track_state { AC_TRACK_TENTATIVE = 0, AC_TRACK_CONFIRMED, AC_TRACK_LOST, AC_TRACK_ENDED };
enum ac_track_event_kind { AC_TEV_NEW = 1, AC_TEV_UPDATE = 2, AC_TEV_END = 3 };

struct ac_track_event {
    int kind;
    uint64_t id;
    float x, y, w, h;     /* current (filtered) box */
    int age_valid;        /* any age observation so far */
    float age, std, low, high;
    float quality;        /* best quality seen */
    uint32_t frames;      /* detections matched */
    int64_t first_seen_ns, last_seen_ns; /* the caller's clock (frame timestamps) */
};

struct ac_tracker;

int ac_tracker_create(const struct ac_track_settings *s, struct ac_tracker **out);
void ac_tracker_destroy(struct ac_tracker *t);
/* Track ids continue from here (ids stay unique across a tracker rebuild). */
void ac_tracker_set_next_id(struct ac_tracker *t, uint64_t id);
uint64_t ac_tracker_next_id(const struct ac_tracker *t);

/* Most events one update can produce: every track ends and every detection's
 * track is confirmed at once. */
int ac_tracker_max_events(const struct ac_tracker *t);

/* Advances to time t_ns. detected = 1 when the detector ran on this frame
 * (dets may then be empty: nobody there), 0 for a prediction-only frame.
 * ids (may be NULL) receives each detection's track id, 0 if none (more
 * detections than free track slots). Writes up to max_ev events and returns
 * how many, or -EINVAL (time going backwards, bad box). */
int ac_tracker_update(struct ac_tracker *t, int64_t t_ns, const struct ac_det *dets, int n,
                      int detected, uint64_t *ids, struct ac_track_event *ev, int max_ev);

/* Ends every live track (shutdown): END events for confirmed/lost ones. */
int ac_tracker_flush(struct ac_tracker *t, struct ac_track_event *ev, int max_ev);

/* Current state of announced track id (kind = AC_TEV_UPDATE): 0 or -ENOENT. */
int ac_tracker_snapshot(const struct ac_tracker *t, uint64_t id, struct ac_track_event *e);

/* Tracks that are confirmed or lost (announced and not yet ended). */
int ac_tracker_live(const struct ac_tracker *t);

/* Mean, standard deviation and percentiles of a distribution over ages
 * 0..n-1 (percentiles interpolated linearly inside an age bin), the
 * percentile range widened to include the mean. */
void ac_track_dist_summary(const float *p, int n, float lo_q, float hi_q, float *mean, float *std,
                           float *lo, float *hi);

#endif
