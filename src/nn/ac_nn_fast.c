/* Fast kernels for CONV (1x1 GEMM, depthwise, general direct) and FC, over
 * the packed layouts of ac_nn_pack.c, plus SE and ADD. One source, compiled
 * once per ISA by meson: the baseline copy (ac_nn_fast_op; generic GCC/Clang
 * vectors, SSE on x86), -mavx2 -mfma as ac_nn_fast_op_avx2 on x86, and
 * -DAC_NN_NEON (with -mfpu=neon on armv7) as ac_nn_fast_op_neon on ARM, where
 * the vector helpers below become NEON intrinsics. ac_nn.c picks a copy at run
 * time (cpuid, getauxval). The kernels are written against those helpers (vf,
 * VW lanes, NV vectors per block of AC_NN_OB outputs), so every ISA runs the
 * same loops. Every kernel has its scalar twin in ac_nn_scalar.c; tests hold
 * them equal. */
#include <string.h>

#include "nn/ac_nn_internal.h"

#ifndef AC_NN_FAST_FN
#define AC_NN_FAST_FN ac_nn_fast_op
#endif

#ifdef AC_NN_NEON
/* NEON copy (meson builds it with -DAC_NN_NEON, on armv7 with -mfpu=neon).
 * Written with intrinsics rather than the generic vectors below because GCC
 * on 32-bit ARM never lowers generic float vectors to NEON (NEON flushes
 * denormals, so it needs -funsafe-math-optimizations); intrinsics always
 * emit NEON. armv7 NEON has no fused multiply-add (vmla rounds the product),
 * so results differ from the scalar twin by rounding only. */
#include <arm_neon.h>

typedef float32x4_t vf;
#define VW 4

static inline vf ld(const float *p)
{
    return vld1q_f32(p);
}

static inline void st(float *p, vf v)
{
    vst1q_f32(p, v);
}

static inline vf vsplat(float s)
{
    return vdupq_n_f32(s);
}

static inline vf vadd(vf a, vf b)
{
    return vaddq_f32(a, b);
}

static inline vf vmul(vf a, vf b)
{
    return vmulq_f32(a, b);
}

#ifdef __aarch64__
static inline vf vfma(vf acc, vf a, vf b)
{
    return vfmaq_f32(acc, a, b);
}

static inline vf vfma_s(vf acc, vf a, float s)
{
    return vfmaq_n_f32(acc, a, s);
}
/* one GEMM input broadcast: a scalar register, used through a lane */
typedef float vx;
#define VX_LD(p) (*(p))
#define VX_FMA(acc, w, x) vfmaq_n_f32(acc, w, x)
/* 32 vector registers: 5 rows x 4 accumulators + 4 weights + 5 inputs */
#define GEMM_R 5
#define GEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4)
#else
static inline vf vfma(vf acc, vf a, vf b)
{
    return vmlaq_f32(acc, a, b);
}

static inline vf vfma_s(vf acc, vf a, float s)
{
    return vmlaq_n_f32(acc, a, s);
}
/* one GEMM input broadcast: loaded straight into a D register lane, as
 * vmlaq_n_f32 from a core register made GCC shuffle lanes on every step */
typedef float32x2_t vx;
#define VX_LD(p) vld1_dup_f32(p)
#define VX_FMA(acc, w, x) vmlaq_lane_f32(acc, w, x, 0)
/* 16 quad registers: 3 rows x 4 accumulators + 4 weights would take all of
 * them and spill the broadcast input, so 2 rows */
#define GEMM_R 2
#define GEMM_ROWS(X) X(0) X(1)
#endif
#define GEMM_ROW1(X) X(0)

/* ReLU / leaky on a whole vector; sigmoid is left to act_n. */
static inline vf act_v(vf v, int act, float alpha)
{
    if (act == AC_ACT_RELU)
        return vmaxq_f32(v, vdupq_n_f32(0.f));
    if (act == AC_ACT_LEAKY)
        return vbslq_f32(vcgtq_f32(v, vdupq_n_f32(0.f)), v, vmulq_n_f32(v, alpha));
    return v;
}
#else
/* Generic vectors: one source for SSE (two xmm per vector) and AVX2/FMA
 * (one ymm; -ffp-contract=fast makes a + b * c an FMA). */
typedef float vf __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));
#define VW 8

static inline vf ld(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void st(float *p, vf v)
{
    memcpy(p, &v, sizeof(v));
}

static inline vf vsplat(float s)
{
    return (vf){0} + s;
}

static inline vf vadd(vf a, vf b)
{
    return a + b;
}

static inline vf vmul(vf a, vf b)
{
    return a * b;
}

static inline vf vfma(vf acc, vf a, vf b)
{
    return acc + a * b;
}

static inline vf vfma_s(vf acc, vf a, float s)
{
    return acc + a * s;
}

/* 12 accumulators + 2 weight vectors + 1 broadcast fit AVX2's 16 registers */
#define GEMM_R 6

/* ReLU / leaky on a whole vector (lane select through compare masks, as C
 * has no vector ?:); sigmoid is left to act_n. */
static inline vf act_v(vf v, int act, float alpha)
{
    if (act != AC_ACT_RELU && act != AC_ACT_LEAKY)
        return v;
    vi pos = v > 0.f;
    vf neg = act == AC_ACT_LEAKY ? v * alpha : (vf){0};
    return (vf)(((vi)v & pos) | ((vi)neg & ~pos));
}
#endif

/* vectors per block of AC_NN_OB output channels */
#define NV (AC_NN_OB / VW)

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

/* Stores one block of OB accumulators (n valid) with the activation. Takes
 * a copy: were the caller's accumulator array address-taken, GCC would keep
 * it in memory and store every accumulator on each pass of the k loop. */
static inline __attribute__((always_inline)) void store_block(float *restrict y, const vf *acc,
                                                              int n, int act, float alpha)
{
    if (n == AC_NN_OB && act != AC_ACT_SIGMOID) {
        for (int v = 0; v < NV; v++)
            st(y + VW * v, act_v(acc[v], act, alpha));
        return;
    }
    float t[AC_NN_OB];
    for (int v = 0; v < NV; v++)
        st(t + VW * v, acc[v]);
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

#ifndef AC_NN_NEON
/* y[p][0..n) = x[p][0..k) . w for p in [0, rows): R rows at a time keep
 * 2R independent FMA chains in flight, each weight vector loaded once for
 * R rows (x86: NV = 2). */
static inline __attribute__((always_inline)) void gemm_block(const struct gemm_args *a, int p,
                                                             int R)
{
    vf c0[GEMM_R], c1[GEMM_R];
    const float *xr[GEMM_R];
    for (int r = 0; r < R; r++) {
        c0[r] = ld(a->b);
        c1[r] = ld(a->b + VW);
        xr[r] = a->x + (size_t)(p + r) * a->xs;
    }
    const float *w = a->w;
    for (int i = 0; i < a->k; i++, w += AC_NN_OB) {
        vf w0 = ld(w), w1 = ld(w + VW);
        for (int r = 0; r < R; r++) {
            c0[r] = vfma_s(c0[r], w0, xr[r][i]);
            c1[r] = vfma_s(c1[r], w1, xr[r][i]);
        }
    }
    for (int r = 0; r < R; r++) {
        vf out[NV] = {c0[r], c1[r]};
        store_block(a->y + (size_t)(p + r) * a->ys, out, a->n, a->act, a->alpha);
    }
}
#endif

#ifdef AC_NN_NEON
/* NEON: the same loop with one named variable per accumulator. GCC kept
 * the arrays of the generic version on the stack here (a load and store of
 * every accumulator per k step), even when they fit the register file. */
#define G_DECL(r)                                                                          \
    vf c##r##0 = ld(a->b), c##r##1 = ld(a->b + 4), c##r##2 = ld(a->b + 8),                 \
       c##r##3 = ld(a->b + 12);                                                            \
    const float *x##r = a->x + (size_t)(p + r) * a->xs;
#define G_FMA(r)                                                                           \
    {                                                                                      \
        vx xv = VX_LD(x##r + i);                                                           \
        c##r##0 = VX_FMA(c##r##0, w0, xv);                                                 \
        c##r##1 = VX_FMA(c##r##1, w1, xv);                                                 \
        c##r##2 = VX_FMA(c##r##2, w2, xv);                                                 \
        c##r##3 = VX_FMA(c##r##3, w3, xv);                                                 \
    }
#define G_STORE(r)                                                                         \
    {                                                                                      \
        vf out[NV] = {c##r##0, c##r##1, c##r##2, c##r##3};                                 \
        store_block(a->y + (size_t)(p + r) * a->ys, out, a->n, a->act, a->alpha);          \
    }
#define G_KERNEL(name, ROWS)                                                               \
    static void name(const struct gemm_args *a, int p)                                     \
    {                                                                                      \
        ROWS(G_DECL)                                                                       \
        const float *w = a->w;                                                             \
        for (int i = 0; i < a->k; i++, w += AC_NN_OB) {                                    \
            vf w0 = ld(w), w1 = ld(w + 4), w2 = ld(w + 8), w3 = ld(w + 12);                \
            ROWS(G_FMA)                                                                    \
        }                                                                                  \
        ROWS(G_STORE)                                                                      \
    }
G_KERNEL(gemm_block_r, GEMM_ROWS)
G_KERNEL(gemm_block_1, GEMM_ROW1)

static void gemm_rows(const struct gemm_args *a, int rows)
{
    int p = 0;
    for (; p + GEMM_R <= rows; p += GEMM_R)
        gemm_block_r(a, p);
    for (; p < rows; p++)
        gemm_block_1(a, p);
}
#else
static void gemm_rows(const struct gemm_args *a, int rows)
{
    int p = 0;
    for (; p + GEMM_R <= rows; p += GEMM_R)
        gemm_block(a, p, GEMM_R);
    for (; p < rows; p++)
        gemm_block(a, p, 1);
}
#endif

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
                    /* two chains (even / odd input channel) per vector */
                    vf c[NV], d[NV];
                    for (int v = 0; v < NV; v++) {
                        c[v] = ld(bb + VW * v);
                        d[v] = vsplat(0.f);
                    }
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) {
                            const float *xp =
                                x + ((size_t)(iy0 + ky) * X.w + (ix0 + kx)) * X.c + (size_t)gi * cig;
                            const float *w = wb + ((size_t)ky * op->kw + kx) * cig * AC_NN_OB;
                            int i = 0;
                            for (; i + 2 <= cig; i += 2, w += 2 * AC_NN_OB)
                                for (int v = 0; v < NV; v++) {
                                    c[v] = vfma_s(c[v], ld(w + VW * v), xp[i]);
                                    d[v] = vfma_s(d[v], ld(w + AC_NN_OB + VW * v), xp[i + 1]);
                                }
                            if (i < cig)
                                for (int v = 0; v < NV; v++)
                                    c[v] = vfma_s(c[v], ld(w + VW * v), xp[i]);
                        }
                    int n = og - b * AC_NN_OB < AC_NN_OB ? og - b * AC_NN_OB : AC_NN_OB;
                    vf out[NV];
                    for (int v = 0; v < NV; v++)
                        out[v] = vadd(c[v], d[v]);
                    store_block(yp + (size_t)gi * og + (size_t)b * AC_NN_OB, out, n, op->act,
                                op->alpha);
                }
        }
    }
}

/* Depthwise: NHWC makes a pixel's channels contiguous, so vectors run along
 * channels; a block of DW_NV vectors (32 channels on x86, 16 or 32 on NEON)
 * stays in registers across all taps. */
#if VW == 8 || !defined(__aarch64__)
#define DW_NV 4
#else
#define DW_NV 8
#endif
struct dw_args {
    const float *x, *w, *bias; /* at the first valid tap, channel block start */
    float *y;
    size_t xrow, wrow;         /* floats between tap rows */
    int nky, nkx, c, act;
    float alpha;
};

static inline __attribute__((always_inline)) void dw_block(const struct dw_args *a, int nvec)
{
    vf acc[DW_NV];
    for (int v = 0; v < nvec; v++)
        acc[v] = ld(a->bias + VW * v);
    for (int ky = 0; ky < a->nky; ky++)
        for (int kx = 0; kx < a->nkx; kx++) {
            const float *xp = a->x + ky * a->xrow + (size_t)kx * a->c;
            const float *w = a->w + ky * a->wrow + (size_t)kx * a->c;
            for (int v = 0; v < nvec; v++)
                acc[v] = vfma(acc[v], ld(xp + VW * v), ld(w + VW * v));
        }
    for (int v = 0; v < nvec; v++)
        st(a->y + VW * v, act_v(acc[v], a->act, a->alpha));
    if (a->act == AC_ACT_SIGMOID)
        act_n(a->y, VW * nvec, a->act, a->alpha);
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
            for (; c + VW * DW_NV <= C; c += VW * DW_NV) {
                struct dw_args b = a;
                b.x += c, b.w += c, b.bias += c, b.y += c;
                dw_block(&b, DW_NV);
            }
            for (; c + VW <= C; c += VW) {
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

/* int8 1x1 convolution (ac_nn_q8.c has the layout and the scalar twin).
 * Each part first quantises its own input rows into the scratch (rows never
 * overlap between parts), then runs blocks of OB outputs over them. The
 * integer sums are exact, so every copy agrees with the scalar kernel up to
 * the float rounding of the final scale and bias. */
#if defined(__AVX2__) && !defined(AC_NN_NEON)
#include <immintrin.h>
/* AVX2 multiplies int16 pairs (vpmaddwd): the inputs are kept as int16 */
typedef int16_t q8x;
#define Q8_R 4 /* rows per pass: 8 accumulators, 2 widened weights, 1 input */

static inline __attribute__((always_inline)) void q8_rows(const q8x *q, size_t qs, const int8_t *w,
                                                          int kp, int32_t (*acc)[AC_NN_OB], int R)
{
    __m256i lo[Q8_R], hi[Q8_R];
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm256_setzero_si256();
    for (int p = 0; p < kp; p++, w += 2 * AC_NN_OB) {
        __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));
        __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + AC_NN_OB)));
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, q + r * qs + 2 * p, 4);
            __m256i xv = _mm256_set1_epi32(pair);
            lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(xv, w0));
            hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(xv, w1));
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_si256((__m256i *)acc[r], lo[r]);
        _mm256_storeu_si256((__m256i *)(acc[r] + 8), hi[r]);
    }
}
#elif defined(AC_NN_NEON)
/* NEON (no dot product on a Cortex-A53): int8 x int8 -> int16 products of
 * two input pairs per lane (|sum| <= 2 * 127 * 127 fits), then pairwise
 * added into int32 (vpadal). */
typedef int8_t q8x;
#define Q8_R 1

static inline void q8_rows(const q8x *q, size_t qs, const int8_t *w, int kp,
                           int32_t (*acc)[AC_NN_OB], int R)
{
    (void)qs;
    (void)R;
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
    int p = 0;
    for (; p + 2 <= kp; p += 2, w += 4 * AC_NN_OB) {
        int16_t x0s, x1s;
        memcpy(&x0s, q + 2 * p, 2);
        memcpy(&x1s, q + 2 * p + 2, 2);
        int8x16_t x0 = vreinterpretq_s8_s16(vdupq_n_s16(x0s));
        int8x16_t x1 = vreinterpretq_s8_s16(vdupq_n_s16(x1s));
        int8x16_t w00 = vld1q_s8(w), w01 = vld1q_s8(w + 16);
        int8x16_t w10 = vld1q_s8(w + 32), w11 = vld1q_s8(w + 48);
        int16x8_t m0 = vmull_s8(vget_low_s8(w00), vget_low_s8(x0));
        int16x8_t m1 = vmull_s8(vget_high_s8(w00), vget_high_s8(x0));
        int16x8_t m2 = vmull_s8(vget_low_s8(w01), vget_low_s8(x0));
        int16x8_t m3 = vmull_s8(vget_high_s8(w01), vget_high_s8(x0));
        m0 = vmlal_s8(m0, vget_low_s8(w10), vget_low_s8(x1));
        m1 = vmlal_s8(m1, vget_high_s8(w10), vget_high_s8(x1));
        m2 = vmlal_s8(m2, vget_low_s8(w11), vget_low_s8(x1));
        m3 = vmlal_s8(m3, vget_high_s8(w11), vget_high_s8(x1));
        a0 = vpadalq_s16(a0, m0);
        a1 = vpadalq_s16(a1, m1);
        a2 = vpadalq_s16(a2, m2);
        a3 = vpadalq_s16(a3, m3);
    }
    if (p < kp) {
        int16_t x0s;
        memcpy(&x0s, q + 2 * p, 2);
        int8x16_t x0 = vreinterpretq_s8_s16(vdupq_n_s16(x0s));
        int8x16_t w00 = vld1q_s8(w), w01 = vld1q_s8(w + 16);
        a0 = vpadalq_s16(a0, vmull_s8(vget_low_s8(w00), vget_low_s8(x0)));
        a1 = vpadalq_s16(a1, vmull_s8(vget_high_s8(w00), vget_high_s8(x0)));
        a2 = vpadalq_s16(a2, vmull_s8(vget_low_s8(w01), vget_low_s8(x0)));
        a3 = vpadalq_s16(a3, vmull_s8(vget_high_s8(w01), vget_high_s8(x0)));
    }
    vst1q_s32(acc[0], a0);
    vst1q_s32(acc[0] + 4, a1);
    vst1q_s32(acc[0] + 8, a2);
    vst1q_s32(acc[0] + 12, a3);
}
#else
/* baseline copy: plain integer loops, left to the auto-vectoriser */
typedef int8_t q8x;
#define Q8_R 1

static inline void q8_rows(const q8x *q, size_t qs, const int8_t *w, int kp,
                           int32_t (*acc)[AC_NN_OB], int R)
{
    (void)qs;
    (void)R;
    int32_t a[AC_NN_OB] = {0};
    for (int p = 0; p < kp; p++, w += 2 * AC_NN_OB)
        for (int j = 0; j < AC_NN_OB; j++)
            a[j] += (int32_t)q[2 * p] * w[2 * j] + (int32_t)q[2 * p + 1] * w[2 * j + 1];
    memcpy(acc[0], a, sizeof a);
}
#endif

static inline void q8_store(float *y, const int32_t *acc, const float *s, const float *b, int n,
                            int act, float alpha)
{
    float t[AC_NN_OB];
    for (int j = 0; j < AC_NN_OB; j++)
        t[j] = (float)acc[j];
    vf out[NV];
    for (int v = 0; v < NV; v++)
        out[v] = vfma(ld(b + VW * v), ld(t + VW * v), ld(s + VW * v));
    store_block(y, out, n, act, alpha);
}

static void conv1x1_q8(const struct ac_nn_op *op, const float *x, float *y, float *scratch,
                       int part, int nparts)
{
    int k = op->x.c, kp = op->q8kp, nob = nblocks(op->out_c);
    int all = op->y.h * op->y.w;
    int r0 = (int)((long long)all * part / nparts), rows = (int)((long long)all * (part + 1) / nparts);
    size_t qs = 2 * (size_t)kp;
    q8x *q = (q8x *)scratch;
    for (int r = r0; r < rows; r++) {
        const float *xr = x + (size_t)r * k;
        q8x *qr = q + (size_t)r * qs;
        for (int i = 0; i < k; i++)
            qr[i] = ac_nn_q8_quant(xr[i], op->q8inv);
        if (k & 1)
            qr[k] = 0;
    }
    int32_t acc[Q8_R][AC_NN_OB];
    for (int b = 0; b < nob; b++) {
        int n = op->out_c - b * AC_NN_OB < AC_NN_OB ? op->out_c - b * AC_NN_OB : AC_NN_OB;
        const int8_t *w = op->q8w + (size_t)b * kp * 2 * AC_NN_OB;
        const float *s = op->q8s + (size_t)b * AC_NN_OB, *bias = op->q8b + (size_t)b * AC_NN_OB;
        int r = r0;
        for (; r + Q8_R <= rows; r += Q8_R) {
            q8_rows(q + (size_t)r * qs, qs, w, kp, acc, Q8_R);
            for (int i = 0; i < Q8_R; i++)
                q8_store(y + (size_t)(r + i) * op->out_c + (size_t)b * AC_NN_OB, acc[i], s, bias, n,
                         op->act, op->alpha);
        }
        for (; r < rows; r++) {
            q8_rows(q + (size_t)r * qs, qs, w, kp, acc, 1);
            q8_store(y + (size_t)r * op->out_c + (size_t)b * AC_NN_OB, acc[0], s, bias, n, op->act,
                     op->alpha);
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
        for (; c + VW <= C; c += VW)
            st(s + c, vadd(ld(s + c), ld(xp + c)));
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
        for (; c + VW <= C; c += VW)
            st(yp + c, vmul(ld(xp + c), ld(s + c)));
        for (; c < C; c++)
            yp[c] = xp[c] * s[c];
        act_n(yp, C, op->act, op->alpha);
    }
}

static void add(const struct ac_nn_op *op, const float *a, const float *b, float *y)
{
    size_t n = (size_t)op->y.h * op->y.w * op->y.c, i = 0;
    for (; i + VW <= n; i += VW)
        st(y + i, vadd(ld(a + i), ld(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
    act_n(y, (int)n, op->act, op->alpha);
}

int AC_NN_FAST_FN(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                  float *scratch, int part, int nparts)
{
    if (op->type == AC_OP_CONV && op->q8w) {
        conv1x1_q8(op, x, y, scratch, part, nparts);
        return 0;
    }
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
