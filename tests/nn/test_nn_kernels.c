/* Every kernel, scalar and fast, against a naive double-precision
 * interpreter written here from FORMAT.md, on small models built in memory:
 * odd sizes, strides 1/2, padding 0/1/3, groups 1/depthwise/other, 1x1,
 * 7x7, FC, SE, GAP, ADD, CONCAT, UPSAMPLE, SOFTMAX, ACT, MAXPOOL, plus
 * random conv shapes. */
#include <float.h>
#include <math.h>

#include "nn_build.h"

#define SH(T) b->t[T].shape
#define AT(T, Y, X, C) ref[T][((size_t)(Y) * SH(T)[1] + (X)) * SH(T)[2] + (C)]

/* Interprets b's ops in double; ref[t] gets every tensor. */
static void ref_run(const struct nb *b, const float *input, double **ref)
{
    size_t n0 = (size_t)b->in_h * b->in_w * b->in_c;
    for (size_t i = 0; i < n0; i++)
        ref[0][i] = input[i];
    for (int i = 0; i < b->n_ops; i++) {
        const uint32_t *f = b->ops[i].f;
        int t = i + 1, a = (int)f[1], a1 = (int)f[2], act = (int)f[3];
        float alpha;
        memcpy(&alpha, &f[4], 4);
        const float *w = b->w + f[13];
        int H = SH(t)[0], W = SH(t)[1], C = SH(t)[2], ac = SH(a)[2];
        switch (f[0]) {
        case AC_OP_CONV: {
            int kh = (int)f[6], kw = (int)f[7], s = (int)f[8], p = (int)f[10], g = (int)f[12];
            int cig = ac / g, cog = C / g;
            for (int o = 0; o < C; o++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        double acc = (f[15] & 1) ? w[(size_t)C * kh * kw * cig + o] : 0;
                        for (int i2 = 0; i2 < cig; i2++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++) {
                                    int iy = y * s - p + ky, ix = x * s - p + kx;
                                    if (iy >= 0 && iy < SH(a)[0] && ix >= 0 && ix < SH(a)[1])
                                        acc += AT(a, iy, ix, (o / cog) * cig + i2) *
                                               w[(((size_t)o * kh + ky) * kw + kx) * cig + i2];
                                }
                        AT(t, y, x, o) = nb_act_d(acc, act, alpha);
                    }
            break;
        }
        case AC_OP_FC: {
            size_t k = (size_t)SH(a)[0] * SH(a)[1] * ac;
            for (int o = 0; o < C; o++) {
                double acc = (f[15] & 1) ? w[(size_t)C * k + o] : 0;
                for (size_t j = 0; j < k; j++)
                    acc += ref[a][j] * w[o * k + j];
                ref[t][o] = nb_act_d(acc, act, alpha);
            }
            break;
        }
        case AC_OP_SE: {
            int mid = (int)f[5];
            double s[256], h[256];
            const float *b1 = w + mid * C, *w2 = b1 + mid, *b2 = w2 + C * mid;
            for (int c = 0; c < C; c++) {
                s[c] = 0;
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        s[c] += AT(a, y, x, c) / (H * W);
            }
            for (int j = 0; j < mid; j++) {
                h[j] = b1[j];
                for (int c = 0; c < C; c++)
                    h[j] += w[j * C + c] * s[c];
                h[j] = h[j] > 0 ? h[j] : 0;
            }
            for (int c = 0; c < C; c++) {
                double z = b2[c];
                for (int j = 0; j < mid; j++)
                    z += w2[c * mid + j] * h[j];
                double sc = 1 / (1 + exp(-z));
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        AT(t, y, x, c) = nb_act_d(AT(a, y, x, c) * sc, act, alpha);
            }
            break;
        }
        default:
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double mx = -INFINITY, sum = 0;
                    for (int c = 0; c < C; c++) {
                        double v = 0;
                        if (f[0] == AC_OP_ADD)
                            v = AT(a, y, x, c) + AT(a1, y, x, c);
                        else if (f[0] == AC_OP_GAP) {
                            for (int yy = 0; yy < SH(a)[0]; yy++)
                                for (int xx = 0; xx < SH(a)[1]; xx++)
                                    v += AT(a, yy, xx, c) / (SH(a)[0] * SH(a)[1]);
                        } else if (f[0] == AC_OP_CONCAT)
                            v = c < ac ? AT(a, y, x, c) : AT(a1, y, x, c - ac);
                        else if (f[0] == AC_OP_UPSAMPLE)
                            v = AT(a, y * SH(a)[0] / H, x * SH(a)[1] / W, c);
                        else if (f[0] == AC_OP_MAXPOOL) {
                            v = -INFINITY;
                            for (int ky = 0; ky < (int)f[6]; ky++)
                                for (int kx = 0; kx < (int)f[7]; kx++) {
                                    int iy = y * (int)f[8] - (int)f[10] + ky;
                                    int ix = x * (int)f[9] - (int)f[11] + kx;
                                    if (iy >= 0 && iy < SH(a)[0] && ix >= 0 && ix < SH(a)[1])
                                        v = fmax(v, AT(a, iy, ix, c));
                                }
                        } else
                            v = AT(a, y, x, c); /* ACT, SOFTMAX */
                        AT(t, y, x, c) = nb_act_d(v, act, alpha);
                        mx = fmax(mx, v);
                    }
                    if (f[0] == AC_OP_SOFTMAX) {
                        for (int c = 0; c < C; c++)
                            sum += exp(AT(a, y, x, c) - mx);
                        for (int c = 0; c < C; c++)
                            AT(t, y, x, c) = exp(AT(a, y, x, c) - mx) / sum;
                    }
                }
        }
    }
}

static int fails, cases;

/* Builds b, runs it on both backends, compares every output to ref_run. */
static void check(struct nb *b, const char *what)
{
    uint8_t *file;
    size_t len = nb_finish(b, &file);
    char err[256];
    struct ac_nn_model *m;
    cases++;
    int rc = ac_nn_model_load_mem(file, len, &m, err, sizeof(err));
    free(file);
    if (rc) {
        printf("FAIL %s: load: %s\n", what, err);
        fails++;
        nb_free(b);
        return;
    }
    double *ref[65];
    for (int t = 0; t <= b->n_ops; t++)
        ref[t] = calloc((size_t)SH(t)[0] * SH(t)[1] * SH(t)[2], sizeof(double));
    size_t n0 = (size_t)b->in_h * b->in_w * b->in_c;
    float *in = malloc(n0 * sizeof(float));
    uint32_t seed = b->seed ^ 0x9e3779b9u;
    for (size_t i = 0; i < n0; i++)
        in[i] = nb_rand(&seed) * 2.f;
    ref_run(b, in, ref);
    /* scalar, fast (baseline ISA copy), fast (AVX2 / NEON copy where the CPU has it),
     * the latter with 3 threads splitting every conv (must be bit-identical) */
    const float *outs[4][8];
    struct ac_nn_ctx *ctx[4] = {NULL, NULL, NULL, NULL};
    for (int be = 0; be < 4; be++) {
        struct ac_nn_ctx_opts o = {be ? AC_NN_FAST : AC_NN_SCALAR, be == 3 ? 3 : 1};
        if (ac_nn_ctx_create(m, &o, &ctx[be])) {
            printf("FAIL %s: ctx\n", what);
            fails++;
            goto out;
        }
        ac_nn_ctx_set_simd(ctx[be], be >= 2);
        ac_nn_ctx_set_split_macs(ctx[be], 0);
        memcpy(ac_nn_input(ctx[be]), in, n0 * sizeof(float));
        ac_nn_run(ctx[be]);
        for (int k = 0; k < b->n_out; k++)
            ac_nn_output(ctx[be], k, &outs[be][k], NULL, NULL, NULL, NULL);
    }
    double worst[4] = {0, 0, 0, 0}; /* scalar-ref, fast-ref, fast-scalar, fast2-ref */
    for (int k = 0; k < b->n_out; k++) {
        int t = b->out_id[k];
        size_t n = (size_t)SH(t)[0] * SH(t)[1] * SH(t)[2];
        for (size_t i = 0; i < n; i++) {
            double r = ref[t][i], s = outs[0][k][i], f = outs[1][k][i], d = fmax(1, fabs(r));
            worst[0] = fmax(worst[0], fabs(s - r) / d);
            worst[1] = fmax(worst[1], fabs(f - r) / d);
            worst[2] = fmax(worst[2], fabs(f - s) / d);
            worst[3] = fmax(worst[3], fabs(outs[2][k][i] - r) / d);
            if (memcmp(&outs[2][k][i], &outs[3][k][i], sizeof(float)))
                worst[3] = INFINITY; /* threads changed a result */
            if (isnan(s) || isnan(f) || isnan(outs[2][k][i]))
                worst[0] = INFINITY;
        }
    }
    int ok = worst[0] < 2e-5 && worst[1] < 2e-5 && worst[2] < 2e-5 && worst[3] < 2e-5;
    if (!ok)
        fails++;
    printf("%s %-44s scalar-ref %.2g fast-ref %.2g fast-scalar %.2g fast-%s(1,3 thr)-ref %.2g\n",
           ok ? "ok  " : "FAIL", what, worst[0], worst[1], worst[2],
           *ac_nn_ctx_simd(ctx[2]) ? ac_nn_ctx_simd(ctx[2]) : "base", worst[3]);
out:
    for (int be = 0; be < 4; be++)
        ac_nn_ctx_destroy(ctx[be]);
    for (int t = 0; t <= b->n_ops; t++)
        free(ref[t]);
    free(in);
    ac_nn_model_destroy(m);
    nb_free(b);
}

struct conv_case {
    int h, w, c, o, kh, kw, s, p, g, bias, act;
};

static void conv_one(const struct conv_case *k, uint32_t seed)
{
    struct nb b;
    nb_init(&b, k->w, k->h, k->c, seed);
    int t = nb_conv(&b, 0, k->o, k->kh, k->kw, k->s, k->p, k->g, k->bias, k->act,
                    k->act == AC_ACT_LEAKY ? 0.1f : 0.f);
    nb_output(&b, t, "y");
    char what[128];
    snprintf(what, sizeof(what), "conv %dx%dx%d->%d k%dx%d s%d p%d g%d b%d a%d", k->h, k->w, k->c,
             k->o, k->kh, k->kw, k->s, k->p, k->g, k->bias, k->act);
    check(&b, what);
}

int main(void)
{
    /* CI's cross jobs say which ISA copy must run (e.g. neon under qemu), so
     * a build or CPU check that silently falls back to the baseline fails */
    const char *want = getenv("AGECAM_NN_EXPECT_SIMD");
    printf("fast kernels: baseline and \"%s\"\n", ac_nn_simd_available());
    if (want && strcmp(want, ac_nn_simd_available())) {
        printf("FAIL: AGECAM_NN_EXPECT_SIMD=%s but this build/CPU uses \"%s\"\n", want,
               ac_nn_simd_available());
        fails++;
    }
    static const struct conv_case convs[] = {
        /* 1x1 (GEMM path), odd pixel counts and channel tails */
        {7, 5, 13, 19, 1, 1, 1, 0, 1, 1, AC_ACT_NONE},
        {9, 11, 32, 64, 1, 1, 1, 0, 1, 1, AC_ACT_LEAKY},
        {3, 3, 5, 3, 1, 1, 1, 0, 1, 0, AC_ACT_RELU},
        {8, 8, 16, 24, 1, 1, 1, 0, 2, 1, AC_ACT_LEAKY},   /* grouped 1x1 */
        {5, 6, 17, 33, 1, 1, 2, 0, 1, 1, AC_ACT_NONE},    /* strided 1x1 */
        {4, 5, 6, 10, 1, 1, 1, 1, 1, 1, AC_ACT_SIGMOID},  /* padded 1x1 */
        /* depthwise */
        {13, 11, 40, 40, 3, 3, 1, 1, 40, 1, AC_ACT_LEAKY},
        {15, 9, 37, 37, 3, 3, 2, 1, 37, 1, AC_ACT_RELU},
        {6, 7, 3, 3, 3, 3, 1, 1, 3, 0, AC_ACT_NONE},
        {7, 7, 72, 72, 7, 7, 1, 0, 72, 1, AC_ACT_LEAKY},  /* DW2: 7x7 -> 1x1 */
        {6, 7, 24, 24, 5, 5, 1, 3, 24, 1, AC_ACT_NONE},
        {10, 10, 64, 64, 3, 3, 2, 0, 64, 1, AC_ACT_NONE},
        /* general direct */
        {17, 13, 3, 32, 3, 3, 2, 1, 1, 1, AC_ACT_LEAKY},  /* conv1-like */
        {19, 23, 5, 21, 7, 7, 2, 3, 1, 1, AC_ACT_NONE},
        {10, 9, 12, 18, 3, 3, 1, 1, 3, 1, AC_ACT_RELU},   /* groups 3 */
        {9, 10, 6, 10, 3, 1, 1, 0, 1, 0, AC_ACT_NONE},    /* kh != kw */
        {8, 9, 4, 7, 3, 3, 1, 3, 1, 1, AC_ACT_NONE},      /* pad 3: all-padding border */
        {12, 12, 8, 16, 4, 4, 2, 1, 2, 1, AC_ACT_LEAKY},
        {5, 5, 4, 8, 5, 5, 1, 0, 1, 1, AC_ACT_NONE},      /* 5x5 -> 1x1 */
        {16, 16, 32, 16, 3, 3, 2, 1, 16, 1, AC_ACT_NONE}, /* groups = c but out != c */
        /* activations on whole 16-channel blocks and depthwise vectors */
        {5, 6, 40, 40, 3, 3, 1, 1, 40, 1, AC_ACT_SIGMOID},
        {4, 4, 16, 32, 1, 1, 1, 0, 1, 1, AC_ACT_SIGMOID},
        {4, 4, 16, 32, 1, 1, 1, 0, 1, 1, AC_ACT_RELU},
        {5, 7, 16, 32, 3, 3, 1, 1, 1, 0, AC_ACT_LEAKY},
    };
    for (size_t i = 0; i < sizeof(convs) / sizeof(convs[0]); i++)
        conv_one(&convs[i], 100 + (uint32_t)i);

    uint32_t s = 12345;
    for (int i = 0; i < 40; i++) { /* random shapes */
        struct conv_case k;
        int r = (int)((nb_rand(&s) + 1) * 1000);
        k.kh = 1 + r % 7;
        k.kw = r % 3 ? k.kh : 1 + (r / 7) % 5;
        k.s = 1 + (r / 3) % 2;
        k.p = (r / 5) % 4;
        k.h = k.kh + (r / 11) % 9;
        k.w = k.kw + (r / 13) % 9;
        int g = 1 + (r / 17) % 4;
        k.c = g * (1 + (r / 19) % 9);
        k.o = ((r / 23) % 3 == 0 && g > 1) ? k.c : g * (1 + (r / 29) % 21);
        k.g = (r / 31) % 5 == 0 ? k.c : g;
        if (k.g == k.c && k.o % k.g)
            k.o = k.c;
        k.bias = r % 2;
        k.act = (r / 37) % 4;
        conv_one(&k, 1000 + (uint32_t)i);
    }

    struct nb b;
    /* FC on a spatial input (NHWC flatten) and on 1x1 */
    nb_init(&b, 2, 3, 5, 7);
    {
        uint32_t off = nb_weights(&b, 17 * 30 + 17, 0.2f);
        uint32_t f[16] = {AC_OP_FC, 0, 0, AC_ACT_LEAKY, nb_fbits(0.1f), 17, 0, 0, 0, 0, 0, 0, 0, off,
                          17 * 30 + 17, 1};
        nb_output(&b, nb_raw(&b, f), "y");
        b.t[1].shape[0] = b.t[1].shape[1] = 1;
        b.t[1].shape[2] = 17;
    }
    check(&b, "fc 3x2x5 -> 17 bias leaky");
    nb_init(&b, 1, 1, 128, 8);
    {
        uint32_t off = nb_weights(&b, 66 * 128, 0.1f);
        uint32_t f[16] = {AC_OP_FC, 0, 0, 0, 0, 66, 0, 0, 0, 0, 0, 0, 0, off, 66 * 128, 0};
        nb_output(&b, nb_raw(&b, f), "y");
        b.t[1].shape[0] = b.t[1].shape[1] = 1;
        b.t[1].shape[2] = 66;
    }
    check(&b, "fc 1x1x128 -> 66 no bias");

    /* SE, then ADD with the input (a residual), GAP */
    nb_init(&b, 7, 5, 24, 9);
    {
        uint32_t n = 2 * 6 * 24 + 6 + 24, off = nb_weights(&b, n, 0.5f);
        uint32_t f[16] = {AC_OP_SE, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, off, n, 1};
        int t = nb_raw(&b, f);
        memcpy(b.t[t].shape, b.t[0].shape, sizeof(b.t[0].shape));
        int a = nb_simple(&b, AC_OP_ADD, 0, t, AC_ACT_LEAKY, 0.2f, 5, 7, 24);
        int g = nb_simple(&b, AC_OP_GAP, a, 0, AC_ACT_SIGMOID, 0, 1, 1, 24);
        nb_output(&b, t, "se");
        nb_output(&b, a, "add");
        nb_output(&b, g, "gap");
    }
    check(&b, "se(mid 6) + add(leaky) + gap(sigmoid)");
    nb_init(&b, 4, 3, 19, 11); /* channel tails for the vector loops */
    {
        uint32_t n = 2 * 5 * 19 + 5 + 19, off = nb_weights(&b, n, 0.5f);
        uint32_t f[16] = {AC_OP_SE, 0, 0, AC_ACT_RELU, 0, 5, 0, 0, 0, 0, 0, 0, 0, off, n, 1};
        int t = nb_raw(&b, f);
        memcpy(b.t[t].shape, b.t[0].shape, sizeof(b.t[0].shape));
        int a = nb_simple(&b, AC_OP_ADD, t, 0, AC_ACT_NONE, 0, 3, 4, 19);
        nb_output(&b, t, "se");
        nb_output(&b, a, "add");
    }
    check(&b, "se(c 19, mid 5, relu) + add (odd sizes)");

    /* CONCAT of a conv branch and the input, UPSAMPLE by factors and to a
     * size, SOFTMAX, ACT, MAXPOOL */
    nb_init(&b, 9, 7, 6, 10);
    {
        int c = nb_conv(&b, 0, 10, 3, 3, 2, 1, 1, 1, AC_ACT_RELU, 0); /* 4x5x10 */
        uint32_t up[16] = {AC_OP_UPSAMPLE, (uint32_t)c, 0, 0, 0, 0, 0, 0, 2, 3};
        int u = nb_raw(&b, up); /* 8x15x10 */
        b.t[u].shape[0] = 8, b.t[u].shape[1] = 15, b.t[u].shape[2] = 10;
        uint32_t up2[16] = {AC_OP_UPSAMPLE, (uint32_t)c, 0, AC_ACT_LEAKY, nb_fbits(0.3f)};
        up2[2] = 0;
        up2[15] = AC_FLAG_SIZE_OF_IN1;
        int u2 = nb_raw(&b, up2); /* to input size 7x9, non-integer ratio */
        b.t[u2].shape[0] = 7, b.t[u2].shape[1] = 9, b.t[u2].shape[2] = 10;
        int cat = nb_simple(&b, AC_OP_CONCAT, 0, u2, AC_ACT_NONE, 0, 7, 9, 16);
        int sm = nb_simple(&b, AC_OP_SOFTMAX, cat, 0, 0, 0, 7, 9, 16);
        int ac = nb_simple(&b, AC_OP_ACT, cat, 0, AC_ACT_SIGMOID, 0, 7, 9, 16);
        uint32_t mp[16] = {AC_OP_MAXPOOL, (uint32_t)cat, 0, 0, 0, 0, 3, 3, 2, 2, 1, 1};
        int p = nb_raw(&b, mp);
        b.t[p].shape[0] = 4, b.t[p].shape[1] = 5, b.t[p].shape[2] = 16;
        uint32_t mp2[16] = {AC_OP_MAXPOOL, 0, 0, 0, 0, 0, 2, 3, 2, 1, 0, 2};
        int p2 = nb_raw(&b, mp2);
        b.t[p2].shape[0] = 3, b.t[p2].shape[1] = 11, b.t[p2].shape[2] = 6;
        nb_output(&b, u, "up");
        nb_output(&b, cat, "cat");
        nb_output(&b, sm, "softmax");
        nb_output(&b, ac, "act");
        nb_output(&b, p, "pool");
        nb_output(&b, p2, "pool2");
    }
    check(&b, "upsample/concat/softmax/act/maxpool");

    printf("%d cases, %d failed\n", cases, fails);
    return fails ? 1 : 0;
}
