/* Age estimator: face crop (RGB24, any size) in, age distribution out.
 *
 * The crop is resized as a whole to the model input with the training
 * preprocessing (antialiased float resize, no rounding, then the model's own
 * mean/scale), run through an SMLF-Net model, and the softmax is read as a
 * distribution over ages 0..N-1 (the last class meaning "N-1 or older").
 * With mirror on (the default, as in training validation) the
 * probabilities of the crop and of its left-right mirror are averaged.
 *
 * One estimator per thread. Several estimators may share one loaded model
 * (ac_age_create_shared). Estimating allocates nothing unless the crop size
 * differs from the last few sizes seen, which builds a new resize plan. */
#ifndef AC_AGE_H
#define AC_AGE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ac_nn.h"

#define AC_AGE_MAX_CLASSES 128
#define AC_AGE_TOP 3
#define AC_AGE_PLANS 4 /* crop sizes whose resize plans are kept */

struct ac_age_settings {
    const char *model_path;      /* for ac_age_create */
    enum ac_nn_backend backend;  /* AC_NN_FAST by default */
    int threads;                 /* per estimator; 1 */
    int mirror;                  /* average with the mirrored crop; 1 by default */
};

struct ac_age_result {
    int num_classes;
    float prob[AC_AGE_MAX_CLASSES]; /* sums to 1 */
    float age;                      /* expected value, sum prob[i] * i */
    float std;                      /* standard deviation of that distribution */
    int top[AC_AGE_TOP];            /* most probable classes, best first */
};

struct ac_age;

void ac_age_settings_default(struct ac_age_settings *s);
/* Loads s->model_path. 0 or -errno with a message in err. */
int ac_age_create(const struct ac_age_settings *s, struct ac_age **out, char *err, size_t errlen);
/* Uses a loaded model without owning it; it must outlive the estimator. */
int ac_age_create_shared(const struct ac_age_settings *s, const struct ac_nn_model *model,
                         struct ac_age **out, char *err, size_t errlen);
void ac_age_destroy(struct ac_age *est);

/* rgb: w x h packed RGB24 rows of stride bytes. Returns 0, -EINVAL for a
 * size the resize cannot take (empty, or more than 32x the model input),
 * -ENOMEM if a new resize plan cannot be built, or the runtime's error. */
int ac_age_estimate(struct ac_age *est, const uint8_t *rgb, int w, int h, int stride,
                    struct ac_age_result *r);

const struct ac_nn_model *ac_age_model(const struct ac_age *est);
/* The estimator's runtime context: tools hang a calibration observer on it. */
struct ac_nn_ctx *ac_age_nn_ctx(struct ac_age *est);
const struct ac_nn_info *ac_age_info(const struct ac_age *est);
size_t ac_age_arena_bytes(const struct ac_age *est); /* runtime arena + own buffers */
/* Resize plans built so far: lets tests see that plans are reused. */
unsigned ac_age_plan_builds(const struct ac_age *est);

/* Finds smlf-<variant>.acnn in $AGECAM_MODEL_DIR, then the installed data
 * folder (AGECAM_DATADIR at build time), then ./models. 0 with the path, or
 * -ENOENT with the places searched in err. */
int ac_age_find_model(const char *variant, char *path, size_t pathlen, char *err, size_t errlen);

/* Fills age, std and top from prob[0..num_classes-1]. */
void ac_age_summarize(struct ac_age_result *r);

#endif
