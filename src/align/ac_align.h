/* 5-point similarity alignment into the UTKFace chip frame.
 *
 * The age net was trained on UTKFace "aligned & cropped" 200x200 chips
 * (dlib alignment), each used whole. To give it the same input, a detected
 * face is warped so that its 5 landmarks land, in the least-squares sense,
 * on the mean landmark positions of UTKFace chips (AC_ALIGN_TEMPLATE,
 * measured by train/det_template.py with our detector). In that frame the
 * detector's face box is a little larger than the chip (chip/box ~0.93):
 * UTKFace's chips are tighter than the brief's "box expanded 1.2x"
 * (docs/DETECTOR.md, "Chip vs face box").
 *
 * The transform is a similarity (rotation, uniform scale, translation; no
 * reflection) fitted in closed form (Umeyama 1991, 2-D). The warp samples
 * bilinearly and averages an n x n grid per output pixel when shrinking, so
 * large faces do not alias; pixels outside the image are black, as in
 * dlib's chips. Plain scalar C, no allocation. */
#ifndef AC_ALIGN_H
#define AC_ALIGN_H

#include <stdint.h>

/* UTKFace chip frame side and mean landmarks in it (x, y for left eye,
 * right eye, nose, left mouth corner, right mouth corner). */
#define AC_ALIGN_FRAME 200
extern const float AC_ALIGN_TEMPLATE[10];

/* Chip side per detector box side, median over chips of the shipped
 * detector (docs/DETECTOR.md); for stand-ins that have a box but no
 * landmarks. */
#define AC_ALIGN_CHIP_PER_BOX 0.93f

/* Similarity mapping src points onto dst points (n >= 2):
 * x' = a x - b y + tx,  y' = b x + a y + ty;  m = {a, b, tx, ty}.
 * Returns 0, or -EINVAL when the source points coincide. */
int ac_align_similarity(const float *src, const float *dst, int n, float m[4]);

/* Applies m to (x, y). */
void ac_align_apply(const float m[4], float x, float y, float *ox, float *oy);

/* Landmarks (image pixels) -> transform from image to a chip of side
 * `chip` pixels (template scaled by chip / AC_ALIGN_FRAME). */
int ac_align_estimate(const float lm[10], int chip, float m[4]);

/* Warps the image into out (chip x chip RGB24, stride 3 * chip) through
 * m (image -> chip). 0 or -EINVAL for bad arguments or a degenerate m. */
int ac_align_warp(const uint8_t *rgb, int w, int h, int stride, const float m[4], uint8_t *out,
                  int chip);

/* The same warp for a transform without rotation (m[1] == 0: the face
 * verifier's crop), computed separably: the mean of ns x ns bilinear taps
 * is a column filter times a row filter: ~2.6x fewer multiply-adds for a
 * 120-px face into 32x32 (an estimate) and no floor or bounds check per
 * tap. Equal to ac_align_warp up to float rounding (a byte may differ by
 * one; test_align holds them to that). Falls back to
 * ac_align_warp where m rotates, the chip is over AC_ALIGN_SEP_MAX_CHIP or
 * the shrink is so large that a filter would span over AC_ALIGN_SEP_MAX_SPAN
 * pixels. */
#define AC_ALIGN_SEP_MAX_CHIP 64
#define AC_ALIGN_SEP_MAX_SPAN 64
int ac_align_warp_axis(const uint8_t *rgb, int w, int h, int stride, const float m[4],
                       uint8_t *out, int chip);

#endif
