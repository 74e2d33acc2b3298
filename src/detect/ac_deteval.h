/* Detector evaluation: WIDER-style labels file and average precision per
 * face-size bucket (same rules as train/det_eval.py).
 *
 * Labels: "# <relpath> <width> <height>" then one line per face
 * "x y w h [lx1 ly1 ... lx5 ly5]" in image pixels.
 *
 * AP (IoU 0.5, COCO-style size ranges): for the bucket [lo, hi) of face size
 * max(w, h), ground truth outside the bucket is ignored. Detections, in score
 * order, match the unmatched in-bucket face of highest IoU >= 0.5 (true
 * positive); else any out-of-bucket face with IoU >= 0.5 (ignored); else
 * they are false positives only if their own max(w, h) is in the bucket. AP
 * is the area under the all-point interpolated precision/recall curve. */
#ifndef AC_DETEVAL_H
#define AC_DETEVAL_H

#include <stddef.h>

#include "detect/ac_detpost.h"

struct ac_deteval_image {
    char *path; /* relative path as written in the labels file */
    int w, h;
    int n;       /* faces */
    float *box;  /* n * 4: x, y, w, h */
};

struct ac_deteval_labels {
    int n;
    struct ac_deteval_image *img;
};

/* 0, -ENOENT/-EIO, or -EINVAL with "file:line: reason" in err. */
int ac_deteval_labels_load(const char *path, struct ac_deteval_labels *out, char *err,
                           size_t errlen);
void ac_deteval_labels_free(struct ac_deteval_labels *l);

#define AC_DETEVAL_BUCKETS 3

struct ac_deteval_rec {
    float score;
    int tp;
    int seq; /* insertion order: ties in score keep it, as Python's stable sort */
};

struct ac_deteval_bucket {
    float lo, hi;
    const char *name;
    int npos;
    int n, cap;
    struct ac_deteval_rec *rec;
};

struct ac_deteval {
    struct ac_deteval_bucket b[AC_DETEVAL_BUCKETS];
    unsigned char *used; /* per ground truth, scratch */
    int used_cap;
};

void ac_deteval_init(struct ac_deteval *e); /* buckets >=64, 32-64, 16-32 */
void ac_deteval_free(struct ac_deteval *e);
/* One image: detections (any order) against its ground truth. 0 or -ENOMEM. */
int ac_deteval_add(struct ac_deteval *e, const struct ac_face *det, int n_det,
                   const struct ac_deteval_image *gt);
/* AP of bucket i; NAN when it has no ground truth. */
double ac_deteval_ap(const struct ac_deteval *e, int i);

#endif
