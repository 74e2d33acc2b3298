#include "daemon/ac_faces.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/ac_align.h"
#include "detect/ac_detect.h"
#include "detect/ac_verify.h"
#include "nn/ac_nn.h"

#ifndef AGECAM_DATADIR
#define AGECAM_DATADIR "/usr/share/agecam"
#endif

#define MAX_RAW 256

struct replay_box {
    uint64_t frame;
    float x, y, w, h;
};

struct ac_facedet {
    int none;
    struct replay_box *replay;
    size_t nreplay;
    uint64_t replay_frames;
    struct ac_nn_model *model;
    struct ac_nn_model *vmodel; /* face verifier, NULL: none */
    struct ac_detect *det;
    struct ac_face raw[MAX_RAW];
    char path[2 * AC_CFG_STR + 64];
};

int ac_find_model_glob(const char *pattern, char *path, size_t len, char *err, size_t errlen)
{
    const char *env = getenv("AGECAM_MODEL_DIR");
    const char *dirs[3] = {env && *env ? env : NULL, AGECAM_DATADIR, "models"};
    for (int i = 0; i < 3; i++) {
        if (!dirs[i])
            continue;
        char pat[512];
        snprintf(pat, sizeof pat, "%s/%s", dirs[i], pattern);
        glob_t g;
        if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
            snprintf(path, len, "%s", g.gl_pathv[0]);
            globfree(&g);
            return 0;
        }
        globfree(&g);
    }
    snprintf(err, errlen, "no %s in $AGECAM_MODEL_DIR (%s), %s or ./models", pattern,
             env && *env ? env : "unset", AGECAM_DATADIR);
    return -ENOENT;
}

static int cmp_box(const void *a, const void *b)
{
    const struct replay_box *x = a, *y = b;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int load_replay(struct ac_facedet *d, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "replay boxes %s: %s", path, strerror(e));
        return -e;
    }
    char line[256];
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long long fr;
        struct replay_box b;
        if (sscanf(line, "%llu %f %f %f %f", &fr, &b.x, &b.y, &b.w, &b.h) != 5 || !(b.w > 0) ||
            !(b.h > 0)) {
            snprintf(err, errlen, "%s:%d: expected 'frame x y w h'", path, lineno);
            rc = -EINVAL;
            break;
        }
        b.frame = fr;
        if (d->nreplay == cap) {
            cap = cap ? 2 * cap : 256;
            struct replay_box *nb = realloc(d->replay, cap * sizeof *nb);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            d->replay = nb;
        }
        d->replay[d->nreplay++] = b;
        if (fr + 1 > d->replay_frames)
            d->replay_frames = fr + 1;
    }
    fclose(f);
    if (!rc && !d->nreplay) {
        snprintf(err, errlen, "%s: no boxes", path);
        rc = -EINVAL;
    }
    if (!rc)
        qsort(d->replay, d->nreplay, sizeof *d->replay, cmp_box);
    return rc;
}

/* detect.verifier (ac_verify_setting_path); a file named must load.
 * Appends it to d->path for the log. */
static int load_verifier(struct ac_facedet *d, const char *v, char *err, size_t errlen)
{
    char path[AC_CFG_STR + 64], why[256];
    if (!ac_verify_setting_path(v, path, sizeof path))
        return 0;
    int rc = ac_nn_model_load(path, &d->vmodel, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "verifier model %s: %s", path, why);
        return rc;
    }
    size_t n = strlen(d->path);
    snprintf(d->path + n, sizeof d->path - n, " + verifier %s", path);
    return 0;
}

int ac_facedet_create(const struct ac_config *c, struct ac_facedet **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ac_facedet *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    if (c->detect.backend == AC_CFG_DETECT_NONE) {
        d->none = 1;
        snprintf(d->path, sizeof d->path, "(none)");
        *out = d;
        return 0;
    }
    int rc = 0;
    if (c->detect.backend == AC_CFG_DETECT_REPLAY) {
        snprintf(d->path, sizeof d->path, "replay:%s", c->detect.model);
        if ((rc = load_replay(d, c->detect.model, err, errlen)))
            goto fail;
        *out = d;
        return 0;
    }
    if (c->detect.model[0])
        snprintf(d->path, sizeof d->path, "%s", c->detect.model);
    else if ((rc = ac_find_model_glob("det-*.acnn", d->path, sizeof d->path, err, errlen)))
        goto fail;
    char why[256];
    if ((rc = ac_nn_model_load(d->path, &d->model, why, sizeof why))) {
        snprintf(err, errlen, "detector model %s: %s", d->path, why);
        goto fail;
    }
    if ((rc = load_verifier(d, c->detect.verifier, err, errlen)))
        goto fail;
    struct ac_detect_settings s;
    ac_detect_defaults(&s);
    s.verifier = d->vmodel;
    s.score_thr = c->detect.score_threshold;
    s.nms_thr = c->detect.nms_threshold;
    s.min_face = (float)c->detect.min_face;
    s.max_faces = MAX_RAW;
    s.threads = c->detect.threads;
    s.flip = c->detect.flip;
    s.verify_mirror = c->detect.verifier_mirror;
    if (c->camera.width > s.max_src_w || c->camera.height > s.max_src_h) {
        s.max_src_w = c->camera.width;
        s.max_src_h = c->camera.height;
    }
    if ((rc = ac_detect_create(d->model, &s, &d->det, why, sizeof why))) {
        snprintf(err, errlen, "detector %s: %s", d->path, why);
        goto fail;
    }
    *out = d;
    return 0;
fail:
    ac_facedet_destroy(d);
    return rc;
}

void ac_facedet_destroy(struct ac_facedet *d)
{
    if (!d)
        return;
    ac_detect_destroy(d->det);
    ac_nn_model_destroy(d->model);
    ac_nn_model_destroy(d->vmodel);
    free(d->replay);
    free(d);
}

const char *ac_facedet_model_path(const struct ac_facedet *d) { return d->path; }

/* Landmarks where the alignment template puts them for a face box: a chip
 * of AC_ALIGN_CHIP_PER_BOX box sides centred on the box, close to what our
 * detector gives (ac_align.h). */
static void template_landmarks(struct ac_pface *f)
{
    float side = AC_ALIGN_CHIP_PER_BOX * fmaxf(f->w, f->h);
    float ox = f->x + f->w / 2 - side / 2, oy = f->y + f->h / 2 - side / 2;
    for (int k = 0; k < 5; k++) {
        f->lm[2 * k] = ox + AC_ALIGN_TEMPLATE[2 * k] * side / AC_ALIGN_FRAME;
        f->lm[2 * k + 1] = oy + AC_ALIGN_TEMPLATE[2 * k + 1] * side / AC_ALIGN_FRAME;
    }
}

static int replay_run(struct ac_facedet *d, uint64_t frame, struct ac_pface *out, int max)
{
    uint64_t want = frame % d->replay_frames;
    size_t lo = 0, hi = d->nreplay;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->replay[mid].frame < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    int n = 0;
    for (size_t i = lo; i < d->nreplay && d->replay[i].frame == want && n < max; i++, n++) {
        const struct replay_box *b = &d->replay[i];
        out[n] = (struct ac_pface){.x = b->x, .y = b->y, .w = b->w, .h = b->h, .score = 1};
        template_landmarks(&out[n]);
    }
    return n;
}

int ac_facedet_run(struct ac_facedet *d, uint64_t frame, const uint8_t *rgb, int w, int h,
                   int stride, struct ac_pface *out, int max)
{
    if (d->none)
        return 0;
    if (d->replay)
        return replay_run(d, frame, out, max);
    int n = ac_detect_run(d->det, rgb, w, h, stride, d->raw);
    if (n < 0)
        return n;
    if (n > max)
        n = max; /* sorted by score: the weakest go */
    for (int i = 0; i < n; i++) {
        const struct ac_face *r = &d->raw[i];
        out[i].x = r->x0;
        out[i].y = r->y0;
        out[i].w = r->x1 - r->x0;
        out[i].h = r->y1 - r->y0;
        out[i].score = r->score;
        memcpy(out[i].lm, r->lm, sizeof out[i].lm);
    }
    return n;
}

static float clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

void ac_facegate_init(struct ac_facegate *g, const struct ac_config *c)
{
    struct ac_quality_settings s = {
        .min_size = c->align.min_size, .max_roll = c->align.max_roll, .max_yaw = c->align.max_yaw,
        .min_pitch = c->align.min_pitch, .max_pitch = c->align.max_pitch,
        .min_blur = c->align.min_blur};
    ac_quality_init(&g->q, &s);
}

static void to_face(const struct ac_pface *f, struct ac_face *o)
{
    o->x0 = f->x;
    o->y0 = f->y;
    o->x1 = f->x + f->w;
    o->y1 = f->y + f->h;
    o->score = f->score;
    memcpy(o->lm, f->lm, sizeof o->lm);
}

int ac_facegate_face(struct ac_facegate *g, const struct ac_pface *f, struct ac_quality_measures *m)
{
    struct ac_face af;
    to_face(f, &af);
    return ac_quality_check_face(&g->q, &af, m) == AC_QUALITY_OK;
}

float ac_facegate_chip(struct ac_facegate *g, const struct ac_pface *f, const uint8_t *chip,
                       struct ac_quality_measures *m)
{
    if (ac_quality_check_chip(&g->q, chip, AC_CHIP_SIDE, m) != AC_QUALITY_OK)
        return 0;
    const struct ac_quality_settings *s = &g->q.set;
    float size = clamp01(m->size / 112.0f);
    /* frontal counts fully, a face at the yaw limit half */
    float yr = s->max_yaw > 0 ? fabsf(m->yaw) / s->max_yaw : 0;
    float pose = clamp01(1 - 0.5f * yr * yr);
    /* sharpness saturates: past four times the threshold it adds nothing */
    float blur = s->min_blur > 0 ? clamp01(m->blur / (4 * s->min_blur)) : 1;
    float w = clamp01(f->score) * size * pose * (0.5f + 0.5f * blur);
    return w > 1e-3f ? w : 1e-3f;
}

int ac_face_chip(const uint8_t *rgb, int w, int h, int stride, const struct ac_pface *f,
                 uint8_t *chip)
{
    float m[4];
    int rc = ac_align_estimate(f->lm, AC_CHIP_SIDE, m);
    if (rc)
        return rc;
    return ac_align_warp(rgb, w, h, stride, m, chip, AC_CHIP_SIDE);
}
