/* Fast kernels for CONV (1x1 GEMM, depthwise, general direct) and FC, over
 * the packed layouts of ac_nn_pack.c, plus SE and ADD. Written with GCC/Clang vector types
 * so one source serves SSE, AVX2/FMA and NEON: meson compiles this file a
 * second time with -mavx2 -mfma and AC_NN_FAST_FN=ac_nn_fast_op_avx2, and
 * ac_nn.c picks that copy only when the CPU has AVX2 and FMA.
 * Every kernel has its scalar twin in ac_nn_scalar.c; tests hold them equal. */
#include <string.h>

#include "nn/ac_nn_internal.h"

#ifndef AC_NN_FAST_FN
#define AC_NN_FAST_FN ac_nn_fast_op
#endif

typedef float v8f __attribute__((vector_size(32)));

static inline v8f ld(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void st(float *p, v8f v)
{
    memcpy(p, &v, sizeof(v));
}

static inline void act_n(float *restrict y, int n, int act, float alpha)
{
    switch (act) {
    case AC_ACT_RELU:
        for (int i = 0; i < n; i++)
            y[i] = y[i] > 0.f ? y[i] : 0.f;
        break;
    case AC_ACT_LEAKY:
        for (int i = 0; i < n; i++)
            y[i] = y[i] > 0.f ? y[i] : y[i] * alpha;
        break;
    case AC_ACT_SIGMOID:
        for (int i = 0; i < n; i++)
            y[i] = 1.f / (1.f + expf(-y[i]));
        break;
    default: break;
    }
}

typedef int32_t v8i __attribute__((vector_size(32)));

/* ReLU / leaky on a whole vector (lane select through compare masks, as C
 * has no vector ?:); sigmoid is left to act_n. */
static inline v8f act_v(v8f v, int act, float alpha)
{
    if (act != AC_ACT_RELU && act != AC_ACT_LEAKY)
        return v;
    v8i pos = v > 0.f;
    v8f neg = act == AC_ACT_LEAKY ? v * alpha : (v8f){0};
    return (v8f)(((v8i)v & pos) | ((v8i)neg & ~pos));
}

/* Stores one block of OB accumulators (n valid) with the activation. */
static inline void store16(float *restrict y, v8f a0, v8f a1, int n, int act, float alpha)
{
    if (n == AC_NN_OB && act != AC_ACT_SIGMOID) {
        st(y, act_v(a0, act, alpha));
        st(y + 8, act_v(a1, act, alpha));
        return;
    }
    float t[AC_NN_OB];
    st(t, a0);
    st(t + 8, a1);
    act_n(t, AC_NN_OB, act, alpha);
    memcpy(y, t, (size_t)n * sizeof(float));
}

struct gemm_args {
    const float *x; /* first input value of the group, row stride xs */
    size_t xs;
    float *y;       /* first output of the block, row stride ys */
    size_t ys;
    const float *w; /* [k][OB] */
    const float *b; /* [OB] */
    int k, n, act;
    float alpha;
};

/* y[p][0..n) = x[p][0..k) . w for p in [0, rows): R rows at a time keep 2R
 * independent FMA chains in flight (R = 6: 12 accumulators + 2 weight
 * vectors + 1 broadcast fit AVX2's 16 registers). */
#define GEMM_R 6
static inline __attribute__((always_inline)) void gemm_block(const struct gemm_args *a, int p,
                                                             int R)
{
    v8f c0[GEMM_R], c1[GEMM_R];
    const float *xr[GEMM_R];
    for (int r = 0; r < R; r++) {
        c0[r] = ld(a->b);
        c1[r] = ld(a->b + 8);
        xr[r] = a->x + (size_t)(p + r) * a->xs;
    }
    const float *w = a->w;
    for (int i = 0; i < a->k; i++, w += AC_NN_OB) {
        v8f w0 = ld(w), w1 = ld(w + 8);
        for (int r = 0; r < R; r++) {
            c0[r] += xr[r][i] * w0;
            c1[r] += xr[r][i] * w1;
        }
    }
    for (int r = 0; r < R; r++)
        store16(a->y + (size_t)(p + r) * a->ys, c0[r], c1[r], a->n, a->act, a->alpha);
}

static void gemm_rows(const struct gemm_args *a, int rows)
{
    int p = 0;
    for (; p + GEMM_R <= rows; p += GEMM_R)
        gemm_block(a, p, GEMM_R);
    for (; p < rows; p++)
        gemm_block(a, p, 1);
}

static int nblocks(int og)
{
    return (og + AC_NN_OB - 1) / AC_NN_OB;
}

/* 1x1, stride 1, no padding: the NHWC image is a [pixels][c] matrix. */
static void conv1x1(const struct ac_nn_op *op, const float *x, float *y, int part, int nparts)
{
    int g = op->groups, cig = op->x.c / g, og = op->out_c / g, nob = nblocks(og);
    int all = op->y.h * op->y.w;
    int r0 = (int)((long long)all * part / nparts), rows = (int)((long long)all * (part + 1) / nparts);
    const float *bias = op->packed + (size_t)g * nob * cig * AC_NN_OB;
    for (int gi = 0; gi < g; gi++)
        for (int b = 0; b < nob; b++) {
            int n = og - b * AC_NN_OB < AC_NN_OB ? og - b * AC_NN_OB : AC_NN_OB;
            struct gemm_args a = {
                .x = x + (size_t)gi * cig, .xs = (size_t)op->x.c,
                .y = y + (size_t)gi * og + (size_t)b * AC_NN_OB, .ys = (size_t)op->out_c,
                .w = op->packed + (size_t)(gi * nob + b) * cig * AC_NN_OB,
                .b = bias + (size_t)(gi * nob + b) * AC_NN_OB,
                .k = cig, .n = n, .act = op->act, .alpha = op->alpha};
            /* row blocks of 60 keep the touched input rows in L1 */
            for (int r = r0; r < rows; r += 60) {
                struct gemm_args s = a;
                s.x += (size_t)r * s.xs;
                s.y += (size_t)r * s.ys;
                gemm_rows(&s, rows - r < 60 ? rows - r : 60);
            }
        }
}

static void fc(const struct ac_nn_op *op, const float *x, float *y)
{
    int k = op->x.h * op->x.w * op->x.c, nob = nblocks(op->out_c);
    const float *bias = op->packed + (size_t)nob * k * AC_NN_OB;
    for (int b = 0; b < nob; b++) {
        int n = op->out_c - b * AC_NN_OB < AC_NN_OB ? op->out_c - b * AC_NN_OB : AC_NN_OB;
        struct gemm_args a = {.x = x, .xs = 0, .y = y + b * AC_NN_OB, .ys = 0,
                              .w = op->packed + (size_t)b * k * AC_NN_OB,
                              .b = bias + (size_t)b * AC_NN_OB, .k = k, .n = n, .act = op->act,
                              .alpha = op->alpha};
        gemm_rows(&a, 1);
    }
}

/* General direct convolution: per output pixel, sum the valid taps only, so
 * padding costs no branches inside the channel loop. */
static void conv_direct(const struct ac_nn_op *op, const float *x, float *y, int oy0, int oy1)
{
    const struct ac_nn_shape X = op->x, Y = op->y;
    int g = op->groups, cig = X.c / g, og = op->out_c / g, nob = nblocks(og);
    size_t kblk = (size_t)op->kh * op->kw * cig * AC_NN_OB;
    const float *bias = op->packed + (size_t)g * nob * kblk;
    for (int oy = oy0; oy < oy1; oy++) {
        int iy0 = oy * op->sh - op->ph;
        int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = X.h - iy0 < op->kh ? X.h - iy0 : op->kh;
        for (int ox = 0; ox < Y.w; ox++) {
            int ix0 = ox * op->sw - op->pw;
            int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = X.w - ix0 < op->kw ? X.w - ix0 : op->kw;
            float *yp = y + ((size_t)oy * Y.w + ox) * Y.c;
            for (int gi = 0; gi < g; gi++)
                for (int b = 0; b < nob; b++) {
                    const float *wb = op->packed + (size_t)(gi * nob + b) * kblk;
                    const float *bb = bias + (size_t)(gi * nob + b) * AC_NN_OB;
                    v8f c0 = ld(bb), c1 = ld(bb + 8), d0 = {0}, d1 = {0};
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) {
                            const float *xp =
                                x + ((size_t)(iy0 + ky) * X.w + (ix0 + kx)) * X.c + (size_t)gi * cig;
                            const float *w = wb + ((size_t)ky * op->kw + kx) * cig * AC_NN_OB;
                            int i = 0;
                            for (; i + 2 <= cig; i += 2, w += 2 * AC_NN_OB) {
                                c0 += xp[i] * ld(w);
                                c1 += xp[i] * ld(w + 8);
                                d0 += xp[i + 1] * ld(w + AC_NN_OB);
                                d1 += xp[i + 1] * ld(w + AC_NN_OB + 8);
                            }
                            if (i < cig) {
                                c0 += xp[i] * ld(w);
                                c1 += xp[i] * ld(w + 8);
                            }
                        }
                    int n = og - b * AC_NN_OB < AC_NN_OB ? og - b * AC_NN_OB : AC_NN_OB;
                    store16(yp + (size_t)gi * og + (size_t)b * AC_NN_OB, c0 + d0, c1 + d1, n,
                            op->act, op->alpha);
                }
        }
    }
}

/* Depthwise: NHWC makes a pixel's channels contiguous, so vectors run along
 * channels; a block of 32 channels stays in four registers across all taps. */
struct dw_args {
    const float *x, *w, *bias; /* at the first valid tap, channel block start */
    float *y;
    size_t xrow, wrow;         /* floats between tap rows */
    int nky, nkx, c, act;
    float alpha;
};

static inline __attribute__((always_inline)) void dw_block(const struct dw_args *a, int nvec)
{
    v8f acc[4];
    for (int v = 0; v < nvec; v++)
        acc[v] = ld(a->bias + 8 * v);
    for (int ky = 0; ky < a->nky; ky++)
        for (int kx = 0; kx < a->nkx; kx++) {
            const float *xp = a->x + ky * a->xrow + (size_t)kx * a->c;
            const float *w = a->w + ky * a->wrow + (size_t)kx * a->c;
            for (int v = 0; v < nvec; v++)
                acc[v] += ld(xp + 8 * v) * ld(w + 8 * v);
        }
    for (int v = 0; v < nvec; v++)
        st(a->y + 8 * v, act_v(acc[v], a->act, a->alpha));
    if (a->act == AC_ACT_SIGMOID)
        act_n(a->y, 8 * nvec, a->act, a->alpha);
}

static void conv_dw(const struct ac_nn_op *op, const float *x, float *y, int oy0, int oy1)
{
    const struct ac_nn_shape X = op->x, Y = op->y;
    const int C = X.c;
    const float *bias = op->packed + (size_t)op->kh * op->kw * C;
    for (int oy = oy0; oy < oy1; oy++) {
        int iy0 = oy * op->sh - op->ph;
        int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = X.h - iy0 < op->kh ? X.h - iy0 : op->kh;
        for (int ox = 0; ox < Y.w; ox++) {
            int ix0 = ox * op->sw - op->pw;
            int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = X.w - ix0 < op->kw ? X.w - ix0 : op->kw;
            struct dw_args a = {
                .x = x + ((size_t)(iy0 + ky0) * X.w + (size_t)(ix0 + kx0)) * C,
                .w = op->packed + ((size_t)ky0 * op->kw + kx0) * C, .bias = bias,
                .y = y + ((size_t)oy * Y.w + ox) * C, .xrow = (size_t)X.w * C,
                .wrow = (size_t)op->kw * C, .nky = ky1 - ky0, .nkx = kx1 - kx0, .c = C,
                .act = op->act, .alpha = op->alpha};
            int c = 0;
            for (; c + 32 <= C; c += 32) {
                struct dw_args b = a;
                b.x += c, b.w += c, b.bias += c, b.y += c;
                dw_block(&b, 4);
            }
            for (; c + 8 <= C; c += 8) {
                struct dw_args b = a;
                b.x += c, b.w += c, b.bias += c, b.y += c;
                dw_block(&b, 1);
            }
            for (; c < C; c++) {
                float acc = bias[c];
                for (int ky = 0; ky < a.nky; ky++)
                    for (int kx = 0; kx < a.nkx; kx++)
                        acc += a.x[ky * a.xrow + (size_t)kx * C + c] *
                               a.w[ky * a.wrow + (size_t)kx * C + c];
                a.y[c] = ac_nn_act1(acc, op->act, op->alpha);
            }
        }
    }
}

/* SE and ADD are memory-bound passes over the tensor: vectors along
 * channels, the tiny FCs of SE stay scalar (same order as ac_nn_scalar.c). */
static void se(const struct ac_nn_op *op, const float *x, float *y, float *scratch)
{
    const int C = op->x.c, mid = op->out_c;
    const size_t hw = (size_t)op->x.h * op->x.w;
    const float *w1 = op->w, *b1 = w1 + (size_t)mid * C, *w2 = b1 + mid, *b2 = w2 + (size_t)C * mid;
    float *s = scratch, *h = scratch + C;
    memset(s, 0, sizeof(float) * (size_t)C);
    for (size_t p = 0; p < hw; p++) {
        const float *xp = x + p * C;
        int c = 0;
        for (; c + 8 <= C; c += 8)
            st(s + c, ld(s + c) + ld(xp + c));
        for (; c < C; c++)
            s[c] += xp[c];
    }
    for (int c = 0; c < C; c++)
        s[c] /= (float)hw;
    for (int j = 0; j < mid; j++) {
        float acc = b1[j];
        for (int c = 0; c < C; c++)
            acc += w1[(size_t)j * C + c] * s[c];
        h[j] = acc > 0.f ? acc : 0.f;
    }
    for (int c = 0; c < C; c++) {
        float acc = b2[c];
        for (int j = 0; j < mid; j++)
            acc += w2[(size_t)c * mid + j] * h[j];
        s[c] = 1.f / (1.f + expf(-acc));
    }
    for (size_t p = 0; p < hw; p++) {
        const float *xp = x + p * C;
        float *yp = y + p * C;
        int c = 0;
        for (; c + 8 <= C; c += 8)
            st(yp + c, ld(xp + c) * ld(s + c));
        for (; c < C; c++)
            yp[c] = xp[c] * s[c];
        act_n(yp, C, op->act, op->alpha);
    }
}

static void add(const struct ac_nn_op *op, const float *a, const float *b, float *y)
{
    size_t n = (size_t)op->y.h * op->y.w * op->y.c, i = 0;
    for (; i + 8 <= n; i += 8)
        st(y + i, ld(a + i) + ld(b + i));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
    act_n(y, (int)n, op->act, op->alpha);
}

int AC_NN_FAST_FN(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                  float *scratch, int part, int nparts)
{
    if (op->type == AC_OP_CONV && op->packed) {
        int oy0 = (int)((long long)op->y.h * part / nparts);
        int oy1 = (int)((long long)op->y.h * (part + 1) / nparts);
        if (op->groups == op->x.c && op->out_c == op->x.c)
            conv_dw(op, x, y, oy0, oy1);
        else if (op->kh == 1 && op->kw == 1 && op->sh == 1 && op->sw == 1 && !op->ph && !op->pw)
            conv1x1(op, x, y, part, nparts);
        else
            conv_direct(op, x, y, oy0, oy1);
        return 0;
    }
    if (part)
        return 0; /* the rest are not split: part 0 does all */
    if (op->type == AC_OP_SE) {
        se(op, x, y, scratch);
        return 0;
    }
    if (op->type == AC_OP_ADD) {
        add(op, x, x1, y);
        return 0;
    }
    if (!op->packed)
        return -1;
    if (op->type == AC_OP_FC) {
        fc(op, x, y);
        return 0;
    }
    return -1;
}
