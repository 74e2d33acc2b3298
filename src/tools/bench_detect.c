/* Bench rows for the face detector: one network pass at 320x240, and the
 * whole detector on a 640x480 frame (libyuv letterbox, pass, decoding,
 * NMS), and the same with the mirror pass (detect.flip). The frame is a
 * synthetic pattern: with few candidates the post-processing share is the
 * minimum; real scenes add the NMS of their faces (well under a millisecond
 * for tens of faces). And one face verification (src/detect/ac_verify.h):
 * crop, network and box refinement for a 120-px box; the detector runs it
 * once per face it keeps, so a frame costs this times its faces. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect/ac_detect.h"
#include "detect/ac_verify.h"
#include "tools/ac_bench.h"

struct det_param {
    const char *size;
    int full; /* 0: network pass only; 1: the whole detector */
    int flip; /* whole detector with the mirror pass (detect.flip) */
};

struct det_state {
    struct ac_nn_model *model;
    struct ac_nn_ctx *ctx;
    struct ac_detect *det;
    struct ac_face *faces;
    uint8_t *frame;
    long long file_bytes;
};

#define FRAME_W 640
#define FRAME_H 480

static void det_teardown(void *s)
{
    struct det_state *st = s;
    if (!st)
        return;
    ac_detect_destroy(st->det);
    ac_nn_ctx_destroy(st->ctx);
    ac_nn_model_destroy(st->model);
    free(st->faces);
    free(st->frame);
    free(st);
}

static int det_setup(const struct ac_bench_opts *o, const void *param, void **state, char *err,
                     size_t errlen)
{
    const struct det_param *p = param;
    char path[1024];
    int rc;
    if (o->model_dir)
        snprintf(path, sizeof path, "%s/det-%s.acnn", o->model_dir, p->size);
    else if ((rc = ac_detect_find_model(p->size, path, sizeof path, err, errlen)))
        return rc;
    struct det_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    *state = st;
    if ((rc = ac_bench_load_model(path, &st->model, &st->file_bytes, err, errlen)))
        return rc;
    if (!p->full)
        return ac_bench_net_ctx(st->model, path, AC_NN_FAST, o->threads, &st->ctx, err, errlen);
    char msg[256] = "";
    struct ac_detect_settings s;
    ac_detect_defaults(&s);
    s.max_src_w = FRAME_W;
    s.max_src_h = FRAME_H;
    s.flip = p->flip;
    if ((rc = ac_detect_create(st->model, &s, &st->det, msg, sizeof msg))) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return rc;
    }
    st->faces = malloc(sizeof(*st->faces) * (size_t)s.max_faces);
    st->frame = malloc(FRAME_W * FRAME_H * 3);
    if (!st->faces || !st->frame)
        return -ENOMEM;
    ac_bench_fill_rgb(st->frame, FRAME_W, FRAME_H);
    return 0;
}

static int det_run(void *s)
{
    struct det_state *st = s;
    if (st->det) {
        int n = ac_detect_run(st->det, st->frame, FRAME_W, FRAME_H, FRAME_W * 3, st->faces);
        return n < 0 ? n : 0;
    }
    return ac_nn_run(st->ctx);
}

static int det_figures(void *s, struct ac_bench_figure *f, int max)
{
    struct det_state *st = s;
    const struct ac_nn_info *info = ac_nn_model_info(st->model);
    int n = 0;
    ac_bench_figure_add(f, max, &n, "input_w", info->input_w);
    ac_bench_figure_add(f, max, &n, "input_h", info->input_h);
    ac_bench_figure_add(f, max, &n, "params", (double)info->param_count);
    ac_bench_figure_add(f, max, &n, "macs", (double)info->macs);
    if (st->ctx)
        ac_bench_figure_add(f, max, &n, "arena_bytes", (double)ac_nn_ctx_arena_bytes(st->ctx));
    ac_bench_figure_add(f, max, &n, "file_bytes", (double)st->file_bytes);
    return n;
}

struct ver_state {
    struct ac_nn_model *model;
    struct ac_verify *ver;
    uint8_t *frame;
    long long file_bytes;
};

static void ver_teardown(void *s)
{
    struct ver_state *st = s;
    if (!st)
        return;
    ac_verify_destroy(st->ver);
    ac_nn_model_destroy(st->model);
    free(st->frame);
    free(st);
}

static int ver_setup(const struct ac_bench_opts *o, const void *param, void **state, char *err,
                     size_t errlen)
{
    const int *mirror = param;
    char path[1024], msg[256] = "";
    int rc;
    if (o->model_dir)
        snprintf(path, sizeof path, "%s/face-verify.acnn", o->model_dir);
    else if ((rc = ac_verify_find_model(path, sizeof path, err, errlen)))
        return rc;
    struct ver_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    *state = st;
    if ((rc = ac_bench_load_model(path, &st->model, &st->file_bytes, err, errlen)))
        return rc;
    if ((rc = ac_verify_create(st->model, o->threads, &st->ver, msg, sizeof msg))) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return rc;
    }
    ac_verify_set_mirror(st->ver, *mirror);
    if (!(st->frame = malloc(FRAME_W * FRAME_H * 3)))
        return -ENOMEM;
    ac_bench_fill_rgb(st->frame, FRAME_W, FRAME_H);
    return 0;
}

static int ver_run(void *s)
{
    struct ver_state *st = s;
    struct ac_face f = {.x0 = 260, .y0 = 160, .x1 = 380, .y1 = 280};
    struct ac_face refined;
    float p;
    return ac_verify_face(st->ver, st->frame, FRAME_W, FRAME_H, FRAME_W * 3, &f, &p, &refined);
}

static int ver_figures(void *s, struct ac_bench_figure *f, int max)
{
    struct ver_state *st = s;
    const struct ac_nn_info *info = ac_nn_model_info(st->model);
    int n = 0;
    ac_bench_figure_add(f, max, &n, "input_w", info->input_w);
    ac_bench_figure_add(f, max, &n, "params", (double)info->param_count);
    ac_bench_figure_add(f, max, &n, "macs", (double)info->macs);
    ac_bench_figure_add(f, max, &n, "file_bytes", (double)st->file_bytes);
    return n;
}

static const struct det_param p320_net = {"320x240", 0, 0}, p320_full = {"320x240", 1, 0},
                               p320_flip = {"320x240", 1, 1};
static const int ver_plain = 0, ver_mirror = 1;

const struct ac_bench_case ac_bench_detect[] = {
    {"detect/320x240/net", "one detector network pass at 320x240", det_setup, det_run,
     det_figures, det_teardown, &p320_net},
    {"detect/320x240/full", "640x480 RGB frame: letterbox, pass, decode, NMS", det_setup, det_run,
     det_figures, det_teardown, &p320_full},
    {"detect/320x240/flip", "the same with detect.flip: a second pass on the mirror image, one NMS",
     det_setup, det_run, det_figures, det_teardown, &p320_flip},
    {"detect/verify/face", "face verifier on one 120-px face of a 640x480 frame: crop, network",
     ver_setup, ver_run, ver_figures, ver_teardown, &ver_plain},
    {"detect/verify/face-mirror", "the same with detect.verifier_mirror (the default): the network "
     "also on the mirrored crop", ver_setup, ver_run, ver_figures, ver_teardown, &ver_mirror},
    {0},
};
