/* Camera pixels to the RGB24 frames the detector reads, all through libyuv:
 * decode/convert to I420, centre-crop to the output's aspect, box-scale, then
 * to packed R,G,B. Buffers are sized at init so run() never allocates. */
#ifndef AC_CONVERT_H
#define AC_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the source's Y'CbCr maps to R'G'B'. Cameras default to BT.601
 * limited range; JPEG/MJPEG is always BT.601 full range. */
enum ac_yuv_matrix { AC_YUV_BT601, AC_YUV_BT601_FULL, AC_YUV_BT709, AC_YUV_BT709_FULL };

struct ac_convert {
    uint32_t fourcc;
    int sw, sh, sstride;  /* source size; stride of its first plane in bytes */
    int dw, dh;           /* output size */
    int cx, cy, cw, ch;   /* centre crop in the source keeping the output aspect */
    size_t need;          /* bytes a complete source frame has */
    int scale;            /* crop or size differs: go through the scaler */
    int matrix;           /* enum ac_yuv_matrix */
    uint8_t *tmp, *tmp2;  /* native then scaled intermediates */
};

/* sstride 0 = tightly packed. Returns 0, -ENOTSUP for an unknown fourcc,
 * -EINVAL for bad sizes, -ENOMEM. */
int ac_convert_init(struct ac_convert *c, uint32_t fourcc, int sw, int sh, int sstride, int dw, int dh);
/* One frame of len bytes into dst. -EBADMSG for a truncated or corrupt frame
 * (nothing useful written); the caller drops and counts it. */
int ac_convert_run(struct ac_convert *c, const uint8_t *src, size_t len, uint8_t *dst, int dst_stride);
/* A frame already split into planes (decoders): fourcc YU12 (3 planes) or
 * NV12 (2) as given at init. */
int ac_convert_run_planes(struct ac_convert *c, const uint8_t *const plane[3], const int stride[3],
                          uint8_t *dst, int dst_stride);
/* After init; ignored for JPEG, which defines its own. */
void ac_convert_set_matrix(struct ac_convert *c, enum ac_yuv_matrix m);
void ac_convert_uninit(struct ac_convert *c);

/* Cheap structural check of a JPEG: SOI first, EOI present after it (a
 * camera may pad after EOI), frame size as expected. 0 or -EBADMSG. */
int ac_convert_check_jpeg(const uint8_t *p, size_t len, int w, int h);

#ifdef __cplusplus
}
#endif

#endif
