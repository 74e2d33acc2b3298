#include "age/ac_age.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ac_resize.h"

struct plan_slot {
    struct ac_resize_plan plan;
    int valid;
    unsigned last_used;
};

struct ac_age {
    struct ac_age_settings s;
    struct ac_nn_model *owned;
    const struct ac_nn_model *model;
    const struct ac_nn_info *info;
    struct ac_nn_ctx *ctx;
    int out_index;
    int out_is_prob;      /* the model ends in its own softmax */
    size_t in_len;        /* floats in one input */
    float *buf;           /* the resized, normalised crop */
    float *prob2;         /* mirrored pass */
    struct plan_slot plans[AC_AGE_PLANS];
    unsigned tick, builds;
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void ac_age_settings_default(struct ac_age_settings *s)
{
    memset(s, 0, sizeof *s);
    s->backend = AC_NN_FAST;
    s->threads = 1;
    s->mirror = 1;
}

int ac_age_create_shared(const struct ac_age_settings *s, const struct ac_nn_model *model,
                         struct ac_age **out, char *err, size_t errlen)
{
    *out = NULL;
    const struct ac_nn_info *info = ac_nn_model_info(model);
    if (info->kind != AC_NN_KIND_AGE) {
        set_err(err, errlen, "model is not an age model (kind %d)", info->kind);
        return -EINVAL;
    }
    if (info->input_c != 3 || info->input_w < 1 || info->input_h < 1) {
        set_err(err, errlen, "age model input must be RGB, got %dx%dx%d", info->input_w,
                info->input_h, info->input_c);
        return -EINVAL;
    }
    if (info->num_classes < 2 || info->num_classes > AC_AGE_MAX_CLASSES) {
        set_err(err, errlen, "age model has %d classes (2..%d supported)", info->num_classes,
                AC_AGE_MAX_CLASSES);
        return -EINVAL;
    }
    struct ac_age *e = calloc(1, sizeof *e);
    if (!e) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    e->s = *s;
    e->s.model_path = NULL;
    e->model = model;
    e->info = info;
    e->in_len = (size_t)info->input_w * info->input_h * 3;
    struct ac_nn_ctx_opts o = {.backend = s->backend, .threads = s->threads};
    int rc = ac_nn_ctx_create(model, &o, &e->ctx);
    if (rc) {
        set_err(err, errlen, "cannot create an inference context: %s", strerror(-rc));
        goto fail;
    }
    /* run once so the output shape can be checked before the first face */
    float *in = ac_nn_input(e->ctx);
    memset(in, 0, e->in_len * sizeof *in);
    const float *data;
    int oh, ow, oc;
    const char *name = NULL;
    if ((rc = ac_nn_run(e->ctx)) || (rc = ac_nn_output(e->ctx, 0, &data, &oh, &ow, &oc, &name))) {
        set_err(err, errlen, "age model does not run: %s", strerror(-rc));
        goto fail;
    }
    if ((long long)oh * ow * oc != info->num_classes) {
        set_err(err, errlen, "age model output %dx%dx%d does not hold %d classes", oh, ow, oc,
                info->num_classes);
        rc = -EINVAL;
        goto fail;
    }
    e->out_is_prob = name && (strstr(name, "prob") || strstr(name, "softmax"));
    e->buf = malloc(e->in_len * sizeof *e->buf);
    e->prob2 = malloc(AC_AGE_MAX_CLASSES * sizeof *e->prob2);
    if (!e->buf || !e->prob2) {
        set_err(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto fail;
    }
    *out = e;
    return 0;
fail:
    ac_age_destroy(e);
    return rc;
}

int ac_age_create(const struct ac_age_settings *s, struct ac_age **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!s->model_path) {
        set_err(err, errlen, "no model path");
        return -EINVAL;
    }
    struct ac_nn_model *m = NULL;
    char msg[256] = "";
    int rc = ac_nn_model_load(s->model_path, &m, msg, sizeof msg);
    if (rc) {
        set_err(err, errlen, "%s: %s", s->model_path, msg[0] ? msg : strerror(-rc));
        return rc;
    }
    rc = ac_age_create_shared(s, m, out, msg, sizeof msg);
    if (rc) {
        set_err(err, errlen, "%s: %s", s->model_path, msg);
        ac_nn_model_destroy(m);
        return rc;
    }
    (*out)->owned = m;
    return 0;
}

void ac_age_destroy(struct ac_age *e)
{
    if (!e)
        return;
    for (int i = 0; i < AC_AGE_PLANS; i++)
        if (e->plans[i].valid)
            ac_resize_plan_uninit(&e->plans[i].plan);
    if (e->ctx)
        ac_nn_ctx_destroy(e->ctx);
    if (e->owned)
        ac_nn_model_destroy(e->owned);
    free(e->buf);
    free(e->prob2);
    free(e);
}

/* The plan for a w x h crop: reused if cached, else built in the least
 * recently used slot. */
static int get_plan(struct ac_age *e, int w, int h, struct ac_resize_plan **out)
{
    struct plan_slot *victim = &e->plans[0];
    e->tick++;
    for (int i = 0; i < AC_AGE_PLANS; i++) {
        struct plan_slot *p = &e->plans[i];
        if (p->valid && p->plan.in_w == w && p->plan.in_h == h) {
            p->last_used = e->tick;
            *out = &p->plan;
            return 0;
        }
        if (!p->valid || (victim->valid && p->last_used < victim->last_used))
            victim = p;
    }
    if (victim->valid)
        ac_resize_plan_uninit(&victim->plan);
    victim->valid = 0;
    int rc = ac_resize_plan_init(&victim->plan, w, h, e->info->input_w, e->info->input_h);
    if (rc)
        return rc;
    victim->valid = 1;
    victim->last_used = e->tick;
    e->builds++;
    *out = &victim->plan;
    return 0;
}

/* Probabilities of output 0 of the last run into p. */
static int read_prob(struct ac_age *e, float *p)
{
    const float *d;
    int rc = ac_nn_output(e->ctx, e->out_index, &d, NULL, NULL, NULL, NULL);
    if (rc)
        return rc;
    int n = e->info->num_classes;
    if (e->out_is_prob) {
        memcpy(p, d, (size_t)n * sizeof *p);
        return 0;
    }
    float mx = d[0];
    for (int i = 1; i < n; i++)
        mx = d[i] > mx ? d[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (p[i] = expf(d[i] - mx));
    for (int i = 0; i < n; i++)
        p[i] = (float)(p[i] / sum);
    return 0;
}

int ac_age_estimate(struct ac_age *e, const uint8_t *rgb, int w, int h, int stride,
                    struct ac_age_result *r)
{
    if (!rgb || w < 1 || h < 1 || stride < 3 * w)
        return -EINVAL;
    struct ac_resize_plan *plan;
    int rc = get_plan(e, w, h, &plan);
    if (rc)
        return rc;
    ac_resize_run(plan, rgb, stride, e->buf, e->info->mean, e->info->scale);

    /* the input buffer may be reused by the runtime for activations, so it
     * is refilled from buf for each pass */
    float *in = ac_nn_input(e->ctx);
    memcpy(in, e->buf, e->in_len * sizeof *in);
    if ((rc = ac_nn_run(e->ctx)) || (rc = read_prob(e, r->prob)))
        return rc;
    int n = e->info->num_classes;
    r->num_classes = n;
    if (e->s.mirror) {
        int iw = e->info->input_w, ih = e->info->input_h;
        for (int y = 0; y < ih; y++) {
            const float *s = e->buf + (size_t)y * iw * 3;
            float *d = in + (size_t)y * iw * 3;
            for (int x = 0; x < iw; x++)
                memcpy(d + 3 * x, s + 3 * (iw - 1 - x), 3 * sizeof *d);
        }
        if ((rc = ac_nn_run(e->ctx)) || (rc = read_prob(e, e->prob2)))
            return rc;
        for (int i = 0; i < n; i++)
            r->prob[i] = 0.5f * (r->prob[i] + e->prob2[i]);
    }
    ac_age_summarize(r);
    return 0;
}

void ac_age_summarize(struct ac_age_result *r)
{
    int n = r->num_classes;
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += (double)r->prob[i] * i;
    for (int i = 0; i < n; i++)
        var += (double)r->prob[i] * (i - mean) * (i - mean);
    r->age = (float)mean;
    r->std = (float)sqrt(var > 0 ? var : 0);
    for (int k = 0; k < AC_AGE_TOP; k++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                taken |= r->top[j] == i;
            if (!taken && (best < 0 || r->prob[i] > r->prob[best]))
                best = i;
        }
        r->top[k] = best;
    }
}

const struct ac_nn_model *ac_age_model(const struct ac_age *e) { return e->model; }
struct ac_nn_ctx *ac_age_nn_ctx(struct ac_age *e) { return e->ctx; }
const struct ac_nn_info *ac_age_info(const struct ac_age *e) { return e->info; }
unsigned ac_age_plan_builds(const struct ac_age *e) { return e->builds; }

size_t ac_age_arena_bytes(const struct ac_age *e)
{
    size_t b = ac_nn_ctx_arena_bytes(e->ctx) + e->in_len * sizeof(float) +
               AC_AGE_MAX_CLASSES * sizeof(float);
    for (int i = 0; i < AC_AGE_PLANS; i++) {
        const struct ac_resize_plan *p = &e->plans[i].plan;
        if (e->plans[i].valid)
            b += (size_t)p->in_h * p->out_w * 3 * sizeof(float) +
                 (size_t)(p->x.n_out * (2 * sizeof(int) + p->x.max_taps * sizeof(float))) +
                 (size_t)(p->y.n_out * (2 * sizeof(int) + p->y.max_taps * sizeof(float)));
    }
    return b;
}

#ifndef AGECAM_DATADIR
#define AGECAM_DATADIR "/usr/local/share/agecam"
#endif

int ac_age_find_model(const char *variant, char *path, size_t pathlen, char *err, size_t errlen)
{
    char file[64];
    snprintf(file, sizeof file, "smlf-%s.acnn", variant);
    return ac_nn_find_model(AGECAM_DATADIR, file, path, pathlen, err, errlen);
}
