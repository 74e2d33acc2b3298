/* Bench rows for the age nets: one forward pass per backend, and the whole
 * estimator (resize of a 200x200 chip + two passes for the mirror). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "age/ac_age.h"
#include "tools/ac_bench.h"

struct age_param {
    const char *variant;
    enum ac_nn_backend backend;
    int estimate; /* whole estimator rather than one pass */
};

struct age_state {
    struct ac_nn_model *model;
    struct ac_nn_ctx *ctx;
    struct ac_age *est;
    uint8_t *crop;
    long long file_bytes;
};

#define CROP 200 /* the UTKFace chip size */

static void age_teardown(void *s)
{
    struct age_state *st = s;
    if (!st)
        return;
    ac_age_destroy(st->est);
    if (st->ctx)
        ac_nn_ctx_destroy(st->ctx);
    if (st->model)
        ac_nn_model_destroy(st->model);
    free(st->crop);
    free(st);
}

static int age_setup(const struct ac_bench_opts *o, const void *param, void **state, char *err,
                     size_t errlen)
{
    const struct age_param *p = param;
    char path[1024];
    int rc;
    if (o->model_dir) {
        snprintf(path, sizeof path, "%s/smlf-%s.acnn", o->model_dir, p->variant);
    } else if ((rc = ac_age_find_model(p->variant, path, sizeof path, err, errlen))) {
        return rc;
    }
    struct age_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    *state = st;
    if ((rc = ac_bench_load_model(path, &st->model, &st->file_bytes, err, errlen)))
        return rc;
    char msg[256] = "";
    if (p->estimate) {
        struct ac_age_settings s;
        ac_age_settings_default(&s);
        s.backend = p->backend;
        s.threads = o->threads;
        if ((rc = ac_age_create_shared(&s, st->model, &st->est, msg, sizeof msg))) {
            snprintf(err, errlen, "%s: %s", path, msg);
            return rc;
        }
        /* a smooth face-sized pattern; the work does not depend on content */
        if (!(st->crop = malloc(CROP * CROP * 3)))
            return -ENOMEM;
        ac_bench_fill_rgb(st->crop, CROP, CROP);
        return 0;
    }
    return ac_bench_net_ctx(st->model, path, p->backend, o->threads, &st->ctx, err, errlen);
}

static int age_run(void *s)
{
    struct age_state *st = s;
    if (st->est) {
        struct ac_age_result r;
        return ac_age_estimate(st->est, st->crop, CROP, CROP, CROP * 3, &r);
    }
    return ac_nn_run(st->ctx);
}

static int age_figures(void *s, struct ac_bench_figure *f, int max)
{
    struct age_state *st = s;
    const struct ac_nn_info *info = ac_nn_model_info(st->model);
    int n = 0;
    ac_bench_figure_add(f, max, &n, "input", info->input_w);
    ac_bench_figure_add(f, max, &n, "params", (double)info->param_count);
    ac_bench_figure_add(f, max, &n, "macs", (double)info->macs);
    ac_bench_figure_add(f, max, &n, "arena_bytes",
                        (double)(st->est ? ac_age_arena_bytes(st->est) : ac_nn_ctx_arena_bytes(st->ctx)));
    ac_bench_figure_add(f, max, &n, "file_bytes", (double)st->file_bytes);
    return n;
}

static const struct age_param p_full_scalar = {"full", AC_NN_SCALAR, 0};
static const struct age_param p_full_fast = {"full", AC_NN_FAST, 0};
static const struct age_param p_full_est = {"full", AC_NN_FAST, 1};
static const struct age_param p_small_scalar = {"small", AC_NN_SCALAR, 0};
static const struct age_param p_small_fast = {"small", AC_NN_FAST, 0};
static const struct age_param p_small_est = {"small", AC_NN_FAST, 1};
/* the int8 copies made by agecam quantize (models/smlf-*-int8.acnn) */
static const struct age_param p_full_q8 = {"full-int8", AC_NN_FAST, 0};
static const struct age_param p_small_q8 = {"small-int8", AC_NN_FAST, 0};

#define AGE_CASE(name, what, p) {name, what, age_setup, age_run, age_figures, age_teardown, &p}

const struct ac_bench_case ac_bench_age[] = {
    AGE_CASE("age/full/scalar/net", "one forward pass, scalar kernels", p_full_scalar),
    AGE_CASE("age/full/fast/net", "one forward pass, fast kernels", p_full_fast),
    AGE_CASE("age/full/fast/estimate", "200x200 chip: resize + 2 passes (mirror)", p_full_est),
    AGE_CASE("age/small/scalar/net", "one forward pass, scalar kernels", p_small_scalar),
    AGE_CASE("age/small/fast/net", "one forward pass, fast kernels", p_small_fast),
    AGE_CASE("age/small/fast/estimate", "200x200 chip: resize + 2 passes (mirror)", p_small_est),
    AGE_CASE("age/full-int8/fast/net", "one forward pass, 1x1 convs in int8", p_full_q8),
    AGE_CASE("age/small-int8/fast/net", "one forward pass, 1x1 convs in int8", p_small_q8),
    {0},
};
