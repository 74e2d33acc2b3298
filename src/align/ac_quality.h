/* Face quality filters run before the age net: size, pose (from the 5
 * landmarks) and blur (variance of the Laplacian). Each has its own
 * threshold; rejections are counted per reason.
 *
 * Measures:
 *  - size: max(w, h) of the detected box, image pixels.
 *  - pose: landmarks rotated so the eye line is horizontal and scaled so the
 *    inter-ocular distance is 1. roll = eye-line angle (degrees);
 *    yaw = horizontal offset of the nose from the eye midpoint (0 frontal,
 *    about +-0.5 in profile); pitch = vertical position of the nose between
 *    the eye line (0) and the mouth line (1), about 0.5 frontal. A mirrored
 *    landmark set (left/right swapped) shows as |roll| > 90.
 *  - blur: variance of the 4-neighbour Laplacian of the grey chip after a
 *    2x2 box reduction of the chip (so one threshold fits any chip size of
 *    the same frame; the reduction also damps JPEG noise). Computed on the
 *    aligned chip: a face upscaled from few pixels is as useless to the age
 *    net as an out-of-focus one, and this is what rejects it. */
#ifndef AC_QUALITY_H
#define AC_QUALITY_H

#include <stdint.h>

#include "detect/ac_detpost.h"

enum ac_quality_reason {
    AC_QUALITY_OK = 0,
    AC_QUALITY_SIZE,
    AC_QUALITY_POSE,
    AC_QUALITY_BLUR,
    AC_QUALITY_NREASONS
};

struct ac_quality_settings {
    float min_size;   /* px, default 32 */
    float max_roll;   /* degrees, default 35 */
    float max_yaw;    /* default 0.30 */
    float min_pitch;  /* default 0.20 */
    float max_pitch;  /* default 0.80 */
    float min_blur;   /* Laplacian variance, default 15 */
};

struct ac_quality_measures {
    float size, roll, yaw, pitch, blur;
};

struct ac_quality {
    struct ac_quality_settings set;
    unsigned long counts[AC_QUALITY_NREASONS]; /* [OK] passed, others rejected */
};

void ac_quality_defaults(struct ac_quality_settings *s);
void ac_quality_init(struct ac_quality *q, const struct ac_quality_settings *s);
const char *ac_quality_reason_name(enum ac_quality_reason r);

/* Pose from landmarks; -EINVAL if the eyes coincide. */
int ac_quality_pose(const float lm[10], float *roll, float *yaw, float *pitch);
/* Variance of the Laplacian (see above) of a chip x chip RGB24 image. */
float ac_quality_blur(const uint8_t *chip_rgb, int chip);

/* Cheap checks on the detection (size, pose): call before aligning. Fills
 * m->size/roll/yaw/pitch, counts a rejection, returns the reason. */
enum ac_quality_reason ac_quality_check_face(struct ac_quality *q, const struct ac_face *f,
                                             struct ac_quality_measures *m);
/* Blur check on the aligned chip; counts the result (pass or blur). */
enum ac_quality_reason ac_quality_check_chip(struct ac_quality *q, const uint8_t *chip_rgb,
                                             int chip, struct ac_quality_measures *m);

#endif
