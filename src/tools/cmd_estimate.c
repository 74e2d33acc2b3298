/* agecam estimate: age of face crops given as image files, one line each. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "age/ac_age.h"
#include "common/ac_image.h"
#include "tools/ac_agecli.h"

struct estimate_opts {
    const char *model;
    int small, json, mirror, backend, probs;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam estimate [options] FACE.jpg|FACE.png...\n"
            "Estimate the age of each face crop (the whole image is the face chip).\n"
            "  --model PATH             age model file (.acnn)\n"
            "  --small                  use smlf-small.acnn instead of smlf-full.acnn\n"
            "  --no-mirror              no mirror test-time averaging\n"
            "  --backend scalar|fast    inference kernels (default fast)\n"
            "  --json                   one JSON object per image\n"
            "  --probs                  with --json, include all class probabilities\n"
            "  -h, --help\n"
            "Without --model, smlf-<full|small>.acnn is looked for in $AGECAM_MODEL_DIR,\n"
            "then the installed data folder, then ./models.\n"
            "Output: path, expected age, standard deviation of the age distribution and\n"
            "the three most probable classes (the last class means that age or older:\n"
            "65 with the paper's 66-class head, 100 with smlf-full-wide.acnn).\n");
}

static int parse(struct estimate_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"small", no_argument, 0, 's'},
        {"no-mirror", no_argument, 0, 'M'},   {"backend", required_argument, 0, 'b'},
        {"json", no_argument, 0, 'j'},        {"probs", no_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    *o = (struct estimate_opts){.mirror = 1, .backend = AC_NN_FAST};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 's': o->small = 1; break;
        case 'M': o->mirror = 0; break;
        case 'b':
            if ((o->backend = ac_agecli_backend("estimate", optarg)) < 0)
                return 2;
            break;
        case 'j': o->json = 1; break;
        case 'p': o->probs = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "agecam estimate: no image given\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

static void print_result(const struct estimate_opts *o, const char *path, const struct ac_age_result *r)
{
    int n = r->num_classes;
    if (!o->json) {
        printf("%s  age %.1f  std %.1f  top", path, r->age, r->std);
        for (int k = 0; k < AC_AGE_TOP && r->top[k] >= 0; k++)
            printf(" %d%s:%.3f", r->top[k], r->top[k] == n - 1 ? "+" : "", r->prob[r->top[k]]);
        printf("\n");
        return;
    }
    printf("{\"path\": ");
    ac_agecli_json_str(stdout, path);
    printf(", \"age\": %.4f, \"std\": %.4f, \"top\": [", r->age, r->std);
    for (int k = 0; k < AC_AGE_TOP && r->top[k] >= 0; k++)
        printf("%s{\"class\": %d, \"p\": %.6f}", k ? ", " : "", r->top[k], r->prob[r->top[k]]);
    printf("]");
    if (o->probs) {
        printf(", \"prob\": [");
        for (int i = 0; i < n; i++)
            printf("%s%.6g", i ? ", " : "", r->prob[i]);
        printf("]");
    }
    printf("}\n");
}

int ac_cmd_estimate(int argc, char **argv)
{
    struct estimate_opts o;
    int ret = parse(&o, argc, argv);
    if (ret >= 0)
        return ret;
    char model[1024], err[768];
    if (ac_agecli_model("estimate", o.model, o.small, model, sizeof model))
        return 1;
    struct ac_age_settings s;
    ac_age_settings_default(&s);
    s.model_path = model;
    s.backend = o.backend;
    s.mirror = o.mirror;
    struct ac_age *est;
    if (ac_age_create(&s, &est, err, sizeof err)) {
        fprintf(stderr, "agecam estimate: %s\n", err);
        return 1;
    }
    ac_agecli_warn_untrained("estimate", est, model);
    ret = 0;
    for (int i = optind; i < argc; i++) {
        struct ac_image img;
        int rc = ac_image_load(argv[i], &img);
        if (rc) {
            fprintf(stderr, "agecam estimate: %s: %s\n", argv[i],
                    rc == -EINVAL ? "not a decodable JPEG/PNG image" : strerror(-rc));
            ret = 1;
            continue;
        }
        struct ac_age_result r;
        rc = ac_age_estimate(est, img.rgb, img.w, img.h, img.stride, &r);
        if (rc) {
            fprintf(stderr, "agecam estimate: %s: cannot estimate a %dx%d crop: %s\n", argv[i], img.w,
                    img.h,
                    rc == -EINVAL ? "more than 32 times the model input; crop the face first"
                              : strerror(-rc));
            ret = 1;
        } else {
            print_result(&o, argv[i], &r);
        }
        ac_image_free(&img);
    }
    ac_age_destroy(est);
    return ret;
}
