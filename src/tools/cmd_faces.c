/* agecam faces IMAGE: the per-frame pipeline on one still image:
 * detect -> quality filters (size, pose) -> 5-point alignment into the
 * UTKFace chip frame -> blur filter -> age. One line per face. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age/ac_age.h"
#include "align/ac_align.h"
#include "align/ac_quality.h"
#include "common/ac_image.h"
#include "detect/ac_detect.h"
#include "tools/ac_agecli.h"
#include "tools/ac_detcli.h"

#define CHIP AC_ALIGN_FRAME /* the age net's training chips are 200x200 */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam faces IMAGE [options]\n"
            "Detects faces, filters them (size, pose, blur), aligns each into the UTKFace\n"
            "chip frame and estimates its age. Prints one line per face: box, score, age,\n"
            "std, quality verdict and measures. Rejected faces get no age.\n"
            "  --age-model PATH   age .acnn (default smlf-full.acnn, see agecam estimate)\n"
            "  --small            use smlf-small.acnn\n"
            "  --min-size PX      quality: minimum face box side (default 32)\n"
            "  --max-yaw R        quality: |nose offset| / eye distance (default 0.30)\n"
            "  --max-roll DEG     quality: eye-line angle (default 35)\n"
            "  --min-blur V       quality: Laplacian variance of the chip (default 15)\n"
            "  --chips PREFIX     write each accepted chip as PREFIX<i>.jpg\n"
            "  --json             one JSON object per face\n");
    ac_detcli_usage(f);
}

static int parse_pos(const char *name, const char *arg, float *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !isfinite(v) || v < 0) {
        fprintf(stderr, "agecam faces: --%s: expected a number >= 0, got '%s'\n", name, arg);
        return -EINVAL;
    }
    *out = (float)v;
    return 0;
}

static void jf(const char *key, double v)
{
    if (isfinite(v))
        printf(",\"%s\":%.3f", key, v);
    else
        printf(",\"%s\":null", key);
}

int ac_cmd_faces(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"age-model", required_argument, 0, 'a'}, {"small", no_argument, 0, 's'},
        {"min-size", required_argument, 0, 'z'},  {"max-yaw", required_argument, 0, 'y'},
        {"max-roll", required_argument, 0, 'r'},  {"min-blur", required_argument, 0, 'b'},
        {"chips", required_argument, 0, 'c'},     {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},            AC_DETCLI_LONGOPTS,
        {0, 0, 0, 0}};
    struct ac_detcli cli;
    ac_detcli_init(&cli, "320x240");
    struct ac_quality_settings qs;
    ac_quality_defaults(&qs);
    const char *age_model = NULL, *chips = NULL;
    int small = 0, json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': age_model = optarg; break;
        case 's': small = 1; break;
        case 'z': bad = parse_pos("min-size", optarg, &qs.min_size); break;
        case 'y': bad = parse_pos("max-yaw", optarg, &qs.max_yaw); break;
        case 'r': bad = parse_pos("max-roll", optarg, &qs.max_roll); break;
        case 'b': bad = parse_pos("min-blur", optarg, &qs.min_blur); break;
        case 'c': chips = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: bad = ac_detcli_option(&cli, c, optarg);
        }
        if (bad) {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    struct ac_image im = {0};
    int rc = ac_image_load(path, &im);
    if (rc) {
        fprintf(stderr, "agecam faces: %s: cannot load image: %s\n", path, strerror(-rc));
        return 1;
    }
    cli.set.max_src_w = im.w;
    cli.set.max_src_h = im.h;
    int status = 1;
    struct ac_nn_model *model = NULL;
    struct ac_detect *det = NULL;
    struct ac_age *est = NULL;
    struct ac_face *faces = malloc(sizeof(*faces) * (size_t)cli.set.max_faces);
    uint8_t *chip = malloc(CHIP * CHIP * 3);
    if (!faces || !chip) {
        fprintf(stderr, "agecam faces: out of memory\n");
        goto done;
    }
    if (ac_detcli_open(&cli, "agecam faces", &model, &det))
        goto done;
    char apath[1024], err[512];
    if (ac_agecli_model("faces", age_model, small, apath, sizeof apath))
        goto done;
    struct ac_age_settings as;
    ac_age_settings_default(&as);
    as.model_path = apath;
    if ((rc = ac_age_create(&as, &est, err, sizeof err))) {
        fprintf(stderr, "agecam faces: %s\n", err);
        goto done;
    }
    ac_agecli_warn_untrained("faces", est, apath);
    struct ac_quality q;
    ac_quality_init(&q, &qs);
    int n = ac_detect_run(det, im.rgb, im.w, im.h, im.stride, faces);
    if (n < 0) {
        fprintf(stderr, "agecam faces: %s: detection failed: %s\n", path, strerror(-n));
        goto done;
    }
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        const struct ac_face *f = &faces[i];
        struct ac_quality_measures qm;
        struct ac_age_result ar;
        enum ac_quality_reason why = ac_quality_check_face(&q, f, &qm);
        float m[4];
        if (why == AC_QUALITY_OK) {
            if (ac_align_estimate(f->lm, CHIP, m) ||
                ac_align_warp(im.rgb, im.w, im.h, im.stride, m, chip, CHIP)) {
                why = AC_QUALITY_POSE; /* degenerate landmarks */
                q.counts[why]++;
            } else {
                why = ac_quality_check_chip(&q, chip, CHIP, &qm);
            }
        }
        int have_age = 0;
        if (why == AC_QUALITY_OK) {
            if ((rc = ac_age_estimate(est, chip, CHIP, CHIP, CHIP * 3, &ar))) {
                fprintf(stderr, "agecam faces: face %d: age estimate failed: %s\n", i, strerror(-rc));
                goto done;
            }
            have_age = 1;
            if (chips) {
                char cp[1024];
                snprintf(cp, sizeof cp, "%s%d.jpg", chips, i);
                if ((rc = ac_image_save_jpeg(cp, chip, CHIP, CHIP, CHIP * 3, 95)))
                    fprintf(stderr, "agecam faces: %s: cannot write: %s\n", cp, strerror(-rc));
            }
            accepted++;
        }
        if (json) {
            printf("{\"face\":%d,\"box\":[%.1f,%.1f,%.1f,%.1f],\"score\":%.4f", i, f->x0, f->y0,
                   f->x1, f->y1, f->score);
            if (have_age) {
                jf("age", ar.age);
                jf("std", ar.std);
            } else {
                printf(",\"age\":null,\"std\":null");
            }
            printf(",\"quality\":\"%s\"", ac_quality_reason_name(why));
            jf("size", qm.size);
            jf("roll", qm.roll);
            jf("yaw", qm.yaw);
            jf("pitch", qm.pitch);
            jf("blur", qm.blur);
            printf("}\n");
        } else {
            printf("face %d box %.0f %.0f %.0f %.0f score %.2f ", i, f->x0, f->y0, f->x1, f->y1,
                   f->score);
            if (have_age)
                printf("age %.1f std %.1f ", ar.age, ar.std);
            else
                printf("age - std - ");
            printf("quality %s (size %.0f roll %.0f yaw %.2f pitch %.2f blur %.0f)\n",
                   ac_quality_reason_name(why), qm.size, qm.roll, qm.yaw, qm.pitch, qm.blur);
        }
    }
    if (!json)
        printf("%d face%s, %d aged; rejected: size %lu, pose %lu, blur %lu\n", n, n == 1 ? "" : "s",
               accepted, q.counts[AC_QUALITY_SIZE], q.counts[AC_QUALITY_POSE],
               q.counts[AC_QUALITY_BLUR]);
    status = 0;
done:
    ac_age_destroy(est);
    ac_detcli_close(&cli, model, det);
    free(faces);
    free(chip);
    ac_image_free(&im);
    return status;
}
