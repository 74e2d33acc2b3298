/* int8 1x1 convolutions (ac_nn_q8.c, the fast kernels' int8 path):
 * - every kernel copy (scalar, fast baseline, fast ISA, 3 threads) against an
 *   int8 reference written here from FORMAT.md's formula, and against the
 *   float result within the quantisation error;
 * - malformed int8 META is refused with a message;
 * - calibration + save: the written file loads, runs int8 where asked, keeps
 *   the rest of its META. */
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "nn/ac_nn_q8.h"
#include "nn_build.h"

static int fails, cases;

#define CHECK(c)                                                                           \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                            \
            fails++;                                                                       \
        }                                                                                  \
    } while (0)

/* round half to even of a float already inside [-127, 127] */
static int rne(float t)
{
    return (int)nearbyint((double)t);
}

static int q_of(float x, float inv)
{
    float t = x * inv;
    if (!(t >= -127.f))
        t = -127.f;
    if (t > 127.f)
        t = 127.f;
    return rne(t);
}

/* FORMAT.md: q(x) = round(clamp(x * 127 / clip)), per output channel o:
 * sw = max|w_o| / 127, q(w) = round(w / sw), y = act(sum q(x) q(w) *
 * (clip / 127) * sw + b). Float reference alongside, in double. */
static void reference(const float *x, int hw, int k, int n, const float *w, const float *bias,
                      float clip, int act, float alpha, double *yq, double *yf)
{
    float inv = 127.f / clip;
    for (int o = 0; o < n; o++) {
        const float *wo = w + (size_t)o * k;
        float mx = 0;
        for (int i = 0; i < k; i++)
            mx = fmaxf(mx, fabsf(wo[i]));
        float sw = mx > 0 ? mx / 127.f : 1.f;
        for (int p = 0; p < hw; p++) {
            long long acc = 0;
            double f = bias ? bias[o] : 0;
            for (int i = 0; i < k; i++) {
                acc += (long long)q_of(x[(size_t)p * k + i], inv) * q_of(wo[i], 1.f / sw);
                f += (double)x[(size_t)p * k + i] * wo[i];
            }
            yq[(size_t)p * n + o] =
                nb_act_d((double)acc * (clip / 127.f * sw) + (bias ? bias[o] : 0), act, alpha);
            yf[(size_t)p * n + o] = nb_act_d(f, act, alpha);
        }
    }
}

static struct ac_nn_model *load(struct nb *b, char *err, size_t el, int *rc)
{
    uint8_t *file;
    size_t len = nb_finish(b, &file);
    struct ac_nn_model *m = NULL;
    *rc = ac_nn_model_load_mem(file, len, &m, err, el);
    free(file);
    return m;
}

/* One 1x1 conv h x w x k -> n in int8 at the given clip. */
static void conv_case(int h, int w, int k, int n, int bias, int act, float clip, uint32_t seed)
{
    struct nb b;
    nb_init(&b, w, h, k, seed);
    int t = nb_conv(&b, 0, n, 1, 1, 1, 0, 1, bias, act, act == AC_ACT_LEAKY ? 0.1f : 0.f);
    nb_output(&b, t, "y");
    char meta[64];
    snprintf(meta, sizeof meta, "variant=test\nint8.0=%.9g\n", clip);
    b.meta = meta;
    char what[96], err[256];
    snprintf(what, sizeof what, "int8 conv1x1 %dx%dx%d->%d b%d a%d clip %g", h, w, k, n, bias, act, clip);
    cases++;
    int rc;
    struct ac_nn_model *m = load(&b, err, sizeof err, &rc);
    if (rc || ac_nn_model_int8_ops(m) != 1) {
        printf("FAIL %s: load: %s\n", what, rc ? err : "not int8");
        fails++;
        ac_nn_model_destroy(m);
        nb_free(&b);
        return;
    }
    size_t nin = (size_t)h * w * k, nout = (size_t)h * w * n;
    float *in = malloc(nin * sizeof(float));
    double *yq = malloc(nout * sizeof(double)), *yf = malloc(nout * sizeof(double));
    uint32_t s = seed * 7 + 1;
    for (size_t i = 0; i < nin; i++) /* row 0 goes beyond the clip: saturation */
        in[i] = nb_rand(&s) * clip * (i < (size_t)k ? 3.f : 1.f);
    in[0] = NAN; /* quantises to -127 everywhere, no trap */
    reference(in, h * w, k, n, b.w, bias ? b.w + (size_t)n * k : NULL, clip, act,
              act == AC_ACT_LEAKY ? 0.1f : 0.f, yq, yf);
    double worst[4] = {0}, ferr = 0, fmax_ = 0;
    for (int be = 0; be < 4; be++) {
        struct ac_nn_ctx_opts o = {be ? AC_NN_FAST : AC_NN_SCALAR, be == 3 ? 3 : 1};
        struct ac_nn_ctx *c;
        if (ac_nn_ctx_create(m, &o, &c)) {
            worst[be] = INFINITY;
            continue;
        }
        ac_nn_ctx_set_simd(c, be >= 2);
        ac_nn_ctx_set_split_macs(c, 0);
        memcpy(ac_nn_input(c), in, nin * sizeof(float));
        ac_nn_run(c);
        const float *y;
        ac_nn_output(c, 0, &y, NULL, NULL, NULL, NULL);
        for (size_t i = 0; i < nout; i++) {
            double d = fmax(1, fabs(yq[i]));
            worst[be] = fmax(worst[be], isnan(y[i]) ? INFINITY : fabs(y[i] - yq[i]) / d);
            if (be == 0 && i >= (size_t)n) { /* float error, away from the NaN row */
                ferr = fmax(ferr, fabs(y[i] - yf[i]));
                fmax_ = fmax(fmax_, fabs(yf[i]));
            }
        }
        ac_nn_ctx_destroy(c);
    }
    /* int8 vs float past row 0: inputs within the clip, so the error is
     * rounding, ~sqrt(k) quantisation steps; 4 % of the range is generous for
     * that and far below what a wrong scale or layout gives */
    int ok = worst[0] < 1e-5 && worst[1] < 1e-5 && worst[2] < 1e-5 && worst[3] < 1e-5 &&
             (act == AC_ACT_SIGMOID || ferr <= 0.04 * fmax_ + 1e-6);
    if (!ok)
        fails++;
    printf("%s %-48s vs int8 ref: scalar %.2g fast %.2g simd %.2g 3thr %.2g; vs float %.3g of %.3g\n",
           ok ? "ok  " : "FAIL", what, worst[0], worst[1], worst[2], worst[3], ferr, fmax_);
    free(in);
    free(yq);
    free(yf);
    ac_nn_model_destroy(m);
    nb_free(&b);
}

/* a small graph: conv3x3 -> 1x1 -> depthwise -> 1x1 -> GAP; ops 1 and 3 are 1x1 */
static void graph(struct nb *b, uint32_t seed)
{
    nb_init(b, 9, 7, 3, seed);
    int t = nb_conv(b, 0, 12, 3, 3, 1, 1, 1, 1, AC_ACT_RELU, 0);
    t = nb_conv(b, t, 20, 1, 1, 1, 0, 1, 1, AC_ACT_RELU, 0);
    t = nb_conv(b, t, 20, 3, 3, 2, 1, 20, 1, AC_ACT_RELU, 0);
    t = nb_conv(b, t, 33, 1, 1, 1, 0, 1, 0, AC_ACT_NONE, 0);
    t = nb_simple(b, AC_OP_GAP, t, 0, AC_ACT_NONE, 0, 1, 1, 33);
    nb_output(b, t, "y");
}

static void malformed(void)
{
    static const struct {
        const char *meta, *why;
    } bad[] = {
        {"int8.9=1\n", "int8.<op"},        {"int8.x=1\n", "int8.<op"},
        {"int8.01=1\n", "int8.<op"},       {"int8.=1\n", "int8.<op"},
        {"int8.-1=1\n", "int8.<op"},       {"int8.99999999999=1\n", "int8.<op"},
        {"int8.1=abc\n", "not a number"},  {"int8.1=0\n", "not a number"},
        {"int8.1=-2\n", "not a number"},   {"int8.1=inf\n", "not a number"},
        {"int8.1=nan\n", "not a number"},  {"int8.1=1e-40\n", "not a number"},
        {"int8.1=2x\n", "not a number"},   {"int8.1=\n", "not a number"},
        {"int8.0=1\n", "not a 1x1"},       {"int8.2=1\n", "not a 1x1"},
        {"int8.4=1\n", "not a 1x1"},       {"int8.1=1\nint8.1=2\n", "twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nb b;
        graph(&b, 3);
        b.meta = bad[i].meta;
        char err[256] = "";
        int rc;
        struct ac_nn_model *m = load(&b, err, sizeof err, &rc);
        cases++;
        if (rc != -EINVAL || !strstr(err, bad[i].why)) {
            printf("FAIL META %s: rc %d, '%s'\n", bad[i].meta, rc, err);
            fails++;
        }
        ac_nn_model_destroy(m);
        nb_free(&b);
    }
    /* a plain "int8" key (a description) is not an int8 op */
    struct nb b;
    graph(&b, 3);
    b.meta = "int8=calibrated on nothing\nint8.3=2.5\n";
    char err[256];
    int rc;
    struct ac_nn_model *m = load(&b, err, sizeof err, &rc);
    CHECK(rc == 0 && ac_nn_model_int8_ops(m) == 1);
    ac_nn_model_destroy(m);
    nb_free(&b);
}

/* calibrate the graph on random inputs, save, reload: ops 1 and 3 run in
 * int8 and the output stays close to the float model's */
static void calibrate_and_save(void)
{
    struct nb b;
    graph(&b, 11);
    b.meta = "variant=test\n";
    char err[256], path[] = "/tmp/agecam-q8-XXXXXX";
    int rc;
    struct ac_nn_model *m = load(&b, err, sizeof err, &rc), *q = NULL;
    CHECK(rc == 0);
    struct ac_nn_q8_calib *cal;
    CHECK(ac_nn_q8_calib_create(m, &cal) == 0 && ac_nn_q8_calib_ops(cal) == 2);
    struct ac_nn_ctx *c;
    CHECK(ac_nn_ctx_create(m, NULL, &c) == 0);
    char meta[256];
    CHECK(ac_nn_q8_calib_meta(cal, 100, meta, sizeof meta) == -ENODATA); /* nothing seen yet */
    ac_nn_ctx_set_observer(c, ac_nn_q8_calib_observe, cal);
    uint32_t s = 5;
    float *in = ac_nn_input(c);
    for (int r = 0; r < 20; r++) {
        for (int i = 0; i < 9 * 7 * 3; i++)
            in[i] = nb_rand(&s);
        ac_nn_run(c);
    }
    CHECK(ac_nn_q8_calib_meta(cal, 99.9, meta, 8) == -ENOSPC);
    CHECK(ac_nn_q8_calib_meta(cal, 0, meta, sizeof meta) == -EINVAL);
    int len = ac_nn_q8_calib_meta(cal, 99.9, meta, sizeof meta);
    CHECK(len > 0 && strstr(meta, "int8.1=") && strstr(meta, "int8.3="));
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(ac_nn_model_save_meta(m, meta, path, err, sizeof err) == 0);
    CHECK(ac_nn_model_load(path, &q, err, sizeof err) == 0);
    if (q) {
        CHECK(ac_nn_model_int8_ops(q) == 2);
        CHECK(ac_nn_model_meta(q, "variant") && !strcmp(ac_nn_model_meta(q, "variant"), "test"));
        struct ac_nn_ctx *cq;
        CHECK(ac_nn_ctx_create(q, NULL, &cq) == 0);
        ac_nn_ctx_set_observer(c, NULL, NULL);
        double worst = 0, big = 0;
        for (int r = 0; r < 5; r++) {
            for (int i = 0; i < 9 * 7 * 3; i++)
                in[i] = ac_nn_input(cq)[i] = nb_rand(&s);
            ac_nn_run(c);
            ac_nn_run(cq);
            const float *yf, *yq;
            ac_nn_output(c, 0, &yf, NULL, NULL, NULL, NULL);
            ac_nn_output(cq, 0, &yq, NULL, NULL, NULL, NULL);
            for (int i = 0; i < 33; i++) {
                worst = fmax(worst, fabs(yq[i] - yf[i]));
                big = fmax(big, fabs(yf[i]));
            }
        }
        printf("calibrated graph: int8 vs float max error %.3g of %.3g\n", worst, big);
        CHECK(worst < 0.05 * big);
        ac_nn_ctx_destroy(cq);
    }
    /* saving a quantised model replaces its int8 lines */
    if (q) {
        CHECK(ac_nn_model_save_meta(q, "int8.3=7\n", path, err, sizeof err) == 0);
        ac_nn_model_destroy(q);
        q = NULL;
        CHECK(ac_nn_model_load(path, &q, err, sizeof err) == 0 && ac_nn_model_int8_ops(q) == 1);
        CHECK(q && !ac_nn_model_meta(q, "int8.1") && !strcmp(ac_nn_model_meta(q, "int8.3"), "7"));
    }
    /* no int8 lines: the plain model comes back */
    CHECK(ac_nn_model_save_meta(m, "", path, err, sizeof err) == 0);
    ac_nn_model_destroy(q);
    q = NULL;
    CHECK(ac_nn_model_load(path, &q, err, sizeof err) == 0 && ac_nn_model_int8_ops(q) == 0);
    CHECK(ac_nn_model_save_meta(m, "", "/nonexistent-dir/x.acnn", err, sizeof err) < 0);
    unlink(path);
    ac_nn_model_destroy(q);
    ac_nn_ctx_destroy(c);
    ac_nn_q8_calib_destroy(cal);
    ac_nn_model_destroy(m);
    nb_free(&b);
}

int main(void)
{
    const char *want = getenv("AGECAM_NN_EXPECT_SIMD"); /* as in test_nn_kernels */
    printf("fast kernels: baseline and \"%s\"\n", ac_nn_simd_available());
    if (want && strcmp(want, ac_nn_simd_available())) {
        printf("FAIL: AGECAM_NN_EXPECT_SIMD=%s but this build/CPU uses \"%s\"\n", want,
               ac_nn_simd_available());
        fails++;
    }
    conv_case(5, 7, 16, 16, 1, AC_ACT_NONE, 1.0f, 1);
    conv_case(3, 5, 33, 40, 1, AC_ACT_RELU, 2.5f, 2);   /* odd k, partial block */
    conv_case(4, 4, 1, 3, 0, AC_ACT_LEAKY, 0.5f, 3);    /* k = 1 */
    conv_case(2, 9, 130, 17, 1, AC_ACT_SIGMOID, 4.f, 4);
    conv_case(6, 6, 96, 64, 1, AC_ACT_RELU, 8.f, 5);
    conv_case(1, 2, 257, 66, 0, AC_ACT_NONE, 3.f, 6);
    conv_case(7, 3, 24, 32, 1, AC_ACT_NONE, 1e-3f, 7);  /* tiny scale */
    malformed();
    calibrate_and_save();
    printf("%d cases, %d failed\n", cases, fails);
    return fails ? 1 : 0;
}
