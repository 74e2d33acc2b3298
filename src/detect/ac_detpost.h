/* Detector post-processing: anchor layout, max-in-out scoring, box and
 * landmark decoding, non-maximum suppression. Pure functions over caller
 * buffers (no allocation), shared by ac_detect and the unit tests.
 *
 * Head tensor layout per pyramid level (NHWC, cell-major, see
 * train/det_model.py): for each cell, the class logits of every anchor
 * (the level's max-in-out anchor has maxout_bg background logits then one
 * face logit, the others [background, face]), then 4 box deltas per anchor,
 * then 10 landmark deltas per anchor. */
#ifndef AC_DETPOST_H
#define AC_DETPOST_H

#include <stddef.h>

#define AC_DET_MAX_LEVELS 6
#define AC_DET_MAX_ANCHORS 4 /* per cell */

struct ac_det_level {
    int stride;
    int n_anchors;
    float sizes[AC_DET_MAX_ANCHORS];
};

struct ac_det_layout {
    int n_levels;
    struct ac_det_level level[AC_DET_MAX_LEVELS];
    int maxout_bg;      /* background logits of level 0, anchor 0 (1 = no max-in-out) */
    float variance[2];  /* centre/landmark and size encoding variances */
};

struct ac_face {
    float x0, y0, x1, y1; /* box corners, pixels */
    float score;          /* face probability 0..1 */
    float lm[10];         /* left eye, right eye, nose, left mouth, right mouth (x, y) */
};

/* Parses META values: levels "8:16,32;16:64,128;32:256", maxout "3",
 * variance "0.1,0.2". Returns 0 or -EINVAL. */
int ac_detpost_parse_layout(const char *levels, const char *maxout, const char *variance,
                            struct ac_det_layout *out);

/* Channels the head of level li must have. */
int ac_detpost_head_channels(const struct ac_det_layout *l, int li);

/* Face probability from the class logits of one anchor: softmax of
 * [max(background logits), face logit]. */
float ac_detpost_score(const float *logits, int n_logits);

/* Decodes every anchor of one level whose score >= score_thr into out
 * (up to max_out; returns the number written, or -E2BIG when out filled up
 * before the level ended: the caller's buffer is too small). Coordinates
 * are in detector-input pixels. */
int ac_detpost_decode_level(const struct ac_det_layout *l, int li, const float *head, int fh,
                            int fw, float score_thr, struct ac_face *out, int max_out);

/* Maps a face found in the horizontally mirrored input (width in_w) back
 * to the unmirrored one: x -> in_w - x, with the left and right eyes and
 * mouth corners exchanged so that "left" keeps its meaning. */
void ac_detpost_unmirror(struct ac_face *f, float in_w);

/* Moves f's box back toward from's: each side ends at from + k (f - from)
 * (k = 1 leaves f as it is, 0 gives from's box); score and landmarks stay. */
void ac_detpost_blend_box(struct ac_face *f, const struct ac_face *from, float k);

float ac_detpost_iou(const struct ac_face *a, const struct ac_face *b);

/* Sorts faces by descending score (stable for ties by index) and keeps the
 * greedy NMS survivors (IoU > iou_thr suppresses), at most max_keep.
 * In place; returns the count kept. */
int ac_detpost_nms(struct ac_face *faces, int n, float iou_thr, int max_keep);

#endif
