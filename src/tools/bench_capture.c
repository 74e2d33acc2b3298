/* Bench rows for capture: converting one camera frame into the RGB frame
 * the pipeline sees (libyuv: unpack or MJPEG decode, crop, scale), per
 * camera format, at 640x480 and from the larger sizes webcams offer. The
 * camera thread pays this for every frame it delivers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "capture/ac_convert.h"
#include "tools/ac_bench.h"

struct conv_param {
    uint32_t fourcc;
    int w, h;
};

struct conv_state {
    struct ac_convert conv;
    int conv_ready;
    uint8_t *src, *dst;
    size_t len;
};

#define OUT_W 640
#define OUT_H 480

static void conv_teardown(void *s)
{
    struct conv_state *st = s;
    if (!st)
        return;
    if (st->conv_ready)
        ac_convert_uninit(&st->conv);
    free(st->src);
    free(st->dst);
    free(st);
}

static int conv_setup(const struct ac_bench_opts *o, const void *param, void **state, char *err,
                      size_t errlen)
{
    (void)o;
    const struct conv_param *p = param;
    struct conv_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    *state = st;
    int rc = ac_capture_bench_source(p->fourcc, p->w, p->h, &st->src, &st->len);
    if (!rc)
        rc = ac_convert_init(&st->conv, p->fourcc, p->w, p->h, 0, OUT_W, OUT_H);
    st->conv_ready = !rc;
    st->dst = rc ? NULL : malloc(OUT_W * OUT_H * 3);
    if (!rc && !st->dst)
        rc = -ENOMEM;
    if (rc)
        snprintf(err, errlen, "cannot prepare the source frame: %s", strerror(-rc));
    return rc;
}

static int conv_run(void *s)
{
    struct conv_state *st = s;
    return ac_convert_run(&st->conv, st->src, st->len, st->dst, OUT_W * 3);
}

static int conv_figures(void *s, struct ac_bench_figure *f, int max)
{
    struct conv_state *st = s;
    int n = 0;
    ac_bench_figure_add(f, max, &n, "src_bytes", (double)st->len);
    return n;
}

static const struct conv_param yuyv480 = {AC_FMT_YUYV, 640, 480}, nv12_480 = {AC_FMT_NV12, 640, 480},
                               mjpg480 = {AC_FMT_MJPEG, 640, 480}, yuyv720 = {AC_FMT_YUYV, 1280, 720},
                               mjpg720 = {AC_FMT_MJPEG, 1280, 720};

const struct ac_bench_case ac_bench_capture[] = {
    {"capture/yuyv/640x480", "one YUYV 640x480 camera frame to RGB 640x480", conv_setup, conv_run,
     conv_figures, conv_teardown, &yuyv480},
    {"capture/nv12/640x480", "one NV12 640x480 camera frame to RGB 640x480", conv_setup, conv_run,
     conv_figures, conv_teardown, &nv12_480},
    {"capture/mjpeg/640x480", "one MJPEG 640x480 camera frame decoded to RGB 640x480", conv_setup,
     conv_run, conv_figures, conv_teardown, &mjpg480},
    {"capture/yuyv/1280x720", "one YUYV 1280x720 frame cropped 4:3 and scaled to RGB 640x480",
     conv_setup, conv_run, conv_figures, conv_teardown, &yuyv720},
    {"capture/mjpeg/1280x720", "one MJPEG 1280x720 frame decoded, cropped 4:3, scaled to 640x480",
     conv_setup, conv_run, conv_figures, conv_teardown, &mjpg720},
    {0},
};
