/* Scalar reference kernels: the plainest correct loop for every op. The fast
 * kernels are tested against these, so clarity beats speed here. */
#include <float.h>
#include <string.h>

#include "nn/ac_nn_internal.h"

static void conv(const struct ac_nn_op *op, const float *x, float *y)
{
    const struct ac_nn_shape X = op->x, Y = op->y;
    int cig = X.c / op->groups, cog = Y.c / op->groups;
    for (int oy = 0; oy < Y.h; oy++)
        for (int ox = 0; ox < Y.w; ox++)
            for (int o = 0; o < Y.c; o++) {
                int g = o / cog;
                const float *w = op->w + (size_t)o * op->kh * op->kw * cig;
                float acc = op->b ? op->b[o] : 0.f;
                for (int ky = 0; ky < op->kh; ky++) {
                    int iy = oy * op->sh - op->ph + ky;
                    if (iy < 0 || iy >= X.h)
                        continue;
                    for (int kx = 0; kx < op->kw; kx++) {
                        int ix = ox * op->sw - op->pw + kx;
                        if (ix < 0 || ix >= X.w)
                            continue;
                        const float *xp = x + ((size_t)iy * X.w + ix) * X.c + (size_t)g * cig;
                        const float *wp = w + ((size_t)ky * op->kw + kx) * cig;
                        for (int i = 0; i < cig; i++)
                            acc += xp[i] * wp[i];
                    }
                }
                y[((size_t)oy * Y.w + ox) * Y.c + o] = ac_nn_act1(acc, op->act, op->alpha);
            }
}

static void fc(const struct ac_nn_op *op, const float *x, float *y)
{
    size_t k = (size_t)op->x.h * op->x.w * op->x.c;
    for (int o = 0; o < op->out_c; o++) {
        float acc = op->b ? op->b[o] : 0.f;
        for (size_t i = 0; i < k; i++)
            acc += op->w[o * k + i] * x[i];
        y[o] = ac_nn_act1(acc, op->act, op->alpha);
    }
}

static void se(const struct ac_nn_op *op, const float *x, float *y, float *scratch)
{
    int c = op->x.c, mid = op->out_c;
    size_t hw = (size_t)op->x.h * op->x.w;
    const float *w1 = op->w, *b1 = w1 + (size_t)mid * c, *w2 = b1 + mid, *b2 = w2 + (size_t)c * mid;
    float *s = scratch, *h = scratch + c;
    for (int i = 0; i < c; i++)
        s[i] = 0.f;
    for (size_t p = 0; p < hw; p++)
        for (int i = 0; i < c; i++)
            s[i] += x[p * c + i];
    for (int i = 0; i < c; i++)
        s[i] /= (float)hw;
    for (int j = 0; j < mid; j++) {
        float acc = b1[j];
        for (int i = 0; i < c; i++)
            acc += w1[(size_t)j * c + i] * s[i];
        h[j] = acc > 0.f ? acc : 0.f;
    }
    for (int i = 0; i < c; i++) {
        float acc = b2[i];
        for (int j = 0; j < mid; j++)
            acc += w2[(size_t)i * mid + j] * h[j];
        s[i] = 1.f / (1.f + expf(-acc));
    }
    for (size_t p = 0; p < hw; p++)
        for (int i = 0; i < c; i++)
            y[p * c + i] = ac_nn_act1(x[p * c + i] * s[i], op->act, op->alpha);
}

static void gap(const struct ac_nn_op *op, const float *x, float *y)
{
    int c = op->x.c;
    size_t hw = (size_t)op->x.h * op->x.w;
    for (int i = 0; i < c; i++) {
        float acc = 0.f;
        for (size_t p = 0; p < hw; p++)
            acc += x[p * c + i];
        y[i] = ac_nn_act1(acc / (float)hw, op->act, op->alpha);
    }
}

static void concat(const struct ac_nn_op *op, const float *a, const float *b, float *y)
{
    int ca = op->x.c, cb = op->x1.c;
    size_t hw = (size_t)op->x.h * op->x.w;
    for (size_t p = 0; p < hw; p++) {
        for (int i = 0; i < ca; i++)
            y[p * (ca + cb) + i] = ac_nn_act1(a[p * ca + i], op->act, op->alpha);
        for (int i = 0; i < cb; i++)
            y[p * (ca + cb) + ca + i] = ac_nn_act1(b[p * cb + i], op->act, op->alpha);
    }
}

static void upsample(const struct ac_nn_op *op, const float *x, float *y)
{
    const struct ac_nn_shape X = op->x, Y = op->y;
    for (int oy = 0; oy < Y.h; oy++) {
        int iy = (int)((long long)oy * X.h / Y.h);
        for (int ox = 0; ox < Y.w; ox++) {
            int ix = (int)((long long)ox * X.w / Y.w);
            for (int i = 0; i < Y.c; i++)
                y[((size_t)oy * Y.w + ox) * Y.c + i] =
                    ac_nn_act1(x[((size_t)iy * X.w + ix) * X.c + i], op->act, op->alpha);
        }
    }
}

static void softmax(const struct ac_nn_op *op, const float *x, float *y)
{
    int c = op->x.c;
    size_t hw = (size_t)op->x.h * op->x.w;
    for (size_t p = 0; p < hw; p++) {
        const float *xp = x + p * c;
        float *yp = y + p * c, mx = xp[0], sum = 0.f;
        for (int i = 1; i < c; i++)
            mx = xp[i] > mx ? xp[i] : mx;
        for (int i = 0; i < c; i++)
            sum += yp[i] = expf(xp[i] - mx);
        for (int i = 0; i < c; i++)
            yp[i] /= sum;
    }
}

static void maxpool(const struct ac_nn_op *op, const float *x, float *y)
{
    const struct ac_nn_shape X = op->x, Y = op->y;
    for (int oy = 0; oy < Y.h; oy++)
        for (int ox = 0; ox < Y.w; ox++)
            for (int i = 0; i < Y.c; i++) {
                float mx = -FLT_MAX;
                for (int ky = 0; ky < op->kh; ky++) {
                    int iy = oy * op->sh - op->ph + ky;
                    for (int kx = 0; kx < op->kw; kx++) {
                        int ix = ox * op->sw - op->pw + kx;
                        if (iy < 0 || iy >= X.h || ix < 0 || ix >= X.w)
                            continue;
                        float v = x[((size_t)iy * X.w + ix) * X.c + i];
                        mx = v > mx ? v : mx;
                    }
                }
                y[((size_t)oy * Y.w + ox) * Y.c + i] = mx;
            }
}

void ac_nn_scalar_op(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                     float *scratch)
{
    size_t n = (size_t)op->y.h * op->y.w * op->y.c;
    switch (op->type) {
    case AC_OP_CONV:
        if (op->q8w)
            ac_nn_q8_conv_scalar(op, x, y, scratch);
        else
            conv(op, x, y);
        break;
    case AC_OP_FC: fc(op, x, y); break;
    case AC_OP_ADD:
        for (size_t i = 0; i < n; i++)
            y[i] = ac_nn_act1(x[i] + x1[i], op->act, op->alpha);
        break;
    case AC_OP_SE: se(op, x, y, scratch); break;
    case AC_OP_GAP: gap(op, x, y); break;
    case AC_OP_CONCAT: concat(op, x, x1, y); break;
    case AC_OP_UPSAMPLE: upsample(op, x, y); break;
    case AC_OP_SOFTMAX: softmax(op, x, y); break;
    case AC_OP_ACT:
        for (size_t i = 0; i < n; i++)
            y[i] = ac_nn_act1(x[i], op->act, op->alpha);
        break;
    case AC_OP_MAXPOOL: maxpool(op, x, y); break;
    default: break;
    }
}
