/* The face verifier: its crop, probability and refined box equal
 * train/det_verify.py's (golden file from `det_verify.py export --golden`:
 * an 80x60 image, three boxes, one partly outside, their crops,
 * probabilities and refined boxes); the box decoding on a hand case; a
 * detector model is refused as a verifier; and ac_detect with the verifier
 * returns exactly the faces of the plain detector at score_thr^2, each
 * verified, rescored to sqrt(p_detector * p_verifier), moved to its refined
 * box if under refine_max pixels at the network's input (three settings:
 * never, the default, always) and refine_large of the way there if not
 * (0 and the default 0.5), kept when it passes score_thr, then put through
 * NMS again.
 * usage: test_verify VERIFIER GOLDEN DET_MODEL IMAGE */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ac_image.h"
#include "detect/ac_detect.h"
#include "detect/ac_detpost.h"
#include "detect/ac_verify.h"
#include "../common/check.h"

enum { GW = 80, GH = 60, NBOX = 3 };

static int near(float a, float b, float tol) { return fabsf(a - b) <= tol; }

static void check_golden(const struct ac_nn_model *vm, const char *golden)
{
    int side = ac_nn_model_info(vm)->input_w;
    size_t crop_bytes = (size_t)side * side * 3;
    size_t want = GW * GH * 3 + NBOX * 16 + NBOX * crop_bytes + NBOX * 4 + NBOX * 16;
    FILE *f = fopen(golden, "rb");
    uint8_t *buf = malloc(want + 1);
    size_t got = f && buf ? fread(buf, 1, want + 1, f) : 0;
    if (f)
        fclose(f);
    CHECK(got == want);
    if (got != want) {
        free(buf);
        return;
    }
    const uint8_t *img = buf, *crops = buf + GW * GH * 3 + NBOX * 16;
    float boxes[NBOX * 4], probs[NBOX], refined[NBOX * 4];
    memcpy(boxes, buf + GW * GH * 3, sizeof boxes);
    memcpy(probs, crops + NBOX * crop_bytes, sizeof probs);
    memcpy(refined, crops + NBOX * crop_bytes + sizeof probs, sizeof refined);
    struct ac_verify *v = NULL;
    char err[256];
    CHECK(ac_verify_create(vm, 1, &v, err, sizeof err) == 0);
    for (int i = 0; v && i < NBOX; i++) {
        struct ac_face face = {.x0 = boxes[4 * i], .y0 = boxes[4 * i + 1], .x1 = boxes[4 * i + 2],
                               .y1 = boxes[4 * i + 3], .score = 0.7f, .lm = {1, 2, 3}};
        struct ac_face r;
        float p = -1;
        CHECK(ac_verify_face(v, img, GW, GH, GW * 3, &face, &p, &r) == 0);
        int s;
        const uint8_t *c = ac_verify_last_crop(v, &s);
        CHECK(s == side);
        /* float32 in both, but numpy may order the sums differently: one
         * level of rounding at most, and rarely */
        int off = 0, far = 0;
        for (size_t k = 0; k < crop_bytes; k++) {
            int d = abs((int)c[k] - (int)crops[i * crop_bytes + k]);
            off += d > 0;
            far += d > 1;
        }
        CHECK(far == 0 && off <= (int)crop_bytes / 100);
        /* relative: the golden probabilities of a noise image are small */
        CHECK(fabsf(p - probs[i]) <= 1e-6f + 1e-3f * probs[i]);
        CHECK(near(r.x0, refined[4 * i], 0.01f) && near(r.y0, refined[4 * i + 1], 0.01f) &&
              near(r.x1, refined[4 * i + 2], 0.01f) && near(r.y1, refined[4 * i + 3], 0.01f));
        CHECK(r.score == 0.7f && r.lm[0] == 1 && r.lm[2] == 3); /* box only */
        printf("box %d: crop bytes off by one %d, p %.5f (python %.5f), refined %.2f %.2f %.2f %.2f "
               "(python %.2f %.2f %.2f %.2f)\n",
               i, off, p, probs[i], r.x0, r.y0, r.x1, r.y1, refined[4 * i], refined[4 * i + 1],
               refined[4 * i + 2], refined[4 * i + 3]);
    }
    struct ac_face empty = {.x0 = 5, .y0 = 5, .x1 = 5, .y1 = 5};
    float p;
    if (v)
        CHECK(ac_verify_face(v, img, GW, GH, GW * 3, &empty, &p, NULL) == -EINVAL);
    ac_verify_destroy(v);
    free(buf);
}

/* by hand: box 20x40 at (10, 20), crop side 1.5 * 40 = 60 */
static void check_refine(void)
{
    struct ac_face f = {.x0 = 10, .y0 = 20, .x1 = 30, .y1 = 60};
    float d[4] = {AC_VERIFY_REG_CENTRE * 0.1f, -AC_VERIFY_REG_CENTRE * 0.05f,
                  AC_VERIFY_REG_SIZE * logf(1.5f), 20.0f /* clamped to x2 */};
    ac_verify_refine(d, &f); /* centre (20, 40) + (6, -3); size 30 x 80 */
    CHECK(near(f.x0, 11, 1e-4f) && near(f.x1, 41, 1e-4f) && near(f.y0, -3, 1e-4f) &&
          near(f.y1, 77, 1e-4f));
    struct ac_face g = f;
    float bad[4] = {NAN, 0, 0, 0};
    ac_verify_refine(bad, &g);
    CHECK(g.x0 == f.x0 && g.y1 == f.y1);
}

/* Returns how many of the verified faces were moved. */
static int check_detect(const struct ac_nn_model *vm, const struct ac_nn_model *dm,
                        const struct ac_image *im, float refine_max, float refine_large, int mirror)
{
    int moved = 0;
    struct ac_detect_settings s;
    ac_detect_defaults(&s);
    s.max_src_w = im->w;
    s.max_src_h = im->h;
    char err[256];
    struct ac_detect *plain = NULL, *ver = NULL;
    struct ac_verify *v = NULL;
    /* a low threshold, so that many candidates go through the verifier */
    s.score_thr = 0.0004f;
    CHECK(ac_detect_create(dm, &s, &plain, err, sizeof err) == 0);
    s.score_thr = 0.02f;
    s.verifier = vm;
    s.refine_max = refine_max;
    s.refine_large = refine_large;
    s.verify_mirror = mirror;
    CHECK(ac_detect_create(dm, &s, &ver, err, sizeof err) == 0);
    CHECK(ac_verify_create(vm, 1, &v, err, sizeof err) == 0);
    if (!plain || !ver || !v)
        goto out;
    ac_verify_set_mirror(v, mirror);
    static struct ac_face a[256], b[256], want[256];
    int na = ac_detect_run(plain, im->rgb, im->w, im->h, im->stride, a);
    int nb = ac_detect_run(ver, im->rgb, im->w, im->h, im->stride, b);
    CHECK(na >= 1 && nb >= 1);
    int in_w, in_h, nw = 0;
    ac_detect_input_size(plain, &in_w, &in_h);
    float in_scale = fminf((float)in_w / im->w, (float)in_h / im->h);
    for (int i = 0; i < na; i++) {
        float p;
        struct ac_face r;
        CHECK(ac_verify_face(v, im->rgb, im->w, im->h, im->stride, &a[i], &p, &r) == 0);
        if (fmaxf(a[i].x1 - a[i].x0, a[i].y1 - a[i].y0) * in_scale < refine_max)
            moved++;
        else
            ac_detpost_blend_box(&r, &a[i], refine_large); /* 0: the network's box */
        r.score = sqrtf(a[i].score * p);
        r.x0 = fmaxf(r.x0, 0);
        r.y0 = fmaxf(r.y0, 0);
        r.x1 = fminf(r.x1, (float)im->w);
        r.y1 = fminf(r.y1, (float)im->h);
        if (r.score >= 0.02f && r.x1 > r.x0 && r.y1 > r.y0)
            want[nw++] = r;
    }
    nw = ac_detpost_nms(want, nw, s.nms_thr, s.max_faces);
    CHECK(nb == nw);
    for (int j = 0; j < nb && j < nw; j++)
        CHECK(b[j].x0 == want[j].x0 && b[j].y1 == want[j].y1 && b[j].score == want[j].score);
    for (int j = 1; j < nb; j++)
        CHECK(b[j - 1].score >= b[j].score);
    printf("mirror %d, refine_max %g, refine_large %g: plain at 0.0004: %d faces (%d moved); "
           "verified at 0.02: %d; best %.1f %.1f %.1f %.1f (%.3f), network's %.1f %.1f %.1f %.1f (%.3f)\n",
           mirror, refine_max, refine_large, na, moved, nb, b[0].x0, b[0].y0, b[0].x1, b[0].y1, b[0].score,
           a[0].x0, a[0].y0, a[0].x1, a[0].y1, a[0].score);
out:
    ac_verify_destroy(v);
    ac_detect_destroy(plain);
    ac_detect_destroy(ver);
    return moved;
}

/* The verifier's mirror pass equals the mean of two plain passes: the face
 * on the image and the mirrored face on the mirrored image (the same crop
 * mirrored, up to the crop's float rounding), the x refinement flipped. */
static void check_mirror(const struct ac_nn_model *vm, const struct ac_image *im)
{
    char err[256];
    struct ac_verify *v = NULL;
    CHECK(ac_verify_create(vm, 1, &v, err, sizeof err) == 0);
    uint8_t *mir = malloc((size_t)im->h * im->w * 3);
    if (!v || !mir)
        goto out;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            memcpy(mir + 3 * ((size_t)y * im->w + x), im->rgb + (size_t)y * im->stride + 3 * (im->w - 1 - x), 3);
    const float boxes[3][4] = {{60, 40, 110, 100}, {5, 5, 40, 50}, {182, 59, 271, 175}}; /* the last a face */
    for (int i = 0; i < 3; i++) {
        struct ac_face f = {.x0 = boxes[i][0], .y0 = boxes[i][1], .x1 = boxes[i][2], .y1 = boxes[i][3]};
        struct ac_face fm = f, r1, r2, rm;
        fm.x0 = (float)im->w - f.x1;
        fm.x1 = (float)im->w - f.x0;
        float p1, p2, pm;
        ac_verify_set_mirror(v, 0);
        CHECK(ac_verify_face(v, im->rgb, im->w, im->h, im->stride, &f, &p1, &r1) == 0);
        CHECK(ac_verify_face(v, mir, im->w, im->h, 3 * im->w, &fm, &p2, &r2) == 0);
        ac_verify_set_mirror(v, 1);
        CHECK(ac_verify_face(v, im->rgb, im->w, im->h, im->stride, &f, &pm, &rm) == 0);
        /* refined boxes: mean of the two, the mirrored one mapped back */
        float wx0 = 0.5f * (r1.x0 + ((float)im->w - r2.x1)), wx1 = 0.5f * (r1.x1 + ((float)im->w - r2.x0));
        float wy0 = 0.5f * (r1.y0 + r2.y0), wy1 = 0.5f * (r1.y1 + r2.y1);
        float tol = 0.02f * (f.x1 - f.x0);
        printf("mirror box %d: p %.4f %.4f -> %.4f; x0 %.2f (mean of the two %.2f)\n", i, p1, p2, pm, rm.x0, wx0);
        CHECK(near(pm, 0.5f * (p1 + p2), 0.01f));
        CHECK(near(rm.x0, wx0, tol) && near(rm.x1, wx1, tol) && near(rm.y0, wy0, tol) && near(rm.y1, wy1, tol));
    }
out:
    free(mir);
    ac_verify_destroy(v);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s VERIFIER GOLDEN DET_MODEL IMAGE\n", argv[0]);
        return 2;
    }
    struct ac_nn_model *vm = NULL, *dm = NULL;
    char err[256];
    if (ac_nn_model_load(argv[1], &vm, err, sizeof err) ||
        ac_nn_model_load(argv[3], &dm, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    struct ac_verify *v = NULL;
    CHECK(ac_verify_create(dm, 1, &v, err, sizeof err) == -EINVAL && v == NULL);
    struct ac_detect_settings s;
    ac_detect_defaults(&s);
    s.verifier = dm; /* not a verifier: the detector refuses to start */
    struct ac_detect *d = NULL;
    CHECK(ac_detect_create(dm, &s, &d, err, sizeof err) == -EINVAL && d == NULL);
    CHECK(strstr(err, "verifier") != NULL);
    check_refine();
    check_golden(vm, argv[2]);
    struct ac_image im;
    int rc = ac_image_load(argv[4], &im);
    if (rc) {
        fprintf(stderr, "%s: cannot load (%d)\n", argv[4], rc);
        check_failures++;
    } else {
        CHECK(check_detect(vm, dm, &im, 0.0f, 0.0f, 0) == 0);
        /* the default moves some faces all the way but not all: both
         * branches run, with the larger faces kept or moved half way */
        CHECK(s.refine_large == 0.5f); /* the default */
        int some = check_detect(vm, dm, &im, s.refine_max, 0.0f, 0);
        int all = check_detect(vm, dm, &im, 1e9f, 0.0f, 0);
        CHECK(some > 0 && some < all);
        CHECK(check_detect(vm, dm, &im, s.refine_max, s.refine_large, 0) == some);
        CHECK(s.verify_mirror == 1); /* the default */
        CHECK(check_detect(vm, dm, &im, s.refine_max, s.refine_large, 1) == some);
        check_mirror(vm, &im);
        ac_image_free(&im);
    }
    ac_nn_model_destroy(vm);
    ac_nn_model_destroy(dm);
    return check_done("test_verify");
}
