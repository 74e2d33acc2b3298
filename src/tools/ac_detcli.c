#include "tools/ac_detcli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/ac_verify.h"

void ac_detcli_init(struct ac_detcli *c, const char *default_size)
{
    memset(c, 0, sizeof(*c));
    c->size = default_size;
    c->verifier = AC_DETCLI_VERIFIER_DEFAULT;
    ac_detect_defaults(&c->set);
}

void ac_detcli_usage(FILE *f)
{
    struct ac_detect_settings d;
    ac_detect_defaults(&d);
    fprintf(f,
            "detector options:\n"
            "  --model PATH    detector .acnn (default: det-<size>.acnn from $AGECAM_MODEL_DIR,\n"
            "                  the installed data folder, then ./models)\n"
            "  --size WxH      detector input size, picks det-WxH.acnn\n"
            "  --score P       minimum face probability\n"
            "  --nms IOU       non-maximum suppression IoU threshold\n"
            "  --min-face PX   drop faces smaller than this (max side, image pixels)\n"
            "  --flip          also run on the mirror image and merge (about 2x the time)\n"
            "  --verifier PATH second look at each face by face-verify.acnn; 'auto': that file\n"
            "                  if found as above, 'none': off (default: %s)\n"
            "  --no-verifier-mirror  the verifier looks at each face once, not also at its\n"
            "                  mirror image (half its cost, lower AP)\n"
            "  --refine-large K  faces of 32 px or more at the network's input move this\n"
            "                  share of the way to the verifier's refined box (0-1, default %g)\n",
            AC_DETCLI_VERIFIER_DEFAULT, (double)d.refine_large);
}

static int parse_unit(const char *name, const char *arg, float lo, float hi, float *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "--%s: expected a number in [%g, %g], got '%s'\n", name, lo, hi, arg);
        return -EINVAL;
    }
    *out = (float)v;
    return 0;
}

int ac_detcli_option(struct ac_detcli *c, int opt, const char *arg)
{
    switch (opt) {
    case 0x100: c->model_path = arg; return 0;
    case 0x101: {
        int w, h, k = 0;
        if (sscanf(arg, "%dx%d%n", &w, &h, &k) != 2 || arg[k] || w < 32 || h < 32 || w > 4096 ||
            h > 4096 || strlen(arg) > 16) {
            fprintf(stderr, "--size: expected WxH such as 320x240, got '%s'\n", arg);
            return -EINVAL;
        }
        c->size = arg;
        return 0;
    }
    case 0x102: return parse_unit("score", arg, 0, 1, &c->set.score_thr);
    case 0x103: return parse_unit("nms", arg, 0.01f, 1, &c->set.nms_thr);
    case 0x104: return parse_unit("min-face", arg, 0, 100000, &c->set.min_face);
    case 0x105: c->set.flip = 1; return 0;
    case 0x106: c->verifier = arg; return 0;
    case 0x107: c->set.verify_mirror = 0; return 0;
    case 0x108: return parse_unit("refine-large", arg, 0, 1, &c->set.refine_large);
    default: return -EINVAL;
    }
}

/* --verifier (ac_verify_setting_path); a file named must load. */
static int open_verifier(struct ac_detcli *c, const char *prefix)
{
    char path[1024], err[512];
    if (!ac_verify_setting_path(c->verifier, path, sizeof path))
        return 0;
    int rc = ac_nn_model_load(path, &c->vmodel, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s: verifier %s: %s\n", prefix, path, err);
    else
        snprintf(c->verifier_path, sizeof c->verifier_path, "%s", path);
    return rc;
}

int ac_detcli_open(struct ac_detcli *c, const char *prefix, struct ac_nn_model **model,
                   struct ac_detect **det)
{
    char path[1024], err[512];
    *model = NULL;
    *det = NULL;
    const char *p = c->model_path;
    if (!p) {
        if (ac_detect_find_model(c->size, path, sizeof path, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prefix, err);
            return -ENOENT;
        }
        p = path;
    }
    int rc = ac_nn_model_load(p, model, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prefix, p, err);
        return rc;
    }
    if ((rc = open_verifier(c, prefix)))
        goto fail;
    c->set.verifier = c->vmodel;
    rc = ac_detect_create(*model, &c->set, det, err, sizeof err);
    if (rc) {
        /* name the file the message is about */
        const char *who = c->vmodel && !strncmp(err, "verifier: ", 10) ? c->verifier_path : p;
        fprintf(stderr, "%s: %s: %s\n", prefix, who, err);
        goto fail;
    }
    return 0;
fail:
    ac_detcli_close(c, *model, NULL);
    *model = NULL;
    return rc;
}

void ac_detcli_close(struct ac_detcli *c, struct ac_nn_model *model, struct ac_detect *det)
{
    ac_detect_destroy(det);
    ac_nn_model_destroy(model);
    ac_nn_model_destroy(c->vmodel);
    c->vmodel = NULL;
}
