/* Separable antialiased bilinear (triangle) resize in float, the same filter
 * as train/preprocess.py: the network sees identical numbers in Python and C.
 * The filter tables are built once by ac_resize_plan_init for a fixed pair of
 * sizes; running a plan allocates nothing. */
#ifndef AC_RESIZE_H
#define AC_RESIZE_H

#include <stdint.h>

struct ac_resize_axis {
    int n_out;
    int *first;    /* first input index per output */
    int *count;    /* taps per output */
    float *w;      /* n_out * max_taps */
    int max_taps;
};

struct ac_resize_plan {
    int in_w, in_h, out_w, out_h;
    struct ac_resize_axis x, y;
    float *tmp; /* in_h * out_w * 3 */
};

int ac_resize_plan_init(struct ac_resize_plan *p, int in_w, int in_h, int out_w, int out_h);
void ac_resize_plan_uninit(struct ac_resize_plan *p);
/* rgb: packed RGB24 with stride bytes per row; out: out_h*out_w*3 floats
 * (HWC), each value then mapped as (v - mean[c]) * scale[c]. */
void ac_resize_run(struct ac_resize_plan *p, const uint8_t *rgb, int stride, float *out,
                   const float mean[3], const float scale[3]);

#endif
