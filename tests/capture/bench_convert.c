/* Conversion cost per frame for the capture formats, e.g.
 *   bench_convert [iters]   ->   YUYV 640x480 -> 640x480: 812.3 us */
#include <stdio.h>
#include <stdlib.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 200;
    static const struct { uint32_t f; int sw, sh, dw, dh; } cases[] = {
        {AC_FMT_YUYV, 640, 480, 640, 480}, {AC_FMT_NV12, 640, 480, 640, 480},
        {AC_FMT_MJPEG, 640, 480, 640, 480}, {AC_FMT_YU12, 640, 480, 640, 480},
        {AC_FMT_YUYV, 1280, 720, 640, 480}, {AC_FMT_MJPEG, 1280, 720, 640, 480},
        {AC_FMT_MJPEG, 1920, 1080, 640, 480},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double us = 0;
        char n[5];
        int rc = ac_capture_bench_convert(cases[i].f, cases[i].sw, cases[i].sh, cases[i].dw, cases[i].dh, iters, &us);
        printf("%s %dx%d -> RGB %dx%d: ", ac_capfmt_name(cases[i].f, n), cases[i].sw, cases[i].sh, cases[i].dw,
               cases[i].dh);
        if (rc) {
            printf("failed (%d)\n", rc);
            bad = 1;
        } else {
            printf("%.1f us/frame\n", us);
        }
    }
    return bad;
}
