#include "align/ac_align.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>

/* Measured by train/det_template.py with the shipped detector
 * (train/checkpoints/det-best.pt) on the ~400 UTKFace training chips of --n 400: the median landmark
 * positions, averaged with their mirror image (the dlib alignment behind the
 * chips is left-right symmetric; mirroring also cancels the detector's own
 * horizontal landmark bias, about -9 px at this face size). */
const float AC_ALIGN_TEMPLATE[10] = {
    61.2f, 58.9f, 138.8f, 58.9f, 100.0f, 102.5f, 65.9f, 139.0f, 134.1f, 139.0f,
};

int ac_align_similarity(const float *src, const float *dst, int n, float m[4])
{
    if (n < 2)
        return -EINVAL;
    double sx = 0, sy = 0, dx = 0, dy = 0;
    for (int i = 0; i < n; i++) {
        sx += src[2 * i];
        sy += src[2 * i + 1];
        dx += dst[2 * i];
        dy += dst[2 * i + 1];
    }
    sx /= n;
    sy /= n;
    dx /= n;
    dy /= n;
    /* centred least squares: [a b] minimising sum |R(a,b) s_i - d_i|^2 */
    double ss = 0, num_a = 0, num_b = 0;
    for (int i = 0; i < n; i++) {
        double xs = src[2 * i] - sx, ys = src[2 * i + 1] - sy;
        double xd = dst[2 * i] - dx, yd = dst[2 * i + 1] - dy;
        ss += xs * xs + ys * ys;
        num_a += xs * xd + ys * yd;
        num_b += xs * yd - ys * xd;
    }
    if (!(ss > 1e-9))
        return -EINVAL;
    double a = num_a / ss, b = num_b / ss;
    m[0] = (float)a;
    m[1] = (float)b;
    m[2] = (float)(dx - (a * sx - b * sy));
    m[3] = (float)(dy - (b * sx + a * sy));
    return 0;
}

void ac_align_apply(const float m[4], float x, float y, float *ox, float *oy)
{
    *ox = m[0] * x - m[1] * y + m[2];
    *oy = m[1] * x + m[0] * y + m[3];
}

int ac_align_estimate(const float lm[10], int chip, float m[4])
{
    if (chip < 1)
        return -EINVAL;
    float t[10];
    for (int i = 0; i < 10; i++)
        t[i] = AC_ALIGN_TEMPLATE[i] * (float)chip / AC_ALIGN_FRAME;
    for (int i = 0; i < 10; i++)
        if (!isfinite(lm[i]))
            return -EINVAL;
    return ac_align_similarity(lm, t, 5, m);
}

static void sample(const uint8_t *rgb, int w, int h, int stride, float x, float y, float acc[3])
{
    /* pixel centres at integer + 0.5 */
    x -= 0.5f;
    y -= 0.5f;
    int x0 = (int)floorf(x), y0 = (int)floorf(y);
    float fx = x - x0, fy = y - y0;
    for (int j = 0; j < 2; j++) {
        int yy = y0 + j;
        float wy = j ? fy : 1 - fy;
        if (yy < 0 || yy >= h || wy == 0)
            continue;
        for (int i = 0; i < 2; i++) {
            int xx = x0 + i;
            float wgt = (i ? fx : 1 - fx) * wy;
            if (xx < 0 || xx >= w || wgt == 0)
                continue;
            const uint8_t *p = rgb + (size_t)yy * stride + 3 * xx;
            acc[0] += wgt * p[0];
            acc[1] += wgt * p[1];
            acc[2] += wgt * p[2];
        }
    }
}

int ac_align_warp(const uint8_t *rgb, int w, int h, int stride, const float m[4], uint8_t *out,
                  int chip)
{
    if (!rgb || !out || w < 1 || h < 1 || stride < 3 * w || chip < 1)
        return -EINVAL;
    double det = (double)m[0] * m[0] + (double)m[1] * m[1]; /* scale^2 of image -> chip */
    if (!(det > 1e-12) || !isfinite(det))
        return -EINVAL;
    /* inverse similarity: chip -> image */
    float ia = (float)(m[0] / det), ib = (float)(-m[1] / det);
    float itx = -(ia * m[2] - ib * m[3]), ity = -(ib * m[2] + ia * m[3]);
    float shrink = (float)(1.0 / sqrt(det)); /* image pixels per chip pixel */
    int ns = shrink > 1.0f ? (int)ceilf(shrink) : 1;
    if (ns > 8)
        ns = 8;
    float inv = 1.0f / (float)(ns * ns);
    for (int v = 0; v < chip; v++) {
        uint8_t *q = out + (size_t)v * 3 * chip;
        for (int u = 0; u < chip; u++) {
            float acc[3] = {0, 0, 0};
            for (int sj = 0; sj < ns; sj++) {
                float cy = v + (sj + 0.5f) / ns;
                for (int si = 0; si < ns; si++) {
                    float cx = u + (si + 0.5f) / ns;
                    sample(rgb, w, h, stride, ia * cx - ib * cy + itx, ib * cx + ia * cy + ity, acc);
                }
            }
            for (int c = 0; c < 3; c++) {
                float val = acc[c] * inv + 0.5f;
                q[3 * u + c] = (uint8_t)(val > 255.0f ? 255.0f : val);
            }
        }
    }
    return 0;
}

/* One axis of ac_align_warp_axis: for each chip pixel u, the image pixels
 * first[u] .. first[u] + n[u] - 1 (clipped to the image) and their weights,
 * the sum over the ns sub-samples of their bilinear weights. The sample
 * positions are computed exactly as ac_align_warp's. -ERANGE when a filter
 * would not fit AC_ALIGN_SEP_MAX_SPAN. */
static int axis_filter(int chip, int ns, float ia, float it, int limit, int *first, int *n,
                       float *wt)
{
    for (int u = 0; u < chip; u++) {
        float *wu = wt + (size_t)u * AC_ALIGN_SEP_MAX_SPAN;
        float xs[8], lo = INFINITY, hi = -INFINITY; /* ns <= 8 */
        for (int s = 0; s < ns; s++) {
            xs[s] = ia * (u + (s + 0.5f) / ns) + it - 0.5f;
            lo = fminf(lo, xs[s]);
            hi = fmaxf(hi, xs[s]);
        }
        if (!(lo > -1e8f && hi < 1e8f) || floorf(hi) - floorf(lo) + 2 > AC_ALIGN_SEP_MAX_SPAN)
            return -ERANGE;
        int c0 = (int)floorf(lo), c1 = (int)floorf(hi) + 1;
        c0 = c0 < 0 ? 0 : c0;
        c1 = c1 > limit - 1 ? limit - 1 : c1;
        first[u] = c0;
        n[u] = c1 >= c0 ? c1 - c0 + 1 : 0;
        for (int k = 0; k < n[u]; k++)
            wu[k] = 0.0f;
        for (int s = 0; s < ns; s++) {
            int x0 = (int)floorf(xs[s]);
            float fx = xs[s] - x0;
            if (x0 >= c0 && x0 <= c1)
                wu[x0 - c0] += 1 - fx;
            if (x0 + 1 >= c0 && x0 + 1 <= c1)
                wu[x0 + 1 - c0] += fx;
        }
    }
    return 0;
}

int ac_align_warp_axis(const uint8_t *rgb, int w, int h, int stride, const float m[4],
                       uint8_t *out, int chip)
{
    if (!rgb || !out || w < 1 || h < 1 || stride < 3 * w || chip < 1)
        return -EINVAL;
    double det = (double)m[0] * m[0];
    if (m[1] != 0.0f || chip > AC_ALIGN_SEP_MAX_CHIP || !(det > 1e-12) || !isfinite(det))
        return ac_align_warp(rgb, w, h, stride, m, out, chip);
    /* the inverse as ac_align_warp computes it, with its rotation term 0 */
    float ia = (float)(m[0] / det);
    float itx = -(ia * m[2]), ity = -(ia * m[3]);
    float shrink = (float)(1.0 / sqrt(det));
    int ns = shrink > 1.0f ? (int)ceilf(shrink) : 1;
    if (ns > 8)
        ns = 8;
    int fx[AC_ALIGN_SEP_MAX_CHIP], nx[AC_ALIGN_SEP_MAX_CHIP];
    int fy[AC_ALIGN_SEP_MAX_CHIP], ny[AC_ALIGN_SEP_MAX_CHIP];
    float wx[AC_ALIGN_SEP_MAX_CHIP * AC_ALIGN_SEP_MAX_SPAN];
    float wy[AC_ALIGN_SEP_MAX_CHIP * AC_ALIGN_SEP_MAX_SPAN];
    if (axis_filter(chip, ns, ia, itx, w, fx, nx, wx) || axis_filter(chip, ns, ia, ity, h, fy, ny, wy))
        return ac_align_warp(rgb, w, h, stride, m, out, chip);
    float inv = 1.0f / (float)(ns * ns);
    float acc[3 * AC_ALIGN_SEP_MAX_CHIP];
    for (int v = 0; v < chip; v++) {
        for (int i = 0; i < 3 * chip; i++)
            acc[i] = 0.0f;
        const float *wv = wy + (size_t)v * AC_ALIGN_SEP_MAX_SPAN;
        for (int k = 0; k < ny[v]; k++) {
            if (wv[k] == 0.0f)
                continue;
            const uint8_t *row = rgb + (size_t)(fy[v] + k) * stride;
            for (int u = 0; u < chip; u++) {
                const float *wu = wx + (size_t)u * AC_ALIGN_SEP_MAX_SPAN;
                const uint8_t *p = row + 3 * fx[u];
                float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f;
                for (int j = 0; j < nx[u]; j++) {
                    s0 += wu[j] * p[3 * j];
                    s1 += wu[j] * p[3 * j + 1];
                    s2 += wu[j] * p[3 * j + 2];
                }
                acc[3 * u] += wv[k] * s0;
                acc[3 * u + 1] += wv[k] * s1;
                acc[3 * u + 2] += wv[k] * s2;
            }
        }
        uint8_t *q = out + (size_t)v * 3 * chip;
        for (int i = 0; i < 3 * chip; i++) {
            float val = acc[i] * inv + 0.5f;
            q[i] = (uint8_t)(val > 255.0f ? 255.0f : val);
        }
    }
    return 0;
}
