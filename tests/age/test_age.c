/* The age estimator over the shipped model files: a proper distribution,
 * mirror averaging that is exactly the average of the two passes, resize
 * plans reused across crop sizes, no allocation once warm, and clean errors
 * for bad models and bad crops.
 *
 * malloc and friends are wrapped here (interposed over glibc's) so the
 * steady-state "no allocation" rule is measured, not assumed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age/ac_age.h"

/* Sanitizer runtimes own malloc themselves; interposing over glibc's under
 * them mixes two heaps (glibc aborts in free). Their builds skip the count. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define AC_SANITIZED 1
#endif
#endif

static long allocs;

#ifndef AC_SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    allocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    allocs++;
    return __libc_realloc(p, n);
}
int posix_memalign(void **p, size_t align, size_t n)
{
    allocs++;
    *p = __libc_memalign(align, n);
    return *p ? 0 : ENOMEM;
}
void *aligned_alloc(size_t align, size_t n)
{
    allocs++;
    return __libc_memalign(align, n);
}
void free(void *p)
{
    __libc_free(p);
}
#else
#define __libc_malloc malloc
#define __libc_calloc calloc
#define __libc_free free
#endif

static int failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            failures++;                                                                \
        }                                                                              \
    } while (0)

static char model_full[1024], model_small[1024];

/* A face-sized, left-right asymmetric test card. */
static uint8_t *make_image(int w, int h, int stride, unsigned seed)
{
    uint8_t *img = __libc_calloc((size_t)stride, (size_t)h);
    unsigned s = seed;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s = s * 1103515245u + 12345u;
            uint8_t *p = img + (size_t)y * stride + 3 * x;
            p[0] = (uint8_t)(x * 255 / w);
            p[1] = (uint8_t)((y * 200 / h) + ((s >> 16) & 31));
            p[2] = (uint8_t)((x < w / 3) ? 220 : 40 + ((x * y) & 63));
        }
    return img;
}

static uint8_t *mirror_image(const uint8_t *img, int w, int h, int stride)
{
    uint8_t *m = __libc_calloc((size_t)stride, (size_t)h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(m + (size_t)y * stride + 3 * x, img + (size_t)y * stride + 3 * (w - 1 - x), 3);
    return m;
}

static struct ac_age *make(const char *path, int mirror, enum ac_nn_backend backend)
{
    struct ac_age_settings s;
    ac_age_settings_default(&s);
    s.model_path = path;
    s.mirror = mirror;
    s.backend = backend;
    struct ac_age *e = NULL;
    char err[512];
    if (ac_age_create(&s, &e, err, sizeof err)) {
        fprintf(stderr, "cannot create estimator: %s\n", err);
        failures++;
        return NULL;
    }
    return e;
}

static void check_distribution(const struct ac_age_result *r, const char *what)
{
    double sum = 0, mean = 0;
    int ok = r->num_classes == 66;
    for (int i = 0; i < r->num_classes; i++) {
        ok &= r->prob[i] >= 0 && r->prob[i] <= 1;
        sum += r->prob[i];
        mean += (double)r->prob[i] * i;
    }
    double var = 0;
    for (int i = 0; i < r->num_classes; i++)
        var += r->prob[i] * (i - mean) * (i - mean);
    ok &= fabs(sum - 1) < 1e-5;
    ok &= r->age >= 0 && r->age <= 65 && fabs(r->age - mean) < 1e-4;
    ok &= r->std >= 0 && fabs(r->std - sqrt(var)) < 1e-3;
    ok &= r->top[0] >= 0 && r->top[1] >= 0 && r->top[0] != r->top[1];
    for (int i = 0; i < r->num_classes; i++)
        ok &= r->prob[i] <= r->prob[r->top[0]];
    ok &= r->prob[r->top[1]] >= r->prob[r->top[2]];
    if (!ok) {
        fprintf(stderr, "%s: bad distribution (classes %d, sum %.7f, age %.3f vs %.3f, std %.3f)\n",
                what, r->num_classes, sum, r->age, mean, r->std);
        failures++;
    }
}

static double max_prob_diff(const struct ac_age_result *a, const struct ac_age_result *b)
{
    double d = 0;
    for (int i = 0; i < a->num_classes; i++)
        d = fmax(d, fabs((double)a->prob[i] - b->prob[i]));
    return d;
}

static void test_distribution(const char *path)
{
    struct ac_age *e = make(path, 1, AC_NN_FAST);
    if (!e)
        return;
    int w = 150, h = 130, stride = 3 * w + 5;
    uint8_t *img = make_image(w, h, stride, 1);
    struct ac_age_result r;
    CHECK(ac_age_estimate(e, img, w, h, stride, &r) == 0);
    check_distribution(&r, path);
    /* an upscale and a tiny crop are fine too */
    CHECK(ac_age_estimate(e, img, 7, 5, stride, &r) == 0);
    check_distribution(&r, "7x5 crop");
    __libc_free(img);
    ac_age_destroy(e);
}

/* Mirror on must equal the average of two mirror-off runs, one on the crop
 * and one on the crop flipped left-right. */
static void test_mirror(const char *path)
{
    struct ac_age *on = make(path, 1, AC_NN_FAST), *off = make(path, 0, AC_NN_FAST);
    if (!on || !off)
        goto out;
    int w = 160, h = 171, stride = 3 * w;
    uint8_t *img = make_image(w, h, stride, 2), *flip = mirror_image(img, w, h, stride);
    struct ac_age_result a, b, avg, tta;
    CHECK(ac_age_estimate(off, img, w, h, stride, &a) == 0);
    CHECK(ac_age_estimate(off, flip, w, h, stride, &b) == 0);
    CHECK(ac_age_estimate(on, img, w, h, stride, &tta) == 0);
    avg = a;
    for (int i = 0; i < a.num_classes; i++)
        avg.prob[i] = 0.5f * (a.prob[i] + b.prob[i]);
    ac_age_summarize(&avg);
    double d = max_prob_diff(&avg, &tta);
    if (d > 2e-5 || fabs(avg.age - tta.age) > 1e-3) {
        fprintf(stderr, "mirror: TTA differs from the average of the two passes (prob %.3g, age %.4f vs %.4f)\n",
                d, tta.age, avg.age);
        failures++;
    }
    /* the two passes themselves must differ, or the check above proves nothing */
    if (max_prob_diff(&a, &b) < 1e-4) {
        fprintf(stderr, "mirror: the crop and its mirror give the same output; test card too symmetric\n");
        failures++;
    }
    /* mirroring the input of a mirror-averaging estimator changes nothing */
    struct ac_age_result tta2;
    CHECK(ac_age_estimate(on, flip, w, h, stride, &tta2) == 0);
    CHECK(max_prob_diff(&tta, &tta2) < 2e-5);
    __libc_free(img);
    __libc_free(flip);
out:
    ac_age_destroy(on);
    ac_age_destroy(off);
}

static int same_prob(const struct ac_age_result *a, const struct ac_age_result *b)
{
    return a->num_classes == b->num_classes &&
           !memcmp(a->prob, b->prob, (size_t)a->num_classes * sizeof a->prob[0]);
}

/* Results for a size are the same whether its plan is new or reused, plans
 * are built once per size while they fit the cache, and a warm estimator
 * does not allocate. */
static void test_plans(const char *path)
{
    struct ac_age *e = make(path, 1, AC_NN_FAST);
    if (!e)
        return;
    static const int sizes[AC_AGE_PLANS + 1][2] = {{120, 100}, {90, 90}, {200, 200}, {64, 80}, {33, 47}};
    uint8_t *img = make_image(200, 200, 600, 3);
    struct ac_age_result first[AC_AGE_PLANS + 1], again;
    for (int i = 0; i < AC_AGE_PLANS; i++) {
        CHECK(ac_age_estimate(e, img, sizes[i][0], sizes[i][1], 600, &first[i]) == 0);
        CHECK(ac_age_plan_builds(e) == (unsigned)i + 1);
    }
    long before = allocs;
    for (int rep = 0; rep < 3; rep++)
        for (int i = AC_AGE_PLANS - 1; i >= 0; i--) {
            CHECK(ac_age_estimate(e, img, sizes[i][0], sizes[i][1], 600, &again) == 0);
            CHECK(same_prob(&again, &first[i]));
        }
    if (allocs != before) {
        fprintf(stderr, "plans: %ld allocations while warm\n", allocs - before);
        failures++;
    }
    CHECK(ac_age_plan_builds(e) == AC_AGE_PLANS);
    /* one size too many evicts the least recently used (sizes[3] now) */
    CHECK(ac_age_estimate(e, img, sizes[AC_AGE_PLANS][0], sizes[AC_AGE_PLANS][1], 600,
                          &first[AC_AGE_PLANS]) == 0);
    CHECK(ac_age_plan_builds(e) == AC_AGE_PLANS + 1);
    CHECK(ac_age_estimate(e, img, sizes[0][0], sizes[0][1], 600, &again) == 0);
    CHECK(ac_age_plan_builds(e) == AC_AGE_PLANS + 1);
    CHECK(ac_age_estimate(e, img, sizes[3][0], sizes[3][1], 600, &again) == 0);
    CHECK(ac_age_plan_builds(e) == AC_AGE_PLANS + 2);
    CHECK(same_prob(&again, &first[3]));

    /* a fresh estimator agrees with the one that has seen other sizes */
    struct ac_age *fresh = make(path, 1, AC_NN_FAST);
    if (fresh) {
        CHECK(ac_age_estimate(fresh, img, sizes[1][0], sizes[1][1], 600, &again) == 0);
        CHECK(same_prob(&again, &first[1]));
        ac_age_destroy(fresh);
    }
    __libc_free(img);
    ac_age_destroy(e);
}

static void test_scalar_fast(const char *path)
{
    struct ac_age *f = make(path, 1, AC_NN_FAST), *s = make(path, 1, AC_NN_SCALAR);
    if (f && s) {
        uint8_t *img = make_image(100, 120, 300, 4);
        struct ac_age_result a, b;
        CHECK(ac_age_estimate(f, img, 100, 120, 300, &a) == 0);
        CHECK(ac_age_estimate(s, img, 100, 120, 300, &b) == 0);
        if (max_prob_diff(&a, &b) > 1e-4 || fabs(a.age - b.age) > 1e-2) {
            fprintf(stderr, "scalar and fast estimators disagree: age %.4f vs %.4f\n", a.age, b.age);
            failures++;
        }
        __libc_free(img);
    }
    ac_age_destroy(f);
    ac_age_destroy(s);
}

static void test_bad_crops(const char *path)
{
    struct ac_age *e = make(path, 1, AC_NN_FAST);
    if (!e)
        return;
    const struct ac_nn_info *info = ac_age_info(e);
    int big = info->input_w * 32 + 1;
    uint8_t *img = make_image(big, 2, 3 * big, 5);
    struct ac_age_result r;
    CHECK(ac_age_estimate(e, img, 0, 10, 30, &r) == -EINVAL);
    CHECK(ac_age_estimate(e, img, 10, -1, 30, &r) == -EINVAL);
    CHECK(ac_age_estimate(e, img, 10, 1, 20, &r) == -EINVAL); /* stride < 3w */
    CHECK(ac_age_estimate(e, NULL, 10, 1, 30, &r) == -EINVAL);
    CHECK(ac_age_estimate(e, img, big, 2, 3 * big, &r) == -EINVAL); /* beyond 32x downscale */
    /* still usable afterwards */
    CHECK(ac_age_estimate(e, img, 40, 2, 3 * big, &r) == 0);
    check_distribution(&r, "after bad crops");
    __libc_free(img);
    ac_age_destroy(e);
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) || w != len ? -1 : 0;
}

static void expect_refused(const char *path, const char *why)
{
    struct ac_age_settings s;
    ac_age_settings_default(&s);
    s.model_path = path;
    struct ac_age *e = (struct ac_age *)1;
    char err[512] = "";
    int rc = ac_age_create(&s, &e, err, sizeof err);
    if (rc >= 0 || e != NULL || !strstr(err, path)) {
        fprintf(stderr, "%s: rc %d, estimator %p, message '%s'\n", why, rc, (void *)e, err);
        failures++;
        ac_age_destroy(rc ? NULL : e);
    }
}

static void test_bad_models(const char *good)
{
    expect_refused("/nonexistent/agecam/model.acnn", "missing file");
    char dir[] = "/tmp/agecam-test-age-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        failures++;
        return;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/garbage.acnn", dir);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7919 % 251);
    CHECK(write_file(path, junk, sizeof junk) == 0);
    expect_refused(path, "garbage file");
    unlink(path);

    FILE *f = fopen(good, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = __libc_malloc((size_t)len);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            snprintf(path, sizeof path, "%s/truncated.acnn", dir);
            CHECK(write_file(path, buf, (size_t)len / 2) == 0);
            expect_refused(path, "truncated model");
            unlink(path);
            snprintf(path, sizeof path, "%s/flipped.acnn", dir);
            buf[len - 100] ^= 0x40; /* a payload bit: only the CRC can catch it */
            CHECK(write_file(path, buf, (size_t)len) == 0);
            expect_refused(path, "corrupted weights");
            unlink(path);
        }
        __libc_free(buf);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/empty.acnn", dir);
    CHECK(write_file(path, "", 0) == 0);
    expect_refused(path, "empty file");
    unlink(path);
    rmdir(dir);

    struct ac_age_settings s;
    ac_age_settings_default(&s);
    struct ac_age *e;
    char err[128];
    CHECK(ac_age_create(&s, &e, err, sizeof err) == -EINVAL && e == NULL);
}

int main(void)
{
    const char *root = getenv("AGECAM_SOURCE_ROOT");
    if (!root)
        root = ".";
    snprintf(model_full, sizeof model_full, "%s/models/smlf-full.acnn", root);
    snprintf(model_small, sizeof model_small, "%s/models/smlf-small.acnn", root);
    test_distribution(model_small);
    test_distribution(model_full);
    test_mirror(model_small);
    test_plans(model_small);
    test_scalar_fast(model_small);
    test_bad_crops(model_small);
    test_bad_models(model_small);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("age: all checks passed\n");
    return failures ? 1 : 0;
}
