/* agecam eval-det: average precision of the detector per face-size bucket
 * on a WIDER-style labels file (rules in src/detect/ac_deteval.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ac_image.h"
#include "detect/ac_detect.h"
#include "detect/ac_deteval.h"
#include "tools/ac_agecli.h"
#include "tools/ac_detcli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam eval-det --labels FILE --root DIR [options]\n"
            "Average precision (IoU 0.5) per face-size bucket (max(w,h) of the ground truth in\n"
            "original image pixels: >=64, 32-64, 16-32; smaller faces are ignored) and\n"
            "detector throughput. Defaults: --size 640x640 --score 0.02 --nms 0.4.\n"
            "  --labels FILE   '# relpath w h' lines, then 'x y w h [10 landmarks]' per face\n"
            "  --root DIR      images are DIR/images/relpath (or DIR/relpath)\n"
            "  --list FILE     evaluate only the relpaths listed (one per line)\n"
            "  --limit N       first N images only\n"
            "  --json          one JSON object\n");
    ac_detcli_usage(f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Marks the images named in list (one relpath per line). */
static int apply_list(const char *list, struct ac_deteval_labels *l, unsigned char *keep)
{
    FILE *f = fopen(list, "r");
    if (!f) {
        fprintf(stderr, "agecam eval-det: %s: %s\n", list, strerror(errno));
        return -errno;
    }
    char line[1024];
    int matched = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        for (int i = 0; i < l->n; i++)
            if (!keep[i] && !strcmp(l->img[i].path, line)) {
                keep[i] = 1;
                matched++;
                break;
            }
    }
    fclose(f);
    if (!matched) {
        fprintf(stderr, "agecam eval-det: %s names no image of the labels file\n", list);
        return -EINVAL;
    }
    return 0;
}

static void jnum(const char *key, double v, int comma)
{
    if (isfinite(v))
        printf("\"%s\":%.4f%s", key, v, comma ? "," : "");
    else
        printf("\"%s\":null%s", key, comma ? "," : "");
}

int ac_cmd_eval_det(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"labels", required_argument, 0, 'l'}, {"root", required_argument, 0, 'r'},
        {"list", required_argument, 0, 'L'},   {"limit", required_argument, 0, 'n'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        AC_DETCLI_LONGOPTS,                    {0, 0, 0, 0}};
    struct ac_detcli cli;
    ac_detcli_init(&cli, "640x640");
    cli.set.score_thr = 0.02f;
    cli.set.nms_thr = 0.4f;
    cli.set.max_faces = 750;
    const char *labels = NULL, *root = NULL, *list = NULL;
    long limit = -1;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'l': labels = optarg; break;
        case 'r': root = optarg; break;
        case 'L': list = optarg; break;
        case 'j': json = 1; break;
        case 'n':
            limit = strtol(optarg, &end, 10);
            if (end == optarg || *end || limit < 1) {
                fprintf(stderr, "--limit: expected a positive integer\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            if (ac_detcli_option(&cli, c, optarg)) {
                usage(stderr);
                return 2;
            }
        }
    }
    if (!labels || !root || optind != argc) {
        usage(stderr);
        return 2;
    }
    char err[512];
    struct ac_deteval_labels l;
    int rc = ac_deteval_labels_load(labels, &l, err, sizeof err);
    if (rc) {
        fprintf(stderr, "agecam eval-det: %s\n", err);
        return 1;
    }
    int status = 1;
    struct ac_nn_model *model = NULL;
    struct ac_detect *det = NULL;
    struct ac_face *faces = NULL;
    struct ac_deteval ev;
    ac_deteval_init(&ev);
    unsigned char *keep = calloc((size_t)l.n + 1, 1);
    if (!keep)
        goto done;
    if (list) {
        if (apply_list(list, &l, keep))
            goto done;
    } else {
        memset(keep, 1, (size_t)l.n);
    }
    /* staging sized for the largest labelled image, allocated once */
    cli.set.max_src_w = cli.set.max_src_h = 1;
    for (int i = 0; i < l.n; i++) {
        if (!keep[i])
            continue;
        cli.set.max_src_w = l.img[i].w > cli.set.max_src_w ? l.img[i].w : cli.set.max_src_w;
        cli.set.max_src_h = l.img[i].h > cli.set.max_src_h ? l.img[i].h : cli.set.max_src_h;
    }
    if (ac_detcli_open(&cli, "agecam eval-det", &model, &det))
        goto done;
    faces = malloc(sizeof(*faces) * (size_t)cli.set.max_faces);
    if (!faces)
        goto done;
    int done_n = 0;
    double t_det = 0, t0 = now_s();
    for (int i = 0; i < l.n && (limit < 0 || done_n < limit); i++) {
        if (!keep[i])
            continue;
        char path[2048];
        struct ac_image im = {0};
        snprintf(path, sizeof path, "%s/images/%s", root, l.img[i].path);
        rc = ac_image_load(path, &im);
        if (rc == -ENOENT) {
            snprintf(path, sizeof path, "%s/%s", root, l.img[i].path);
            rc = ac_image_load(path, &im);
        }
        if (rc) {
            fprintf(stderr, "agecam eval-det: %s: cannot load: %s\n", path, strerror(-rc));
            goto done;
        }
        if (im.w != l.img[i].w || im.h != l.img[i].h) {
            fprintf(stderr, "agecam eval-det: %s is %dx%d, labels say %dx%d\n", path, im.w, im.h,
                    l.img[i].w, l.img[i].h);
            ac_image_free(&im);
            goto done;
        }
        double t1 = now_s();
        int n = ac_detect_run(det, im.rgb, im.w, im.h, im.stride, faces);
        t_det += now_s() - t1;
        ac_image_free(&im);
        if (n < 0) {
            fprintf(stderr, "agecam eval-det: %s: detection failed: %s\n", path, strerror(-n));
            goto done;
        }
        if (ac_deteval_add(&ev, faces, n, &l.img[i]))
            goto done;
        done_n++;
    }
    double t_all = now_s() - t0;
    int iw, ih;
    ac_detect_input_size(det, &iw, &ih);
    if (json) {
        printf("{\"images\":%d,\"input\":\"%dx%d\",\"flip\":%s,\"score_thr\":%.3f,"
               "\"nms_thr\":%.3f,",
               done_n, iw, ih, cli.set.flip ? "true" : "false", cli.set.score_thr, cli.set.nms_thr);
        printf("\"verifier\":");
        if (cli.verifier_path[0])
            ac_agecli_json_str(stdout, cli.verifier_path);
        else
            printf("null");
        printf(",\"verifier_mirror\":%s,", cli.verifier_path[0] && cli.set.verify_mirror ? "true" : "false");
        for (int b = 0; b < AC_DETEVAL_BUCKETS; b++) {
            char key[32];
            snprintf(key, sizeof key, "ap_%s", b == 0 ? "ge64" : b == 1 ? "32_64" : "16_32");
            jnum(key, ac_deteval_ap(&ev, b), 1);
            snprintf(key, sizeof key, "faces_%s", b == 0 ? "ge64" : b == 1 ? "32_64" : "16_32");
            printf("\"%s\":%d,", key, ev.b[b].npos);
        }
        jnum("images_per_s", done_n / (t_det > 0 ? t_det : 1e-9), 1);
        jnum("images_per_s_with_decode", done_n / (t_all > 0 ? t_all : 1e-9), 0);
        printf("}\n");
    } else {
        printf("images %d, detector input %dx%d%s, score >= %.3f, NMS IoU %.2f\n", done_n, iw, ih,
               cli.set.flip ? " and its mirror" : "", cli.set.score_thr, cli.set.nms_thr);
        printf("verifier: %s%s\n", cli.verifier_path[0] ? cli.verifier_path : "none",
               cli.verifier_path[0] ? (cli.set.verify_mirror ? ", with its mirror look" : ", one look") : "");
        printf("%-8s %8s %8s\n", "bucket", "faces", "AP@0.5");
        for (int b = 0; b < AC_DETEVAL_BUCKETS; b++)
            printf("%-8s %8d %8.4f\n", ev.b[b].name, ev.b[b].npos, ac_deteval_ap(&ev, b));
        printf("detector %.1f images/s (%.1f ms/image); with JPEG decode %.1f images/s\n",
               done_n / (t_det > 0 ? t_det : 1e-9), 1000 * t_det / (done_n ? done_n : 1),
               done_n / (t_all > 0 ? t_all : 1e-9));
    }
    status = 0;
done:
    free(faces);
    free(keep);
    ac_deteval_free(&ev);
    ac_detcli_close(&cli, model, det);
    ac_deteval_labels_free(&l);
    return status;
}
