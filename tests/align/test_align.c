/* Alignment and quality filters: the similarity fit recovers a known
 * transform; a synthetic face drawn at known landmarks is warped so that its
 * eyes, nose and mouth land on the template points; pose, blur and size
 * filters on hand-computed cases, with rejection counts. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/ac_align.h"
#include "align/ac_quality.h"

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static void near(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "%s: got %.6f, want %.6f (tol %g)\n", what, got, want, tol);
        failures++;
    }
}

static void test_similarity(void)
{
    /* x' = a x - b y + tx with scale 1.7, angle 25 degrees */
    double s = 1.7, th = 25 * 3.14159265358979 / 180;
    float m_true[4] = {(float)(s * cos(th)), (float)(s * sin(th)), 12.5f, -40.25f};
    float src[10] = {10, 20, 50, 18, 30, 40, 15, 60, 45, 62}, dst[10];
    for (int i = 0; i < 5; i++)
        ac_align_apply(m_true, src[2 * i], src[2 * i + 1], &dst[2 * i], &dst[2 * i + 1]);
    float m[4];
    CHECK(ac_align_similarity(src, dst, 5, m) == 0);
    for (int k = 0; k < 4; k++)
        near(m[k], m_true[k], 1e-3, "similarity parameter");
    float same[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    CHECK(ac_align_similarity(same, dst, 5, m) == -EINVAL);
    CHECK(ac_align_similarity(src, dst, 1, m) == -EINVAL);
    /* a reflection cannot be represented: mirrored points give scale ~0 */
    float mir[10];
    for (int i = 0; i < 10; i += 2) {
        mir[i] = -src[i];
        mir[i + 1] = src[i + 1];
    }
    CHECK(ac_align_similarity(src, mir, 5, m) == 0);
    CHECK(sqrt(m[0] * m[0] + m[1] * m[1]) < 0.9);
}

/* Draws a filled disc of colour c. */
static void disc(uint8_t *img, int w, int h, float cx, float cy, float r, const uint8_t c[3])
{
    for (int y = (int)(cy - r) - 1; y <= (int)(cy + r) + 1; y++)
        for (int x = (int)(cx - r) - 1; x <= (int)(cx + r) + 1; x++) {
            if (x < 0 || y < 0 || x >= w || y >= h)
                continue;
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            if (dx * dx + dy * dy <= r * r)
                memcpy(img + ((size_t)y * w + x) * 3, c, 3);
        }
}

/* Centroid of pixels close to colour c inside a window of the chip. */
static int centroid(const uint8_t *chip, int n, const uint8_t c[3], int x0, int y0, int x1,
                    int y1, float *cx, float *cy)
{
    double sx = 0, sy = 0, cnt = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = chip + ((size_t)y * n + x) * 3;
            int d = abs(p[0] - c[0]) + abs(p[1] - c[1]) + abs(p[2] - c[2]);
            if (d < 120) {
                sx += x + 0.5;
                sy += y + 0.5;
                cnt++;
            }
        }
    if (cnt < 3)
        return -1;
    *cx = (float)(sx / cnt);
    *cy = (float)(sy / cnt);
    return 0;
}

static void test_synthetic_face(int chip, double scale, double angle_deg)
{
    /* the template, mapped into a 640x480 image by a known similarity */
    const int w = 640, h = 480;
    uint8_t *img = malloc((size_t)w * h * 3);
    uint8_t *out = malloc((size_t)chip * chip * 3);
    memset(img, 128, (size_t)w * h * 3);
    double th = angle_deg * 3.14159265358979 / 180;
    float fwd[4] = {(float)(scale * cos(th)), (float)(scale * sin(th)), 200, 20};
    float lm[10];
    for (int i = 0; i < 5; i++)
        ac_align_apply(fwd, AC_ALIGN_TEMPLATE[2 * i], AC_ALIGN_TEMPLATE[2 * i + 1], &lm[2 * i],
                       &lm[2 * i + 1]);
    static const uint8_t blue[3] = {0, 0, 255}, red[3] = {255, 0, 0}, green[3] = {0, 255, 0};
    const uint8_t *col[5] = {blue, blue, red, green, green};
    for (int i = 0; i < 5; i++)
        disc(img, w, h, lm[2 * i], lm[2 * i + 1], (float)(6 * scale), col[i]);
    float m[4];
    CHECK(ac_align_estimate(lm, chip, m) == 0);
    CHECK(ac_align_warp(img, w, h, 3 * w, m, out, chip) == 0);
    float k = (float)chip / AC_ALIGN_FRAME;
    float tol = 1.0f + 0.01f * chip; /* about one chip pixel plus disc rasterisation */
    for (int i = 0; i < 5; i++) {
        float tx = AC_ALIGN_TEMPLATE[2 * i] * k, ty = AC_ALIGN_TEMPLATE[2 * i + 1] * k;
        int r = (int)(12 * k) + 2;
        float cx, cy;
        int rc = centroid(out, chip, col[i], (int)tx - r, (int)ty - r, (int)tx + r, (int)ty + r,
                          &cx, &cy);
        if (rc) {
            fprintf(stderr, "chip %d scale %.1f angle %.0f: point %d not found\n", chip, scale,
                    angle_deg, i);
            failures++;
        } else {
            char what[80];
            snprintf(what, sizeof what, "chip %d scale %.1f angle %.0f point %d x", chip, scale,
                     angle_deg, i);
            near(cx, tx, tol, what);
            what[strlen(what) - 1] = 'y';
            near(cy, ty, tol, what);
        }
    }
    /* outside the image is black: a transform that maps the chip far away */
    float far[4] = {1, 0, -5000, -5000};
    CHECK(ac_align_warp(img, w, h, 3 * w, far, out, chip) == 0);
    CHECK(out[0] == 0 && out[(size_t)chip * chip * 3 - 1] == 0);
    float zero[4] = {0, 0, 0, 0};
    CHECK(ac_align_warp(img, w, h, 3 * w, zero, out, chip) == -EINVAL);
    CHECK(ac_align_warp(img, w, h, 2 * w, m, out, chip) == -EINVAL);
    CHECK(ac_align_warp(NULL, w, h, 3 * w, m, out, chip) == -EINVAL);
    free(img);
    free(out);
}

static void test_pose(void)
{
    /* frontal: eyes 20 apart on one line, nose half-way down to the mouth */
    float lm[10] = {40, 50, 60, 50, 50, 60, 42, 70, 58, 70};
    float roll, yaw, pitch;
    CHECK(ac_quality_pose(lm, &roll, &yaw, &pitch) == 0);
    near(roll, 0, 1e-5, "roll frontal");
    near(yaw, 0, 1e-6, "yaw frontal");
    near(pitch, 0.5, 1e-6, "pitch frontal");
    /* nose 5 px right: yaw 5/20 */
    lm[4] = 55;
    CHECK(ac_quality_pose(lm, &roll, &yaw, &pitch) == 0);
    near(yaw, 0.25, 1e-6, "yaw");
    /* the same face rotated by 90 degrees (x, y) -> (-y, x): roll 90, yaw, pitch unchanged */
    float rot[10];
    for (int i = 0; i < 5; i++) {
        rot[2 * i] = -lm[2 * i + 1];
        rot[2 * i + 1] = lm[2 * i];
    }
    CHECK(ac_quality_pose(rot, &roll, &yaw, &pitch) == 0);
    near(roll, 90, 1e-4, "roll 90");
    near(yaw, 0.25, 1e-5, "yaw rotated");
    near(pitch, 0.5, 1e-5, "pitch rotated");
    /* eyes swapped: roll 180 */
    float sw[10] = {60, 50, 40, 50, 50, 60, 58, 70, 42, 70};
    CHECK(ac_quality_pose(sw, &roll, &yaw, &pitch) == 0);
    near(fabs(roll), 180, 1e-4, "roll mirrored");
    float same[10] = {40, 50, 40, 50, 50, 60, 42, 70, 58, 70};
    CHECK(ac_quality_pose(same, &roll, &yaw, &pitch) == -EINVAL);
}

static void test_blur(void)
{
    enum { N = 20 };
    uint8_t chip[N * N * 3];
    memset(chip, 90, sizeof chip);
    near(ac_quality_blur(chip, N), 0, 1e-6, "flat chip");
    /* 2x2 blocks alternating 0/255: reduced grey alternates 0/255 and every
     * interior Laplacian is +-4*255; 8x8 interior cells, half of each sign:
     * variance (4*255)^2 */
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            memset(chip + (y * N + x) * 3, ((x / 2 + y / 2) & 1) ? 255 : 0, 3);
    near(ac_quality_blur(chip, N), 1020.0 * 1020.0, 1020.0 * 1020.0 * 1e-4, "checkerboard");
    /* a single-pixel checkerboard averages out in the 2x2 reduction */
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            memset(chip + (y * N + x) * 3, ((x + y) & 1) ? 255 : 0, 3);
    near(ac_quality_blur(chip, N), 0, 1e-3, "pixel checkerboard");
    near(ac_quality_blur(chip, 4), 0, 0, "too small");
}

static void test_filters(void)
{
    struct ac_quality_settings s;
    ac_quality_defaults(&s);
    struct ac_quality q;
    ac_quality_init(&q, &s);
    struct ac_face f;
    memset(&f, 0, sizeof f);
    float lm[10] = {40, 50, 60, 50, 50, 60, 42, 70, 58, 70};
    memcpy(f.lm, lm, sizeof lm);
    struct ac_quality_measures m;
    /* 20 x 30 box: size 30 < 32 */
    f.x0 = 35;
    f.x1 = 55;
    f.y0 = 40;
    f.y1 = 70;
    CHECK(ac_quality_check_face(&q, &f, &m) == AC_QUALITY_SIZE);
    near(m.size, 30, 0, "size");
    f.y1 = 80; /* size 40 */
    CHECK(ac_quality_check_face(&q, &f, &m) == AC_QUALITY_OK);
    f.lm[4] = 57; /* yaw 0.35 > 0.30 */
    CHECK(ac_quality_check_face(&q, &f, &m) == AC_QUALITY_POSE);
    f.lm[4] = 50;
    f.lm[5] = 52; /* pitch 0.1 < 0.2 */
    CHECK(ac_quality_check_face(&q, &f, &m) == AC_QUALITY_POSE);
    q.set.min_pitch = 0.05f; /* thresholds are live settings */
    CHECK(ac_quality_check_face(&q, &f, &m) == AC_QUALITY_OK);
    enum { N = 20 };
    uint8_t chip[N * N * 3];
    memset(chip, 90, sizeof chip);
    CHECK(ac_quality_check_chip(&q, chip, N, &m) == AC_QUALITY_BLUR);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            memset(chip + (y * N + x) * 3, ((x / 2 + y / 2) & 1) ? 255 : 0, 3);
    CHECK(ac_quality_check_chip(&q, chip, N, &m) == AC_QUALITY_OK);
    /* counted: size 1, pose 2, blur 1, passed (chip stage) 1 */
    CHECK(q.counts[AC_QUALITY_SIZE] == 1 && q.counts[AC_QUALITY_POSE] == 2 &&
          q.counts[AC_QUALITY_BLUR] == 1 && q.counts[AC_QUALITY_OK] == 1);
    CHECK(!strcmp(ac_quality_reason_name(AC_QUALITY_BLUR), "blur"));
}

/* The separable warp (the verifier's crop) against the general one: random
 * unrotated transforms from magnification to 30x shrink, boxes partly or
 * wholly outside the image, chips of 1-64 px. Float rounding may move a
 * byte by one, rarely; nothing more. A rotating transform falls back to the
 * general warp exactly. */
static void test_warp_axis(void)
{
    enum { W = 173, H = 121 };
    static uint8_t img[W * H * 3], a[64 * 64 * 3], b[64 * 64 * 3];
    srand(7);
    for (int i = 0; i < W * H * 3; i++)
        img[i] = (uint8_t)(rand() % 256);
    long bytes = 0, off1 = 0;
    int far = 0, fails = 0;
    for (int t = 0; t < 400; t++) {
        int chip = 1 + rand() % 64;
        float shrink = expf(logf(0.3f) + (float)rand() / RAND_MAX * (logf(30.0f) - logf(0.3f)));
        float side = shrink * chip;
        float x0 = -side + (float)rand() / RAND_MAX * (W + side), y0 = -side + (float)rand() / RAND_MAX * (H + side);
        float m[4] = {chip / side, 0.0f, -(chip / side) * x0, -(chip / side) * y0};
        if (ac_align_warp(img, W, H, 3 * W, m, a, chip) || ac_align_warp_axis(img, W, H, 3 * W, m, b, chip)) {
            fails++;
            continue;
        }
        for (int i = 0; i < chip * chip * 3; i++) {
            int d = abs((int)a[i] - (int)b[i]);
            far += d > 1;
            off1 += d == 1;
        }
        bytes += chip * chip * 3;
    }
    if (fails || far || off1 * 1000 > bytes) {
        fprintf(stderr, "FAIL: warp_axis: %d failed calls, %d bytes off by > 1, %ld of %ld off by one\n",
                fails, far, off1, bytes);
        failures++;
    }
    printf("warp_axis: %ld bytes, %ld off by one\n", bytes, off1);
    float r[4] = {0.3f, 0.05f, 2.0f, -1.0f};
    ac_align_warp(img, W, H, 3 * W, r, a, 32);
    ac_align_warp_axis(img, W, H, 3 * W, r, b, 32);
    if (memcmp(a, b, 32 * 32 * 3)) {
        fprintf(stderr, "FAIL: warp_axis with a rotation is not the general warp\n");
        failures++;
    }
}

int main(void)
{
    test_similarity();
    test_synthetic_face(200, 1.0, 0);
    test_synthetic_face(200, 2.5, 15);   /* large face: shrinking path */
    test_synthetic_face(112, 0.6, -30);  /* small face, other chip size */
    test_pose();
    test_blur();
    test_filters();
    test_warp_axis();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("align: ok\n");
    return 0;
}
