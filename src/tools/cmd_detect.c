/* agecam detect IMAGE: faces with scores and 5 landmarks, optionally drawn
 * into an annotated JPEG. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ac_image.h"
#include "detect/ac_detect.h"
#include "nn/ac_nn.h"
#include "tools/ac_detcli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam detect IMAGE [options]\n"
            "Detects faces in a JPEG/PNG image; prints box (x0 y0 x1 y1), score and\n"
            "landmarks (left eye, right eye, nose, left/right mouth corner) per face.\n"
            "  --out FILE      write a JPEG with boxes and landmarks drawn\n"
            "  --json          one JSON object per face\n");
    ac_detcli_usage(f);
}

static void put(uint8_t *rgb, int w, int h, int stride, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= w || y >= h)
        return;
    memcpy(rgb + (size_t)y * stride + 3 * x, c, 3);
}

static void draw(struct ac_image *im, const struct ac_face *f, int n)
{
    static const uint8_t green[3] = {0, 255, 0};
    static const uint8_t lmc[5][3] = {{255, 0, 0}, {0, 0, 255}, {255, 255, 0}, {255, 0, 255},
                                      {0, 255, 255}};
    int t = im->w > 800 ? 2 : 1;
    for (int i = 0; i < n; i++) {
        int x0 = (int)f[i].x0, y0 = (int)f[i].y0, x1 = (int)f[i].x1, y1 = (int)f[i].y1;
        for (int k = 0; k < t; k++) {
            for (int x = x0; x <= x1; x++) {
                put(im->rgb, im->w, im->h, im->stride, x, y0 + k, green);
                put(im->rgb, im->w, im->h, im->stride, x, y1 - k, green);
            }
            for (int y = y0; y <= y1; y++) {
                put(im->rgb, im->w, im->h, im->stride, x0 + k, y, green);
                put(im->rgb, im->w, im->h, im->stride, x1 - k, y, green);
            }
        }
        for (int p = 0; p < 5; p++) {
            int cx = (int)lroundf(f[i].lm[2 * p]), cy = (int)lroundf(f[i].lm[2 * p + 1]);
            for (int dy = -t; dy <= t; dy++)
                for (int dx = -t; dx <= t; dx++)
                    put(im->rgb, im->w, im->h, im->stride, cx + dx, cy + dy, lmc[p]);
        }
    }
}

int ac_cmd_detect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'}, AC_DETCLI_LONGOPTS, {0, 0, 0, 0}};
    struct ac_detcli cli;
    ac_detcli_init(&cli, "320x240");
    const char *out = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else if (ac_detcli_option(&cli, c, optarg)) {
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
        fprintf(stderr, "agecam detect: %s: cannot load image: %s\n", path, strerror(-rc));
        return 1;
    }
    cli.set.max_src_w = im.w;
    cli.set.max_src_h = im.h;
    struct ac_nn_model *model = NULL;
    struct ac_detect *det = NULL;
    struct ac_face *faces = NULL;
    int status = 1;
    if (ac_detcli_open(&cli, "agecam detect", &model, &det))
        goto done;
    faces = malloc(sizeof(*faces) * (size_t)cli.set.max_faces);
    if (!faces) {
        fprintf(stderr, "agecam detect: out of memory\n");
        goto done;
    }
    int n = ac_detect_run(det, im.rgb, im.w, im.h, im.stride, faces);
    if (n < 0) {
        fprintf(stderr, "agecam detect: %s: detection failed: %s\n", path, strerror(-n));
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const struct ac_face *f = &faces[i];
        if (json) {
            printf("{\"image\":\"%s\",\"face\":%d,\"box\":[%.1f,%.1f,%.1f,%.1f],\"score\":%.4f,"
                   "\"landmarks\":[", path, i, f->x0, f->y0, f->x1, f->y1, f->score);
            for (int k = 0; k < 10; k++)
                printf("%s%.1f", k ? "," : "", f->lm[k]);
            printf("]}\n");
        } else {
            printf("face %d box %.1f %.1f %.1f %.1f score %.3f landmarks", i, f->x0, f->y0, f->x1,
                   f->y1, f->score);
            for (int k = 0; k < 10; k++)
                printf(" %.1f", f->lm[k]);
            printf("\n");
        }
    }
    if (!json)
        printf("%d face%s in %s (%dx%d)\n", n, n == 1 ? "" : "s", path, im.w, im.h);
    if (out) {
        draw(&im, faces, n);
        rc = ac_image_save_jpeg(out, im.rgb, im.w, im.h, im.stride, 90);
        if (rc) {
            fprintf(stderr, "agecam detect: %s: cannot write: %s\n", out, strerror(-rc));
            goto done;
        }
    }
    status = 0;
done:
    free(faces);
    ac_detcli_close(&cli, model, det);
    ac_image_free(&im);
    return status;
}
