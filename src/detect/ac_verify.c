#include "detect/ac_verify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/ac_align.h"

struct ac_verify {
    const struct ac_nn_model *model;
    struct ac_nn_ctx *ctx;
    int side;
    int has_box; /* output 1 holds the box refinement */
    int mirror;  /* also verify the mirrored crop and average */
    float mean[3], scale[3];
    uint8_t *crop; /* side * side * 3 */
};

void ac_verify_destroy(struct ac_verify *v)
{
    if (!v)
        return;
    ac_nn_ctx_destroy(v->ctx);
    free(v->crop);
    free(v);
}

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

int ac_verify_create(const struct ac_nn_model *model, int threads, struct ac_verify **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    const struct ac_nn_info *info = ac_nn_model_info(model);
    if (info->kind != AC_NN_KIND_VERIFIER || info->input_c != 3 ||
        info->input_w != info->input_h || info->input_w < 4 || info->input_w > 512)
        return fail(err, errlen, -EINVAL, "model is not a face verifier");
    struct ac_verify *v = calloc(1, sizeof(*v));
    if (!v)
        return fail(err, errlen, -ENOMEM, "out of memory");
    v->model = model;
    v->side = info->input_w;
    for (int c = 0; c < 3; c++) {
        v->mean[c] = info->mean[c];
        v->scale[c] = info->scale[c];
    }
    struct ac_nn_ctx_opts o = {.backend = AC_NN_FAST, .threads = threads};
    int rc = ac_nn_ctx_create(model, &o, &v->ctx);
    if (rc) {
        fail(err, errlen, rc, "verifier: cannot create inference context");
        goto out_fail;
    }
    v->crop = malloc((size_t)v->side * v->side * 3);
    if (!v->crop) {
        rc = fail(err, errlen, -ENOMEM, "out of memory");
        goto out_fail;
    }
    /* output shapes are known after a run: one on zeros, as ac_detect does */
    if ((rc = ac_nn_run(v->ctx))) {
        fail(err, errlen, rc, "verifier: test run failed");
        goto out_fail;
    }
    if (info->n_outputs > 1) {
        int oh, ow, oc;
        ac_nn_output(v->ctx, 1, NULL, &oh, &ow, &oc, NULL);
        if (oh * ow * oc != 4) {
            rc = fail(err, errlen, -EINVAL, "model is not a face verifier (output 1 is not a box)");
            goto out_fail;
        }
        v->has_box = 1;
    }
    *out = v;
    return 0;
out_fail:
    ac_verify_destroy(v);
    return rc;
}

int ac_verify_transform(const struct ac_face *f, int side, float m[4])
{
    float s = AC_VERIFY_CONTEXT * fmaxf(f->x1 - f->x0, f->y1 - f->y0);
    if (!(s > 0) || !isfinite(s) || side < 1)
        return -EINVAL;
    float cx = (f->x0 + f->x1) * 0.5f, cy = (f->y0 + f->y1) * 0.5f;
    float a = (float)side / s;
    m[0] = a;
    m[1] = 0.0f;
    m[2] = -a * (cx - s * 0.5f);
    m[3] = -a * (cy - s * 0.5f);
    return 0;
}

void ac_verify_refine(const float d[4], struct ac_face *f)
{
    if (!isfinite(d[0]) || !isfinite(d[1]) || !isfinite(d[2]) || !isfinite(d[3]))
        return; /* a broken output leaves the box as the detector made it */
    float w = f->x1 - f->x0, h = f->y1 - f->y0;
    float s = AC_VERIFY_CONTEXT * fmaxf(w, h);
    float cx = (f->x0 + f->x1) * 0.5f + d[0] / AC_VERIFY_REG_CENTRE * s;
    float cy = (f->y0 + f->y1) * 0.5f + d[1] / AC_VERIFY_REG_CENTRE * s;
    const float lim = 0.69314718f * AC_VERIFY_REG_SIZE; /* ln 2 */
    float nw = w * expf(fminf(fmaxf(d[2], -lim), lim) / AC_VERIFY_REG_SIZE);
    float nh = h * expf(fminf(fmaxf(d[3], -lim), lim) / AC_VERIFY_REG_SIZE);
    f->x0 = cx - nw * 0.5f;
    f->x1 = cx + nw * 0.5f;
    f->y0 = cy - nh * 0.5f;
    f->y1 = cy + nh * 0.5f;
}

int ac_verify_face(struct ac_verify *v, const uint8_t *rgb, int w, int h, int stride,
                   const struct ac_face *f, float *prob, struct ac_face *refined)
{
    float m[4];
    int rc = ac_verify_transform(f, v->side, m);
    if (rc || (rc = ac_align_warp_axis(rgb, w, h, stride, m, v->crop, v->side)))
        return rc;
    float *in = ac_nn_input(v->ctx);
    int s = v->side;
    float pr = 0.0f, box[4] = {0, 0, 0, 0};
    for (int pass = 0; pass < 1 + !!v->mirror; pass++) {
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                const uint8_t *q = v->crop + 3 * ((size_t)y * s + (pass ? s - 1 - x : x));
                float *d = in + 3 * ((size_t)y * s + x);
                for (int c = 0; c < 3; c++)
                    d[c] = ((float)q[c] - v->mean[c]) * v->scale[c];
            }
        if ((rc = ac_nn_run(v->ctx)))
            return rc;
        const float *p;
        ac_nn_output(v->ctx, 0, &p, NULL, NULL, NULL, NULL);
        pr += p[0];
        if (v->has_box) {
            ac_nn_output(v->ctx, 1, &p, NULL, NULL, NULL, NULL);
            /* the crop is centred on the box: mirrored, the x offset flips */
            box[0] += pass ? -p[0] : p[0];
            for (int k = 1; k < 4; k++)
                box[k] += p[k];
        }
    }
    if (v->mirror) {
        pr *= 0.5f;
        for (int k = 0; k < 4; k++)
            box[k] *= 0.5f;
    }
    /* the model ends in a sigmoid; clamp so a NaN can never pass a threshold */
    *prob = pr >= 0.0f ? fminf(pr, 1.0f) : 0.0f;
    if (refined) {
        *refined = *f;
        if (v->has_box)
            ac_verify_refine(box, refined);
    }
    return 0;
}

void ac_verify_set_mirror(struct ac_verify *v, int on) { v->mirror = on; }

const uint8_t *ac_verify_last_crop(const struct ac_verify *v, int *side)
{
    *side = v->side;
    return v->crop;
}

int ac_verify_find_model(char *path, size_t pathlen, char *err, size_t errlen)
{
    return ac_nn_find_model(AGECAM_DATADIR, "face-verify.acnn", path, pathlen, err, errlen);
}

int ac_verify_setting_path(const char *setting, char *path, size_t pathlen)
{
    char err[256];
    if (!strcmp(setting, "none"))
        return 0;
    if (!strcmp(setting, "auto"))
        return ac_verify_find_model(path, pathlen, err, sizeof err) == 0;
    snprintf(path, pathlen, "%s", setting);
    return 1;
}
