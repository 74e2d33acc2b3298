/* Conversion cost per frame for `agecam bench`: the camera-side work that
 * happens before the detector sees a frame. */
#include <errno.h>
#include <libyuv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "capture/ac_capture_backend.h"
#include "capture/ac_convert.h"
#include "common/ac_image.h"

/* A smooth picture with edges, so JPEG sizes are camera-like. */
static void test_picture(uint8_t *rgb, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / w);
            p[1] = (uint8_t)(y * 255 / h);
            p[2] = (uint8_t)(((x / 32) ^ (y / 32)) & 1 ? 200 : 40);
        }
}

static int encode_jpeg(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len)
{
    char path[] = "/tmp/agecam-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -errno;
    close(fd);
    int rc = ac_image_save_jpeg(path, rgb, w, h, 3 * w, 85);
    FILE *f = rc ? NULL : fopen(path, "rb");
    if (!rc && !f)
        rc = -errno;
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        *out = malloc((size_t)n);
        if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
            rc = -EIO;
        *len = (size_t)n;
        fclose(f);
    }
    unlink(path);
    return rc;
}

/* Source bytes in fourcc made from the RGB picture by libyuv. */
static int make_source(uint32_t fourcc, const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len)
{
    if (fourcc == AC_FMT_MJPEG || fourcc == AC_FMT_JPEG)
        return encode_jpeg(rgb, w, h, out, len);
    int hw = (w + 1) / 2, hh = (h + 1) / 2;
    uint8_t *argb = malloc((size_t)w * h * 4);
    uint8_t *i420 = malloc((size_t)w * h + 2 * (size_t)hw * hh);
    size_t n = fourcc == AC_FMT_YUYV || fourcc == AC_FMT_UYVY ? (size_t)w * h * 2
             : fourcc == AC_FMT_RGB24 || fourcc == AC_FMT_BGR24 ? (size_t)w * h * 3
             : (size_t)w * h + 2 * (size_t)hw * hh;
    uint8_t *buf = malloc(n);
    int rc = -ENOMEM;
    if (argb && i420 && buf) {
        uint8_t *y = i420, *u = y + (size_t)w * h, *v = u + (size_t)hw * hh;
        RAWToARGB(rgb, 3 * w, argb, 4 * w, w, h);
        ARGBToI420(argb, 4 * w, y, w, u, hw, v, hw, w, h);
        rc = 0;
        switch (fourcc) {
        case AC_FMT_YUYV: I420ToYUY2(y, w, u, hw, v, hw, buf, 2 * w, w, h); break;
        case AC_FMT_UYVY: I420ToUYVY(y, w, u, hw, v, hw, buf, 2 * w, w, h); break;
        case AC_FMT_NV12: I420ToNV12(y, w, u, hw, v, hw, buf, w, buf + (size_t)w * h, 2 * hw, w, h); break;
        case AC_FMT_YU12: memcpy(buf, i420, n); break;
        case AC_FMT_RGB24: memcpy(buf, rgb, n); break;
        default: rc = -ENOTSUP;
        }
    }
    free(argb);
    free(i420);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

int ac_capture_bench_source(uint32_t fourcc, int w, int h, uint8_t **out, size_t *len)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        return -ENOMEM;
    test_picture(rgb, w, h);
    int rc = make_source(fourcc, rgb, w, h, out, len);
    free(rgb);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int ac_capture_bench_convert(uint32_t fourcc, int src_w, int src_h, int dst_w, int dst_h, int iters,
                             double *us_per_frame)
{
    if (iters < 1)
        return -EINVAL;
    uint8_t *rgb = malloc((size_t)src_w * src_h * 3);
    uint8_t *dst = malloc((size_t)dst_w * dst_h * 3);
    uint8_t *src = NULL;
    size_t len = 0;
    struct ac_convert conv;
    memset(&conv, 0, sizeof conv);
    int rc = rgb && dst ? 0 : -ENOMEM;
    if (!rc) {
        test_picture(rgb, src_w, src_h);
        rc = make_source(fourcc, rgb, src_w, src_h, &src, &len);
    }
    if (!rc)
        rc = ac_convert_init(&conv, fourcc, src_w, src_h, 0, dst_w, dst_h);
    if (!rc)
        rc = ac_convert_run(&conv, src, len, dst, 3 * dst_w); /* warm caches */
    /* median of single runs: the build machines are shared and noisy */
    int64_t *t = rc ? NULL : malloc(sizeof *t * (size_t)iters);
    if (!rc && !t)
        rc = -ENOMEM;
    for (int i = 0; !rc && i < iters; i++) {
        int64_t t0 = ac_capture_now_ns();
        rc = ac_convert_run(&conv, src, len, dst, 3 * dst_w);
        t[i] = ac_capture_now_ns() - t0;
    }
    if (!rc) {
        qsort(t, (size_t)iters, sizeof *t, cmp_i64);
        *us_per_frame = (double)t[iters / 2] / 1000.0;
    }
    free(t);
    ac_convert_uninit(&conv);
    free(src);
    free(rgb);
    free(dst);
    return rc;
}
