/* agecam quantize: an int8 copy of an age model. Runs the float model over
 * face crops from a labelled list (the training split: calibration must not
 * see the validation images), exactly as eval would, records |x| at every
 * 1x1 convolution's input and writes the model again with one
 * int8.<op>=<clip> META line per such op (src/nn/ac_nn_q8.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age/ac_age.h"
#include "age/ac_agecsv.h"
#include "common/ac_image.h"
#include "nn/ac_nn_q8.h"
#include "tools/ac_agecli.h"

struct quant_opts {
    const char *labels, *root, *model, *out;
    long images;
    double percentile;
    int small;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam quantize --labels FILE.csv --out OUT.acnn [options]\n"
            "Calibrates an int8 copy of an age model: its 1x1 convolutions (almost all of\n"
            "its multiply-adds) run on int8 inputs and per-channel int8 weights.\n"
            "  --labels FILE.csv   face crops to calibrate on (path,age csv as for eval);\n"
            "                      use training images, never the ones you evaluate on\n"
            "  --root DIR          folder of the images (default .)\n"
            "  --model PATH        float age model (default: smlf-full.acnn)\n"
            "  --small             default to smlf-small.acnn\n"
            "  --out OUT.acnn      the quantised model\n"
            "  --images N          crops used, evenly spaced over the list (default 1000)\n"
            "  --percentile P      clip each input at this percentile of |x| (default 99.99)\n"
            "  -h, --help\n"
            "Then: agecam eval --model OUT.acnn ... gives its accuracy.\n");
}

static int parse(struct quant_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"labels", required_argument, 0, 'l'}, {"root", required_argument, 0, 'r'},
        {"model", required_argument, 0, 'm'},  {"small", no_argument, 0, 's'},
        {"out", required_argument, 0, 'o'},    {"images", required_argument, 0, 'n'},
        {"percentile", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (struct quant_opts){.root = ".", .images = 1000, .percentile = 99.99};
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': o->labels = optarg; break;
        case 'r': o->root = optarg; break;
        case 'm': o->model = optarg; break;
        case 's': o->small = 1; break;
        case 'o': o->out = optarg; break;
        case 'n':
            o->images = strtol(optarg, &end, 10);
            if (*end || o->images < 1) {
                fprintf(stderr, "agecam quantize: bad --images '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
            o->percentile = strtod(optarg, &end);
            if (*end || !(o->percentile > 0 && o->percentile <= 100)) {
                fprintf(stderr, "agecam quantize: bad --percentile '%s' (0 < P <= 100)\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agecam quantize: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->labels || !o->out) {
        fprintf(stderr, "agecam quantize: --labels and --out are required\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

int ac_cmd_quantize(int argc, char **argv)
{
    struct quant_opts o;
    int ret = parse(&o, argc, argv);
    if (ret >= 0)
        return ret;
    struct ac_agecsv csv;
    char err[768], model[1024], *meta = NULL;
    if (ac_agecsv_load(o.labels, &csv, err, sizeof err)) {
        fprintf(stderr, "agecam quantize: %s\n", err);
        return 1;
    }
    struct ac_nn_model *nn = NULL;
    struct ac_age *est = NULL;
    struct ac_nn_q8_calib *cal = NULL;
    ret = 1;
    if (ac_agecli_model("quantize", o.model, o.small, model, sizeof model))
        goto out;
    int rc = ac_nn_model_load(model, &nn, err, sizeof err);
    if (rc) {
        fprintf(stderr, "agecam quantize: %s: %s\n", model, err[0] ? err : strerror(-rc));
        goto out;
    }
    if (ac_nn_model_int8_ops(nn)) {
        fprintf(stderr, "agecam quantize: %s is already quantised: calibrate the float model\n", model);
        goto out;
    }
    struct ac_age_settings s;
    ac_age_settings_default(&s);
    if (ac_age_create_shared(&s, nn, &est, err, sizeof err)) {
        fprintf(stderr, "agecam quantize: %s: %s\n", model, err);
        goto out;
    }
    if ((rc = ac_nn_q8_calib_create(nn, &cal))) {
        fprintf(stderr, "agecam quantize: %s\n", strerror(-rc));
        goto out;
    }
    ac_nn_ctx_set_observer(ac_age_nn_ctx(est), ac_nn_q8_calib_observe, cal);
    size_t n = (size_t)o.images < csv.n ? (size_t)o.images : csv.n, used = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        ac_agecli_image_path(o.root, csv.rows[i * csv.n / n].path, path, sizeof path);
        struct ac_image img;
        struct ac_age_result r;
        if ((rc = ac_image_load(path, &img))) {
            fprintf(stderr, "agecam quantize: %s: cannot read the image (%s), skipped\n", path,
                    strerror(-rc));
            continue;
        }
        rc = ac_age_estimate(est, img.rgb, img.w, img.h, img.stride, &r);
        ac_image_free(&img);
        if (rc)
            fprintf(stderr, "agecam quantize: %s: %s, skipped\n", path, strerror(-rc));
        else
            used++;
    }
    size_t cap = 64 * (size_t)ac_nn_q8_calib_ops(cal) + 256;
    if (!used || !(meta = malloc(cap))) {
        fprintf(stderr, "agecam quantize: %s\n", used ? "out of memory" : "no image could be used");
        goto out;
    }
    int len = snprintf(meta, cap, "int8=calibrated on %zu crops of %s, percentile %g\n", used,
                       o.labels, o.percentile);
    if (len < 0 || (size_t)len >= cap || strchr(meta, '\n') != meta + len - 1) {
        fprintf(stderr, "agecam quantize: the labels path does not fit a META line\n");
        goto out;
    }
    rc = ac_nn_q8_calib_meta(cal, o.percentile, meta + len, cap - (size_t)len);
    if (rc < 0) {
        fprintf(stderr, "agecam quantize: %s\n",
                rc == -ENODATA ? "an int8 op saw only zeros: more images?" : strerror(-rc));
        goto out;
    }
    if ((rc = ac_nn_model_save_meta(nn, meta, o.out, err, sizeof err))) {
        fprintf(stderr, "agecam quantize: %s\n", err);
        goto out;
    }
    /* the proof that the file is good: it loads and runs int8 */
    ac_age_destroy(est);
    est = NULL;
    ac_nn_model_destroy(nn);
    if ((rc = ac_nn_model_load(o.out, &nn, err, sizeof err))) {
        nn = NULL;
        fprintf(stderr, "agecam quantize: %s does not load back: %s\n", o.out, err);
        goto out;
    }
    printf("%s: %d 1x1 convolutions in int8, calibrated on %zu crops, percentile %g\n", o.out,
           ac_nn_model_int8_ops(nn), used, o.percentile);
    ret = 0;
out:
    free(meta);
    ac_nn_q8_calib_destroy(cal);
    ac_age_destroy(est);
    ac_nn_model_destroy(nn);
    ac_agecsv_free(&csv);
    return ret;
}
