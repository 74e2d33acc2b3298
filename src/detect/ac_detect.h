/* Face detector: RGB24 image -> faces with 5 landmarks, in image pixels.
 *
 * The image is letterboxed into the model's fixed input (models/det-WxH.acnn:
 * the input size is chosen by picking the file): scaled by
 * min(in_w / w, in_h / h) with the antialiased resize of src/common (the
 * filter training used), placed top-left, the rest filled with the
 * normalised mean. Buffers are allocated in ac_detect_create; a run
 * allocates nothing, except that a new image size builds a new resize plan
 * (once per camera stream). One detector per thread. */
#ifndef AC_DETECT_H
#define AC_DETECT_H

#include <stdint.h>

#include "detect/ac_detpost.h"
#include "nn/ac_nn.h"

struct ac_detect_settings {
    float score_thr;    /* keep faces with probability >= this (default 0.5) */
    float nms_thr;      /* IoU above which the lower-scored box is dropped (0.4) */
    float min_face;     /* drop faces whose max(w, h) is below this, image px (0: keep) */
    int max_faces;      /* faces returned at most (default 256) */
    int max_src_w, max_src_h; /* largest image accepted (default 1920x1080) */
    int threads;        /* inference threads for one pass (default 1; ac_nn_ctx_opts) */
    int flip;           /* 1: a second pass on the mirrored input, both passes' faces
                           merged by one NMS (~2x the time; default 0) */
    /* Optional face verifier (.acnn kind 3, src/detect/ac_verify.h; NULL:
     * none, the default). With one, a face's score is sqrt(p_detector *
     * p_verifier): the network keeps candidates down to score_thr^2 (none
     * below could pass), NMS runs on its scores, then each kept face is
     * verified, rescored and (if small, see refine_max) moved to the
     * verifier's refined box, and NMS runs again (max_faces bounds the
     * faces verified, best first). Must outlive the detector. */
    const struct ac_nn_model *verifier;
    /* The verifier moves all the way to its refined box only faces whose
     * longest side at the network's input is under this many pixels
     * (default 32; 0: none; the others: refine_large). Its refinement lifts
     * the faces the stride-8/16 anchors place coarsely and, on our
     * validation split, places larger faces no better than the network
     * does (models/README.md, "Face verifier"). */
    float refine_max;
    /* Faces at or over refine_max move this share of the way to the
     * refined box (0: stay where the network put them, 1: the refined box;
     * default 0.5). Neither estimate alone places large faces as well as
     * their mean does on our validation split (models/README.md, "Face
     * verifier", session 27). */
    float refine_large;
    /* 1 (default): each face is also verified on its mirrored crop and the
     * two probabilities and refinements averaged: twice the verifier's
     * network time, higher AP in every bucket on our validation split
     * (models/README.md, "Face verifier"). */
    int verify_mirror;
};

struct ac_detect;

void ac_detect_defaults(struct ac_detect_settings *s);

/* model must be a detector (.acnn kind 2) and outlive the detector.
 * err gets a reason on failure. */
int ac_detect_create(const struct ac_nn_model *model, const struct ac_detect_settings *s,
                     struct ac_detect **out, char *err, size_t errlen);
void ac_detect_destroy(struct ac_detect *d);

/* Detects faces; faces must hold settings.max_faces entries. Returns the
 * number of faces (sorted by score), -EINVAL for a bad image, -E2BIG when it
 * exceeds max_src_w x max_src_h, -ENOMEM if a new size's plan cannot be built. */
int ac_detect_run(struct ac_detect *d, const uint8_t *rgb, int w, int h, int stride,
                  struct ac_face *faces);

/* Finds det-<size>.acnn (size "320x240") in $AGECAM_MODEL_DIR, the
 * installed data folder, then ./models. 0, or -ENOENT with the places
 * searched in err. */
int ac_detect_find_model(const char *size, char *path, size_t pathlen, char *err, size_t errlen);

/* Model input size, for reporting. */
void ac_detect_input_size(const struct ac_detect *d, int *w, int *h);

#endif
