/* Makes a moving-face frame sequence for the demo, end-to-end tests and the
 * pipeline benchmark: copies of a portrait drift over a plain background.
 * usage: mkdemo PORTRAIT.jpg OUTDIR [frames] [faces] [width] [height] [face_px] [rows]
 * (rows > 1 stacks the lanes, so more faces fit at a size the detector sees) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/ac_image.h"
#include "common/ac_resize.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mkdemo PORTRAIT OUTDIR [frames=60] [faces=1] [w=640] [h=480] [face_px=200] [rows=1]\n");
        return 2;
    }
    int frames = argc > 3 ? atoi(argv[3]) : 60;
    int faces = argc > 4 ? atoi(argv[4]) : 1;
    int W = argc > 5 ? atoi(argv[5]) : 640, H = argc > 6 ? atoi(argv[6]) : 480;
    int fp = argc > 7 ? atoi(argv[7]) : 200;
    int rows = argc > 8 ? atoi(argv[8]) : 1;
    if (frames < 1 || faces < 1 || faces > 8 || W < 64 || H < 64 || fp < 16 || fp > W || rows < 1 ||
        rows > faces || fp * rows > H) {
        fprintf(stderr, "mkdemo: bad arguments\n");
        return 2;
    }
    struct ac_image src;
    int rc = ac_image_load(argv[1], &src);
    if (rc) {
        fprintf(stderr, "mkdemo: %s: %s\n", argv[1], strerror(-rc));
        return 1;
    }
    if (mkdir(argv[2], 0755) && errno != EEXIST) {
        perror(argv[2]);
        return 1;
    }
    struct ac_resize_plan plan;
    float *face = malloc((size_t)fp * fp * 3 * sizeof *face);
    uint8_t *canvas = malloc((size_t)W * H * 3);
    if (!face || !canvas || ac_resize_plan_init(&plan, src.w, src.h, fp, fp)) {
        fprintf(stderr, "mkdemo: out of memory\n");
        return 1;
    }
    const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    ac_resize_run(&plan, src.rgb, src.stride, face, zero, one);
    for (int f = 0; f < frames; f++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *p = canvas + ((size_t)y * W + x) * 3;
                p[0] = (uint8_t)(90 + 40 * y / H);
                p[1] = (uint8_t)(100 + 30 * x / W);
                p[2] = 110;
            }
        int per_row = (faces + rows - 1) / rows, row_h = H / rows;
        for (int k = 0; k < faces; k++) {
            /* each copy drifts on its own lane so tracks never cross */
            int lane_w = W / per_row, r = k / per_row;
            int span = lane_w > fp ? lane_w - fp : 0;
            int ox = (k % per_row) * lane_w + (frames > 1 ? span * f / (frames - 1) : 0) / 2;
            int oy = r * row_h + (row_h - fp) / 2 + ((f * 3 + k * 17) % 21) - 10;
            if (ox + fp > W)
                ox = W - fp;
            if (oy < r * row_h)
                oy = r * row_h;
            if (oy + fp > (r + 1) * row_h)
                oy = (r + 1) * row_h - fp;
            for (int y = 0; y < fp; y++)
                for (int x = 0; x < fp; x++)
                    for (int c = 0; c < 3; c++) {
                        float v = face[((size_t)y * fp + x) * 3 + c];
                        canvas[((size_t)(oy + y) * W + ox + x) * 3 + c] =
                            (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
                    }
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/frame_%05d.jpg", argv[2], f);
        if ((rc = ac_image_save_jpeg(path, canvas, W, H, W * 3, 90))) {
            fprintf(stderr, "mkdemo: %s: %s\n", path, strerror(-rc));
            return 1;
        }
    }
    ac_resize_plan_uninit(&plan);
    ac_image_free(&src);
    free(face);
    free(canvas);
    return 0;
}
