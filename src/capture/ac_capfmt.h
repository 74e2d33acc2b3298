/* Camera format negotiation as a pure function over what the device offers,
 * so the choice is unit-tested without a camera. Pixel formats are V4L2
 * fourccs everywhere in capture (libcamera and files map onto them). */
#ifndef AC_CAPFMT_H
#define AC_CAPFMT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AC_FOURCC(a, b, c, d) \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define AC_FMT_MJPEG AC_FOURCC('M', 'J', 'P', 'G')
#define AC_FMT_JPEG AC_FOURCC('J', 'P', 'E', 'G')
#define AC_FMT_YUYV AC_FOURCC('Y', 'U', 'Y', 'V')
#define AC_FMT_UYVY AC_FOURCC('U', 'Y', 'V', 'Y')
#define AC_FMT_NV12 AC_FOURCC('N', 'V', '1', '2')
#define AC_FMT_NV21 AC_FOURCC('N', 'V', '2', '1')
#define AC_FMT_YU12 AC_FOURCC('Y', 'U', '1', '2') /* planar I420 */
#define AC_FMT_YV12 AC_FOURCC('Y', 'V', '1', '2')
#define AC_FMT_RGB24 AC_FOURCC('R', 'G', 'B', '3') /* bytes R,G,B */
#define AC_FMT_BGR24 AC_FOURCC('B', 'G', 'R', '3') /* bytes B,G,R */

/* One offered mode. fps is frames per second times 1000 (the best rate the
 * device gives at that size; 0 = unknown). */
struct ac_capfmt {
    uint32_t fourcc;
    int w, h;
    int fps_milli;
};

struct ac_capfmt_want {
    int w, h;             /* output size; 0 = take the largest offered */
    int fps;              /* 0 = any */
    const uint32_t *prefer; /* fourccs, best first; NULL = MJPEG, YUYV, NV12 */
    int nprefer;
};

/* 1 when the converter handles this fourcc */
int ac_capfmt_supported(uint32_t fourcc);
/* "YUYV" style text into buf (5 bytes) */
const char *ac_capfmt_name(uint32_t fourcc, char buf[5]);
/* Parses "MJPG", "yuyv", ... ; 0 when not 4 printable characters. */
uint32_t ac_capfmt_parse(const char *s);

/* Picks the offer that meets the frame rate, then covers the wanted size
 * (so we only ever downscale) with the same aspect and the least excess (or,
 * when nothing covers it, the largest), then comes first in the preference
 * list. Formats not in the preference list are
 * used only when nothing preferred is offered. Returns 0 or -ENOTSUP when no
 * offer can be converted. */
int ac_capfmt_choose(const struct ac_capfmt *offers, int n, const struct ac_capfmt_want *want,
                     struct ac_capfmt *out);

#ifdef __cplusplus
}
#endif

#endif
