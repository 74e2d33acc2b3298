#define _POSIX_C_SOURCE 200809L
#include "detect/ac_detect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ac_resize.h"
#include "detect/ac_verify.h"

struct ac_detect {
    struct ac_detect_settings set;
    const struct ac_nn_model *model;
    struct ac_nn_ctx *ctx;
    struct ac_det_layout layout;
    int in_w, in_h;
    float mean[3], scale[3];
    int out_index[AC_DET_MAX_LEVELS];
    struct ac_resize_plan plan; /* for the last image size; rebuilt when it changes */
    int plan_w, plan_h;         /* 0: no plan yet */
    float *scaled;              /* in_w * in_h * 3, the resized image before letterboxing */
    struct ac_face *cand;
    int max_cand; /* per pass; cand holds two passes' worth with flip */
    struct ac_verify *verify; /* NULL: none */
    float cand_thr;           /* the network's threshold: score_thr, or its square */
};

void ac_detect_defaults(struct ac_detect_settings *s)
{
    s->score_thr = 0.5f;
    s->nms_thr = 0.4f;
    s->min_face = 0.0f;
    s->max_faces = 256;
    s->max_src_w = 1920;
    s->max_src_h = 1080;
    s->threads = 1;
    s->flip = 0;
    s->verifier = NULL;
    s->refine_max = 32.0f;
    s->refine_large = 0.5f;
    s->verify_mirror = 1;
}

void ac_detect_destroy(struct ac_detect *d)
{
    if (!d)
        return;
    ac_nn_ctx_destroy(d->ctx);
    ac_verify_destroy(d->verify);
    if (d->plan_w)
        ac_resize_plan_uninit(&d->plan);
    free(d->scaled);
    free(d->cand);
    free(d);
}

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

/* Output tensors must match the anchor layout; checked once on a zero input
 * so a mismatched file is refused at start-up, not mis-decoded per frame. */
static int check_outputs(struct ac_detect *d, char *err, size_t errlen)
{
    const struct ac_nn_info *info = ac_nn_model_info(d->model);
    if (info->n_outputs != d->layout.n_levels)
        return fail(err, errlen, -EINVAL, "detector: output count differs from det_levels");
    memset(ac_nn_input(d->ctx), 0, sizeof(float) * (size_t)d->in_w * d->in_h * 3);
    int rc = ac_nn_run(d->ctx);
    if (rc)
        return fail(err, errlen, rc, "detector: test run failed");
    d->max_cand = 0;
    for (int li = 0; li < d->layout.n_levels; li++) {
        const struct ac_det_level *lv = &d->layout.level[li];
        int h, w, ch;
        d->out_index[li] = li;
        ac_nn_output(d->ctx, li, NULL, &h, &w, &ch, NULL);
        if (h != (d->in_h + lv->stride - 1) / lv->stride ||
            w != (d->in_w + lv->stride - 1) / lv->stride ||
            ch != ac_detpost_head_channels(&d->layout, li))
            return fail(err, errlen, -EINVAL, "detector: head shape does not match det_levels");
        d->max_cand += h * w * lv->n_anchors;
    }
    return 0;
}

int ac_detect_create(const struct ac_nn_model *model, const struct ac_detect_settings *s,
                     struct ac_detect **out, char *err, size_t errlen)
{
    *out = NULL;
    if (s->max_faces < 1 || s->max_src_w < 1 || s->max_src_h < 1 || s->max_src_w > 16384 ||
        s->max_src_h > 16384 || !(s->score_thr >= 0 && s->score_thr <= 1) ||
        !(s->nms_thr > 0 && s->nms_thr <= 1) || !(s->min_face >= 0) || s->flip < 0 || s->flip > 1 ||
        !(s->refine_large >= 0 && s->refine_large <= 1))
        return fail(err, errlen, -EINVAL, "detector: bad settings");
    const struct ac_nn_info *info = ac_nn_model_info(model);
    if (info->kind != AC_NN_KIND_DETECTOR || info->input_c != 3)
        return fail(err, errlen, -EINVAL, "model is not a face detector");
    struct ac_detect *d = calloc(1, sizeof(*d));
    if (!d)
        return fail(err, errlen, -ENOMEM, "out of memory");
    d->set = *s;
    d->model = model;
    d->in_w = info->input_w;
    d->in_h = info->input_h;
    memcpy(d->mean, info->mean, sizeof(d->mean));
    memcpy(d->scale, info->scale, sizeof(d->scale));
    int rc = ac_detpost_parse_layout(ac_nn_model_meta(model, "det_levels"),
                                     ac_nn_model_meta(model, "det_maxout_bg"),
                                     ac_nn_model_meta(model, "det_variance"), &d->layout);
    if (rc) {
        fail(err, errlen, rc, "detector: missing or bad det_levels/det_maxout_bg/det_variance");
        goto out_fail;
    }
    struct ac_nn_ctx_opts o = {.backend = AC_NN_FAST, .threads = s->threads};
    rc = ac_nn_ctx_create(model, &o, &d->ctx);
    if (rc) {
        fail(err, errlen, rc, "detector: cannot create inference context");
        goto out_fail;
    }
    rc = check_outputs(d, err, errlen);
    if (rc)
        goto out_fail;
    d->cand_thr = s->score_thr;
    if (s->verifier) {
        char why[160];
        /* one thread: its layers are too small to share (0.2 ms a face) */
        if ((rc = ac_verify_create(s->verifier, 1, &d->verify, why, sizeof why))) {
            if (err && errlen)
                snprintf(err, errlen, "verifier: %s", why);
            goto out_fail;
        }
        d->cand_thr = s->score_thr * s->score_thr;
        ac_verify_set_mirror(d->verify, s->verify_mirror);
    }
    d->scaled = malloc(sizeof(float) * (size_t)d->in_w * d->in_h * 3);
    size_t cand_bytes = sizeof(*d->cand) * (size_t)d->max_cand * (s->flip ? 2 : 1);
    d->cand = malloc(cand_bytes);
    if (!d->scaled || !d->cand) {
        rc = fail(err, errlen, -ENOMEM, "out of memory");
        goto out_fail;
    }
    /* a frame fills only as many candidates as it has: written once here,
     * the first crowded scene does not step the daemon's RSS up */
    memset(d->cand, 0, cand_bytes);
    *out = d;
    return 0;
out_fail:
    ac_detect_destroy(d);
    return rc;
}

void ac_detect_input_size(const struct ac_detect *d, int *w, int *h)
{
    *w = d->in_w;
    *h = d->in_h;
}

/* Letterbox: scaled image top-left, normalised mean (0) elsewhere. The
 * antialiased float resize is the one training used (train/preprocess.py,
 * PIL-style triangle filter); its plan depends on the image size only, so a
 * camera stream builds it once. libyuv's scalers were not used: they
 * allocate row buffers on every call. */
static int preprocess(struct ac_detect *d, const uint8_t *rgb, int w, int h, int stride, int rw,
                      int rh)
{
    if (d->plan_w != w || d->plan_h != h || d->plan.out_w != rw || d->plan.out_h != rh) {
        if (d->plan_w)
            ac_resize_plan_uninit(&d->plan);
        d->plan_w = d->plan_h = 0;
        int rc = ac_resize_plan_init(&d->plan, w, h, rw, rh);
        if (rc)
            return rc;
        d->plan_w = w;
        d->plan_h = h;
    }
    ac_resize_run(&d->plan, rgb, stride, d->scaled, d->mean, d->scale);
    float *in = ac_nn_input(d->ctx);
    for (int y = 0; y < rh; y++) {
        float *q = in + (size_t)y * d->in_w * 3;
        memcpy(q, d->scaled + (size_t)y * rw * 3, sizeof(float) * (size_t)rw * 3);
        memset(q + (size_t)rw * 3, 0, sizeof(float) * (size_t)(d->in_w - rw) * 3);
    }
    memset(in + (size_t)rh * d->in_w * 3, 0, sizeof(float) * (size_t)(d->in_h - rh) * d->in_w * 3);
    return 0;
}

/* Runs the network on the prepared input and decodes every anchor above the
 * score threshold into out (detector-input pixels); mirrored: the input is
 * the mirror image, so faces are mapped back. Count, or a negative code. */
static int decode_pass(struct ac_detect *d, struct ac_face *out, int mirrored)
{
    int rc = ac_nn_run(d->ctx);
    if (rc)
        return rc;
    int n = 0;
    for (int li = 0; li < d->layout.n_levels; li++) {
        const float *data;
        int fh, fw;
        ac_nn_output(d->ctx, d->out_index[li], &data, &fh, &fw, NULL, NULL);
        rc = ac_detpost_decode_level(&d->layout, li, data, fh, fw, d->cand_thr, out + n,
                                     d->max_cand - n);
        if (rc < 0)
            return rc;
        n += rc;
    }
    for (int i = 0; mirrored && i < n; i++)
        ac_detpost_unmirror(&out[i], (float)d->in_w);
    return n;
}

/* Mirrors the whole letterboxed input in place. The image then sits at the
 * right with the padding on the left; the network is convolutional, so that
 * is still a valid input, and it saves a second resize. */
static void mirror_input(struct ac_detect *d)
{
    float *in = ac_nn_input(d->ctx);
    for (int y = 0; y < d->in_h; y++) {
        float *row = in + (size_t)y * d->in_w * 3;
        for (int a = 0, b = d->in_w - 1; a < b; a++, b--)
            for (int c = 0; c < 3; c++) {
                float t = row[3 * a + c];
                row[3 * a + c] = row[3 * b + c];
                row[3 * b + c] = t;
            }
    }
}

/* Rescores the n faces in cand with the verifier, moves the boxes of those
 * under refine_max pixels at the network's input (in_scale: input pixels
 * per image pixel) to where it refines them and the others refine_large of
 * the way there (clipped to the image, as the network's are), drops those
 * under score_thr, and runs NMS again: refined boxes of one face can now
 * overlap, and NMS also sorts by the new score. In place, no allocation.
 * New count or an error. */
static int verify_faces(struct ac_detect *d, const uint8_t *rgb, int w, int h, int stride, int n,
                        float in_scale)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        struct ac_face f = d->cand[i];
        float p;
        int small = fmaxf(f.x1 - f.x0, f.y1 - f.y0) * in_scale < d->set.refine_max;
        float k = small ? 1.0f : d->set.refine_large;
        int rc = ac_verify_face(d->verify, rgb, w, h, stride, &d->cand[i], &p, k > 0 ? &f : NULL);
        if (rc)
            return rc;
        if (k < 1.0f)
            ac_detpost_blend_box(&f, &d->cand[i], k);
        f.score = sqrtf(d->cand[i].score * p);
        f.x0 = fmaxf(0.0f, f.x0);
        f.y0 = fmaxf(0.0f, f.y0);
        f.x1 = fminf((float)w, f.x1);
        f.y1 = fminf((float)h, f.y1);
        if (!(f.score >= d->set.score_thr) || !(f.x1 > f.x0 && f.y1 > f.y0))
            continue;
        d->cand[m++] = f; /* m <= i: cand[i] was read above */
    }
    return ac_detpost_nms(d->cand, m, d->set.nms_thr, d->set.max_faces);
}

int ac_detect_run(struct ac_detect *d, const uint8_t *rgb, int w, int h, int stride,
                  struct ac_face *faces)
{
    if (!rgb || w < 1 || h < 1 || stride < 3 * w)
        return -EINVAL;
    if (w > d->set.max_src_w || h > d->set.max_src_h)
        return -E2BIG;
    double s = fmin((double)d->in_w / w, (double)d->in_h / h);
    int rw = (int)lround(w * s), rh = (int)lround(h * s);
    rw = rw < 1 ? 1 : rw > d->in_w ? d->in_w : rw;
    rh = rh < 1 ? 1 : rh > d->in_h ? d->in_h : rh;
    int rc = preprocess(d, rgb, w, h, stride, rw, rh);
    if (rc)
        return rc;
    int n = decode_pass(d, d->cand, 0);
    if (n >= 0 && d->set.flip) {
        mirror_input(d);
        int n2 = decode_pass(d, d->cand + n, 1);
        n = n2 < 0 ? n2 : n + n2;
    }
    if (n < 0)
        return n;
    /* back to image pixels (per-axis scale: rounding made rw/w != rh/h) */
    float sx = (float)w / rw, sy = (float)h / rh;
    int m = 0;
    for (int i = 0; i < n; i++) {
        struct ac_face f = d->cand[i];
        f.x0 = fmaxf(0.0f, f.x0 * sx);
        f.x1 = fminf((float)w, f.x1 * sx);
        f.y0 = fmaxf(0.0f, f.y0 * sy);
        f.y1 = fminf((float)h, f.y1 * sy);
        for (int k = 0; k < 5; k++) {
            f.lm[2 * k] *= sx;
            f.lm[2 * k + 1] *= sy;
        }
        if (f.x1 <= f.x0 || f.y1 <= f.y0 || fmaxf(f.x1 - f.x0, f.y1 - f.y0) < d->set.min_face)
            continue;
        d->cand[m++] = f;
    }
    n = ac_detpost_nms(d->cand, m, d->set.nms_thr, d->set.max_faces);
    if (d->verify && (n = verify_faces(d, rgb, w, h, stride, n, (float)s)) < 0)
        return n;
    memcpy(faces, d->cand, sizeof(*faces) * (size_t)n);
    return n;
}

int ac_detect_find_model(const char *size, char *path, size_t pathlen, char *err, size_t errlen)
{
    char file[64];
    snprintf(file, sizeof file, "det-%s.acnn", size);
    return ac_nn_find_model(AGECAM_DATADIR, file, path, pathlen, err, errlen);
}
