#include "common/ac_resize.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void axis_free(struct ac_resize_axis *a)
{
    free(a->first);
    free(a->count);
    free(a->w);
    memset(a, 0, sizeof *a);
}

static int axis_init(struct ac_resize_axis *a, int n_in, int n_out)
{
    double scale = (double)n_in / n_out;
    double support = scale > 1.0 ? scale : 1.0;
    a->n_out = n_out;
    a->max_taps = (int)ceil(support) * 2 + 2;
    a->first = calloc((size_t)n_out, sizeof *a->first);
    a->count = calloc((size_t)n_out, sizeof *a->count);
    a->w = calloc((size_t)n_out * a->max_taps, sizeof *a->w);
    if (!a->first || !a->count || !a->w)
        return -ENOMEM;
    double tw[64 + 8];
    for (int o = 0; o < n_out; o++) {
        double center = (o + 0.5) * scale;
        int lo = (int)floor(center - support);
        int hi = (int)ceil(center + support);
        if (lo < 0)
            lo = 0;
        if (hi > n_in)
            hi = n_in;
        double sum = 0;
        int n = 0;
        for (int i = lo; i < hi && n < a->max_taps; i++) {
            double t = 1.0 - fabs((i + 0.5 - center) / support);
            tw[n++] = t > 0 ? t : 0;
            sum += t > 0 ? t : 0;
        }
        a->first[o] = lo;
        a->count[o] = n;
        for (int k = 0; k < n; k++)
            a->w[(size_t)o * a->max_taps + k] = (float)(sum > 0 ? tw[k] / sum : 0);
    }
    return 0;
}

int ac_resize_plan_init(struct ac_resize_plan *p, int in_w, int in_h, int out_w, int out_h)
{
    memset(p, 0, sizeof *p);
    /* the tap buffer above bounds the downscale factor at 32 */
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0 || in_w > 32 * out_w ||
        in_h > 32 * out_h || in_w > 16384 || in_h > 16384)
        return -EINVAL;
    p->in_w = in_w;
    p->in_h = in_h;
    p->out_w = out_w;
    p->out_h = out_h;
    int rc = axis_init(&p->x, in_w, out_w);
    if (!rc)
        rc = axis_init(&p->y, in_h, out_h);
    if (!rc && !(p->tmp = malloc((size_t)in_h * out_w * 3 * sizeof(float))))
        rc = -ENOMEM;
    if (rc)
        ac_resize_plan_uninit(p);
    return rc;
}

void ac_resize_plan_uninit(struct ac_resize_plan *p)
{
    axis_free(&p->x);
    axis_free(&p->y);
    free(p->tmp);
    p->tmp = NULL;
}

void ac_resize_run(struct ac_resize_plan *p, const uint8_t *rgb, int stride, float *out,
                   const float mean[3], const float scale[3])
{
    const struct ac_resize_axis *ax = &p->x, *ay = &p->y;
    for (int y = 0; y < p->in_h; y++) {
        const uint8_t *row = rgb + (size_t)y * stride;
        float *t = p->tmp + (size_t)y * p->out_w * 3;
        for (int o = 0; o < p->out_w; o++) {
            const float *w = ax->w + (size_t)o * ax->max_taps;
            const uint8_t *s = row + (size_t)ax->first[o] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < ax->count[o]; k++) {
                r += w[k] * s[3 * k];
                g += w[k] * s[3 * k + 1];
                b += w[k] * s[3 * k + 2];
            }
            t[3 * o] = r;
            t[3 * o + 1] = g;
            t[3 * o + 2] = b;
        }
    }
    size_t rowlen = (size_t)p->out_w * 3;
    for (int o = 0; o < p->out_h; o++) {
        const float *w = ay->w + (size_t)o * ay->max_taps;
        float *d = out + (size_t)o * rowlen;
        for (size_t i = 0; i < rowlen; i++)
            d[i] = 0;
        for (int k = 0; k < ay->count[o]; k++) {
            const float *s = p->tmp + (size_t)(ay->first[o] + k) * rowlen;
            float wk = w[k];
            for (size_t i = 0; i < rowlen; i++)
                d[i] += wk * s[i];
        }
        for (size_t i = 0; i < rowlen; i++)
            d[i] = (d[i] - mean[i % 3]) * scale[i % 3];
    }
}
