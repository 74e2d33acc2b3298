/* Face verifier: a second, whole-box look at each detector candidate.
 *
 * The detector scores a large box from one feature cell whose receptive
 * field covers only part of it, so bodies, floors and the backs of heads
 * can score high (models/README.md, "Face verifier"). The verifier crops a
 * square of AC_VERIFY_CONTEXT x max(w, h) around the box centre, samples it
 * to the model's input side with the warp of src/align (bilinear, n x n
 * supersampling when shrinking, black outside the image) and returns the
 * probability that it holds a face, and (when the model has a second
 * output, "box") a refined box: the detector's large boxes are often off
 * by enough to miss IoU 0.5 with the face. ac_detect combines the two
 * probabilities as sqrt(p_detector * p_verifier). Twin:
 * train/det_verify.py (`crop`, `decode`).
 *
 * Buffers are allocated in ac_verify_create; a run allocates nothing. One
 * verifier per thread. */
#ifndef AC_VERIFY_H
#define AC_VERIFY_H

#include <stdint.h>

#include "detect/ac_detpost.h"
#include "nn/ac_nn.h"

#define AC_VERIFY_CONTEXT 1.5f
/* box output scale: centre offset in crop sides x [0], log size ratio x [1] */
#define AC_VERIFY_REG_CENTRE 10.0f
#define AC_VERIFY_REG_SIZE 5.0f

struct ac_verify;

/* model must be a verifier (.acnn kind 3: square RGB input; output 0 one
 * value, a probability; optional output 1 four box values) and outlive the
 * verifier. err gets a reason. */
int ac_verify_create(const struct ac_nn_model *model, int threads, struct ac_verify **out,
                     char *err, size_t errlen);
void ac_verify_destroy(struct ac_verify *v);

/* Image -> crop similarity {a, b = 0, tx, ty} (src/align/ac_align.h) for
 * face f and a crop of side pixels. -EINVAL for an empty box. */
int ac_verify_transform(const struct ac_face *f, int side, float m[4]);

/* Probability in [0, 1] that face f of the image is a face; refined (may
 * be NULL) gets f with the refined box when the model has one (else f as
 * it is; the landmarks are never changed). 0 or a negative code (-EINVAL:
 * bad image or box). */
int ac_verify_face(struct ac_verify *v, const uint8_t *rgb, int w, int h, int stride,
                   const struct ac_face *f, float *prob, struct ac_face *refined);

/* Mirror test-time averaging: each face also verified on its mirrored
 * crop, probability and refinement averaged (twice the network time). */
void ac_verify_set_mirror(struct ac_verify *v, int on);

/* Applies box output d to f (the inverse of det_verify.encode; the size
 * ratio is clamped to [1/2, 2]). */
void ac_verify_refine(const float d[4], struct ac_face *f);

/* The crop of the last ac_verify_face (side x side RGB24), for tests. */
const uint8_t *ac_verify_last_crop(const struct ac_verify *v, int *side);

/* Finds face-verify.acnn like ac_detect_find_model. */
int ac_verify_find_model(char *path, size_t pathlen, char *err, size_t errlen);

/* The verifier setting of the daemon and the CLIs: "none" (0), "auto"
 * (1 with face-verify.acnn's path where models are found, else 0), or a
 * path (1 with it; the caller's load reports a bad one). */
int ac_verify_setting_path(const char *setting, char *path, size_t pathlen);

#endif
