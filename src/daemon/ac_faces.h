/* The pipeline's face steps, between the generic modules and the threads:
 * finding faces in a frame (src/detect), judging a face's quality from its
 * box, landmarks and aligned chip, and making that chip (src/align) for the
 * age net. */
#ifndef AC_FACES_H
#define AC_FACES_H

#include <stddef.h>
#include <stdint.h>

#include "align/ac_quality.h"
#include "daemon/ac_config.h"

#define AC_PIPE_MAX_FACES 16
#define AC_CHIP_SIDE 200 /* the UTKFace chip frame the age net was trained on */

struct ac_pface {
    float x, y, w, h;
    float score;
    float lm[10]; /* left eye, right eye, nose, left mouth, right mouth */
};

struct ac_facedet;

/* Loads the detector model (detect.model or the first det-*.acnn found).
 * With detect.backend = none nothing is loaded and every frame has no face;
 * with replay, detect.model is a text file of boxes, one face per line
 * "frame x y w h" (frame = the source's frame number, modulo the largest
 * number + 1 so looped sources repeat), landmarks placed where the
 * alignment template expects them for that box. */
int ac_facedet_create(const struct ac_config *c, struct ac_facedet **out, char *err, size_t errlen);
void ac_facedet_destroy(struct ac_facedet *d);
/* Faces (best first, at most max) or -errno. No allocation. */
int ac_facedet_run(struct ac_facedet *d, uint64_t frame, const uint8_t *rgb, int w, int h,
                   int stride, struct ac_pface *out, int max);
const char *ac_facedet_model_path(const struct ac_facedet *d);

/* Quality gates (src/align's filters, thresholds from [align]) and the
 * weight a face's age distribution gets in the track's fusion. One per
 * worker thread (it counts rejections per reason). */
struct ac_facegate {
    struct ac_quality q;
};

void ac_facegate_init(struct ac_facegate *g, const struct ac_config *c);
/* Before alignment: size and pose. 1 = go on, 0 = rejected. */
int ac_facegate_face(struct ac_facegate *g, const struct ac_pface *f, struct ac_quality_measures *m);
/* After alignment: blur. Returns the fusion weight in (0, 1], or 0 when
 * rejected: detector score x size (full from 112 px, the largest age-net
 * input) x frontality x sharpness, each factor 1 for an ideal face. */
float ac_facegate_chip(struct ac_facegate *g, const struct ac_pface *f, const uint8_t *chip,
                       struct ac_quality_measures *m);

/* Warps the face into chip (AC_CHIP_SIDE^2 * 3 bytes). 0 or -EINVAL. */
int ac_face_chip(const uint8_t *rgb, int w, int h, int stride, const struct ac_pface *f,
                 uint8_t *chip);

/* Finds a model file: the configured path, else `pattern` (glob) in
 * $AGECAM_MODEL_DIR, the installed data folder, ./models. */
int ac_find_model_glob(const char *pattern, char *path, size_t len, char *err, size_t errlen);

#endif
