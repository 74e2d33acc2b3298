/* Format negotiation: what a camera offers -> what we ask it for. */
#include <errno.h>

#include "capture/ac_capfmt.h"
#include "../common/check.h"

#define O(f, w, h, fps) {f, w, h, (fps) * 1000}

static struct ac_capfmt pick(const struct ac_capfmt *o, int n, int w, int h, int fps, const uint32_t *pref,
                             int npref, int *rc)
{
    struct ac_capfmt_want want = {w, h, fps, pref, npref};
    struct ac_capfmt out = {0, 0, 0, 0};
    *rc = ac_capfmt_choose(o, n, &want, &out);
    return out;
}

int main(void)
{
    int rc;
    /* a typical UVC webcam: MJPEG everywhere at 30, YUYV slow at big sizes */
    const struct ac_capfmt cam[] = {
        O(AC_FMT_YUYV, 640, 480, 30), O(AC_FMT_YUYV, 1280, 720, 10), O(AC_FMT_YUYV, 1920, 1080, 5),
        O(AC_FMT_MJPEG, 640, 480, 30), O(AC_FMT_MJPEG, 1280, 720, 30), O(AC_FMT_MJPEG, 1920, 1080, 30),
        O(AC_FOURCC('H', '2', '6', '4'), 640, 480, 30),
    };
    int n = sizeof cam / sizeof cam[0];
    struct ac_capfmt r = pick(cam, n, 640, 480, 30, NULL, 0, &rc);
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.fourcc, AC_FMT_MJPEG); /* default preference: MJPEG first */
    CHECK_EQ(r.w, 640);
    CHECK_EQ(r.h, 480);

    const uint32_t yuyv_first[] = {AC_FMT_YUYV, AC_FMT_MJPEG};
    r = pick(cam, n, 640, 480, 30, yuyv_first, 2, &rc);
    CHECK_EQ(r.fourcc, AC_FMT_YUYV);
    CHECK_EQ(r.w, 640);
    /* 720p at 30: YUYV cannot, so the rate wins over format preference */
    r = pick(cam, n, 1280, 720, 30, yuyv_first, 2, &rc);
    CHECK_EQ(r.fourcc, AC_FMT_MJPEG);
    CHECK_EQ(r.w, 1280);
    /* 720p at 10 is fine for YUYV */
    r = pick(cam, n, 1280, 720, 10, yuyv_first, 2, &rc);
    CHECK_EQ(r.fourcc, AC_FMT_YUYV);
    CHECK_EQ(r.h, 720);
    /* a size between offers: smallest that covers it, never upscale */
    r = pick(cam, n, 800, 600, 0, NULL, 0, &rc);
    CHECK_EQ(r.w, 1280);
    CHECK_EQ(r.h, 720);
    /* bigger than anything offered: the largest */
    r = pick(cam, n, 4000, 3000, 0, NULL, 0, &rc);
    CHECK_EQ(r.w, 1920);
    /* no size wanted: the largest */
    r = pick(cam, n, 0, 0, 0, NULL, 0, &rc);
    CHECK_EQ(r.w, 1920);
    CHECK_EQ(r.fourcc, AC_FMT_MJPEG);

    /* aspect: 640x360 wanted; 640x480 and 640x360 both cover, prefer the 16:9 one */
    const struct ac_capfmt wide[] = {O(AC_FMT_NV12, 640, 480, 30), O(AC_FMT_NV12, 640, 360, 30),
                                     O(AC_FMT_NV12, 320, 180, 30)};
    r = pick(wide, 3, 640, 360, 30, NULL, 0, &rc);
    CHECK_EQ(r.h, 360);
    /* covering beats aspect: 1280x720 wanted, only 4:3 sizes cover it */
    const struct ac_capfmt four3[] = {O(AC_FMT_YUYV, 1600, 1200, 15), O(AC_FMT_YUYV, 1024, 576, 15)};
    r = pick(four3, 2, 1280, 720, 0, NULL, 0, &rc);
    CHECK_EQ(r.w, 1600);

    /* a camera offering only formats outside the preference list still works */
    const struct ac_capfmt odd[] = {O(AC_FMT_UYVY, 640, 480, 30), O(AC_FOURCC('H', '2', '6', '4'), 640, 480, 30)};
    r = pick(odd, 2, 640, 480, 30, NULL, 0, &rc);
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.fourcc, AC_FMT_UYVY);
    /* nothing convertible */
    const struct ac_capfmt none[] = {O(AC_FOURCC('H', '2', '6', '4'), 640, 480, 30)};
    pick(none, 1, 640, 480, 30, NULL, 0, &rc);
    CHECK_EQ(rc, -ENOTSUP);
    pick(none, 0, 640, 480, 30, NULL, 0, &rc);
    CHECK_EQ(rc, -ENOTSUP);
    /* unknown rate (0) counts as meeting the rate */
    const struct ac_capfmt unk[] = {O(AC_FMT_NV12, 640, 480, 0), O(AC_FMT_YUYV, 640, 480, 5)};
    r = pick(unk, 2, 640, 480, 30, NULL, 0, &rc);
    CHECK_EQ(r.fourcc, AC_FMT_NV12);

    CHECK_EQ(ac_capfmt_parse("yuyv"), AC_FMT_YUYV);
    CHECK_EQ(ac_capfmt_parse("MJPG"), AC_FMT_MJPEG);
    CHECK_EQ(ac_capfmt_parse("MJPEG"), 0);
    char b[5];
    CHECK(ac_capfmt_name(AC_FMT_NV12, b)[0] == 'N' && b[3] == '2' && b[4] == 0);
    return check_done("test_capfmt");
}
