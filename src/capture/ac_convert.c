#include "capture/ac_convert.h"

#include <errno.h>
#include <libyuv.h>
#include <stdlib.h>
#include <string.h>

#include "capture/ac_capfmt.h"

static int half(int v)
{
    return (v + 1) / 2;
}

static int is_rgb(uint32_t f)
{
    return f == AC_FMT_RGB24 || f == AC_FMT_BGR24;
}

static int is_jpeg(uint32_t f)
{
    return f == AC_FMT_MJPEG || f == AC_FMT_JPEG;
}

int ac_convert_init(struct ac_convert *c, uint32_t fourcc, int sw, int sh, int sstride, int dw, int dh)
{
    memset(c, 0, sizeof *c);
    if (!ac_capfmt_supported(fourcc))
        return -ENOTSUP;
    if (sw < 2 || sh < 2 || dw < 2 || dh < 2 || sw > 16384 || sh > 16384 || dw > 16384 || dh > 16384)
        return -EINVAL;
    c->fourcc = fourcc;
    c->sw = sw;
    c->sh = sh;
    c->matrix = is_jpeg(fourcc) ? AC_YUV_BT601_FULL : AC_YUV_BT601;
    c->dw = dw;
    c->dh = dh;
    int minstride;
    switch (fourcc) {
    case AC_FMT_YUYV: case AC_FMT_UYVY: minstride = 2 * sw; break;
    case AC_FMT_RGB24: case AC_FMT_BGR24: minstride = 3 * sw; break;
    default: minstride = sw;
    }
    c->sstride = sstride > 0 ? sstride : minstride;
    if (c->sstride < minstride)
        return -EINVAL;
    switch (fourcc) {
    case AC_FMT_NV12: case AC_FMT_NV21:
        c->need = (size_t)c->sstride * sh + (size_t)c->sstride * half(sh);
        break;
    case AC_FMT_YU12: case AC_FMT_YV12:
        c->need = (size_t)c->sstride * sh + 2 * (size_t)half(c->sstride) * half(sh);
        break;
    case AC_FMT_MJPEG: case AC_FMT_JPEG:
        c->need = 4;
        break;
    default:
        c->need = (size_t)c->sstride * (sh - 1) + minstride;
    }
    /* centre crop, even offsets so chroma rows and columns stay aligned */
    c->cw = sw;
    c->ch = sh;
    if ((int64_t)sw * dh > (int64_t)sh * dw)
        c->cw = (int)((int64_t)sh * dw / dh) & ~1;
    else if ((int64_t)sw * dh < (int64_t)sh * dw)
        c->ch = (int)((int64_t)sw * dh / dw) & ~1;
    if (c->cw < 2)
        c->cw = 2;
    if (c->ch < 2)
        c->ch = 2;
    c->cx = ((sw - c->cw) / 2) & ~1;
    c->cy = ((sh - c->ch) / 2) & ~1;
    c->scale = c->cw != dw || c->ch != dh || c->cw != sw || c->ch != sh;
    size_t n1, n2;
    if (is_rgb(fourcc)) {
        n1 = (size_t)sw * sh * 4;
        n2 = (size_t)dw * dh * 4;
    } else {
        n1 = (size_t)sw * sh + 2 * (size_t)half(sw) * half(sh);
        n2 = (size_t)dw * dh + 2 * (size_t)half(dw) * half(dh);
    }
    c->tmp = malloc(n1);
    c->tmp2 = malloc(n2);
    if (!c->tmp || !c->tmp2) {
        ac_convert_uninit(c);
        return -ENOMEM;
    }
    return 0;
}

void ac_convert_set_matrix(struct ac_convert *c, enum ac_yuv_matrix m)
{
    if (!is_jpeg(c->fourcc))
        c->matrix = m;
}

void ac_convert_uninit(struct ac_convert *c)
{
    free(c->tmp);
    free(c->tmp2);
    c->tmp = c->tmp2 = NULL;
}

int ac_convert_check_jpeg(const uint8_t *p, size_t len, int w, int h)
{
    if (len < 4 || p[0] != 0xff || p[1] != 0xd8)
        return -EBADMSG;
    size_t i = len - 1;
    while (i > 2 && !(p[i - 1] == 0xff && p[i] == 0xd9))
        i--;
    if (i <= 2)
        return -EBADMSG;
    int jw = 0, jh = 0;
    if (MJPGSize(p, len, &jw, &jh) != 0 || jw != w || jh != h)
        return -EBADMSG;
    return 0;
}

struct planes {
    const uint8_t *y, *u, *v;
    int sy, su, sv;
};

static void planes_of(uint8_t *buf, int w, int h, struct planes *p)
{
    p->y = buf;
    p->sy = w;
    p->u = buf + (size_t)w * h;
    p->su = half(w);
    p->v = p->u + (size_t)half(w) * half(h);
    p->sv = half(w);
}

static int rgb_run(struct ac_convert *c, const uint8_t *src, uint8_t *dst, int dst_stride)
{
    int bgr = c->fourcc == AC_FMT_BGR24;
    if (!c->scale) {
        if (bgr)
            return RAWToRGB24(src, c->sstride, dst, dst_stride, c->sw, c->sh);
        for (int y = 0; y < c->sh; y++)
            memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * c->sstride, (size_t)3 * c->sw);
        return 0;
    }
    int rc = bgr ? RGB24ToARGB(src, c->sstride, c->tmp, 4 * c->sw, c->sw, c->sh)
                 : RAWToARGB(src, c->sstride, c->tmp, 4 * c->sw, c->sw, c->sh);
    if (rc)
        return rc;
    const uint8_t *crop = c->tmp + (size_t)c->cy * 4 * c->sw + (size_t)4 * c->cx;
    rc = ARGBScale(crop, 4 * c->sw, c->cw, c->ch, c->tmp2, 4 * c->dw, c->dw, c->dh, kFilterBox);
    if (rc)
        return rc;
    return ARGBToRAW(c->tmp2, 4 * c->dw, dst, dst_stride, c->dw, c->dh);
}

/* crop + scale when needed, then I420 to packed R,G,B */
static int finish(struct ac_convert *c, struct planes p, uint8_t *dst, int dst_stride)
{
    if (c->scale) {
        const uint8_t *cy = p.y + (size_t)c->cy * p.sy + c->cx;
        const uint8_t *cu = p.u + (size_t)(c->cy / 2) * p.su + c->cx / 2;
        const uint8_t *cv = p.v + (size_t)(c->cy / 2) * p.sv + c->cx / 2;
        struct planes q;
        planes_of(c->tmp2, c->dw, c->dh, &q);
        if (I420Scale(cy, p.sy, cu, p.su, cv, p.sv, c->cw, c->ch, (uint8_t *)q.y, q.sy,
                      (uint8_t *)q.u, q.su, (uint8_t *)q.v, q.sv, c->dw, c->dh, kFilterBox))
            return -EIO;
        p = q;
    }
    /* libyuv's "RGB24" is B,G,R in memory; swapping U and V and using its
     * YVU constants gives R,G,B (this is how its own I420ToRAW works) */
    const struct YuvConstants *k = c->matrix == AC_YUV_BT601_FULL ? &kYvuJPEGConstants
                                 : c->matrix == AC_YUV_BT709      ? &kYvuH709Constants
                                 : c->matrix == AC_YUV_BT709_FULL ? &kYvuF709Constants
                                                                  : &kYvuI601Constants;
    int rc = I420ToRGB24Matrix(p.y, p.sy, p.v, p.sv, p.u, p.su, dst, dst_stride, k, c->dw, c->dh);
    return rc ? -EIO : 0;
}

static int nv_run(struct ac_convert *c, const uint8_t *y, int sy, const uint8_t *uv, int suv, uint8_t *dst,
                  int dst_stride)
{
    int nv21 = c->fourcc == AC_FMT_NV21;
    if (!c->scale && c->matrix == AC_YUV_BT601)
        return (nv21 ? NV21ToRAW(y, sy, uv, suv, dst, dst_stride, c->sw, c->sh)
                     : NV12ToRAW(y, sy, uv, suv, dst, dst_stride, c->sw, c->sh)) ? -EIO : 0;
    struct planes p;
    planes_of(c->tmp, c->sw, c->sh, &p);
    uint8_t *py = (uint8_t *)p.y, *pu = (uint8_t *)p.u, *pv = (uint8_t *)p.v;
    if ((nv21 ? NV21ToI420 : NV12ToI420)(y, sy, uv, suv, py, p.sy, pu, p.su, pv, p.sv, c->sw, c->sh))
        return -EIO;
    return finish(c, p, dst, dst_stride);
}

int ac_convert_run_planes(struct ac_convert *c, const uint8_t *const plane[3], const int stride[3],
                          uint8_t *dst, int dst_stride)
{
    if (c->fourcc == AC_FMT_NV12)
        return nv_run(c, plane[0], stride[0], plane[1], stride[1], dst, dst_stride);
    if (c->fourcc != AC_FMT_YU12)
        return -EINVAL;
    struct planes p = {plane[0], plane[1], plane[2], stride[0], stride[1], stride[2]};
    return finish(c, p, dst, dst_stride);
}

int ac_convert_run(struct ac_convert *c, const uint8_t *src, size_t len, uint8_t *dst, int dst_stride)
{
    if (!src || len < c->need)
        return -EBADMSG;
    if (is_rgb(c->fourcc))
        return rgb_run(c, src, dst, dst_stride) ? -EIO : 0;
    int sw = c->sw, sh = c->sh, ss = c->sstride;
    const uint8_t *uvp = src + (size_t)ss * sh;
    if (c->fourcc == AC_FMT_NV12 || c->fourcc == AC_FMT_NV21)
        return nv_run(c, src, ss, uvp, ss, dst, dst_stride);
    struct planes p;
    if (c->fourcc == AC_FMT_YU12 || c->fourcc == AC_FMT_YV12) {
        const uint8_t *a = uvp, *b = uvp + (size_t)half(ss) * half(sh);
        p.y = src;
        p.sy = ss;
        p.u = c->fourcc == AC_FMT_YU12 ? a : b;
        p.v = c->fourcc == AC_FMT_YU12 ? b : a;
        p.su = p.sv = half(ss);
        return finish(c, p, dst, dst_stride);
    }
    planes_of(c->tmp, sw, sh, &p);
    uint8_t *y = (uint8_t *)p.y, *u = (uint8_t *)p.u, *v = (uint8_t *)p.v;
    int rc;
    switch (c->fourcc) {
    case AC_FMT_YUYV: rc = YUY2ToI420(src, ss, y, p.sy, u, p.su, v, p.sv, sw, sh); break;
    case AC_FMT_UYVY: rc = UYVYToI420(src, ss, y, p.sy, u, p.su, v, p.sv, sw, sh); break;
    default: /* JPEG */
        if (ac_convert_check_jpeg(src, len, sw, sh) ||
            MJPGToI420(src, len, y, p.sy, u, p.su, v, p.sv, sw, sh, sw, sh))
            return -EBADMSG;
        rc = 0;
    }
    if (rc)
        return -EIO;
    return finish(c, p, dst, dst_stride);
}
