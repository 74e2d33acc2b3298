/* Conversion plumbing around libyuv: colour matrices against a scalar
 * BT.601 reference, plane/stride layout, centre crop + scale geometry, and
 * corrupt or truncated frames rejected with -EBADMSG. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_convert.h"
#include "../common/check.h"
#include "common/ac_image.h"

static uint8_t clamp8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

/* scalar reference from the standards' Kr/Kb, limited (16-235/240) or
 * full range */
static void ref_rgb(int y, int u, int v, int matrix, uint8_t out[3])
{
    int bt709 = matrix == AC_YUV_BT709 || matrix == AC_YUV_BT709_FULL;
    int full = matrix == AC_YUV_BT601_FULL || matrix == AC_YUV_BT709_FULL;
    double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114;
    double Y = full ? y : (y - 16) * 255.0 / 219, cb = (u - 128) * (full ? 1 : 255.0 / 224),
           cr = (v - 128) * (full ? 1 : 255.0 / 224);
    double r = Y + 2 * (1 - kr) * cr, b = Y + 2 * (1 - kb) * cb;
    double g = (Y - kr * r - kb * b) / (1 - kr - kb);
    out[0] = clamp8(r);
    out[1] = clamp8(g);
    out[2] = clamp8(b);
}

/* random frame with chroma constant over each 2x2 block, so 4:2:2 and 4:2:0
 * layouts describe the same picture */
static void random_yuv(int w, int h, uint8_t *Y, uint8_t *U, uint8_t *V)
{
    for (int i = 0; i < w * h; i++)
        Y[i] = (uint8_t)(16 + rand() % 220);
    for (int i = 0; i < (w / 2) * (h / 2); i++) {
        U[i] = (uint8_t)(16 + rand() % 225);
        V[i] = (uint8_t)(16 + rand() % 225);
    }
}

static int max_err_vs_ref(const uint8_t *rgb, int stride, int w, int h, const uint8_t *Y, const uint8_t *U,
                          const uint8_t *V, int matrix)
{
    int worst = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t r[3];
            int ci = (y / 2) * (w / 2) + x / 2;
            ref_rgb(Y[y * w + x], U[ci], V[ci], matrix, r);
            for (int k = 0; k < 3; k++) {
                int d = abs((int)rgb[(size_t)y * stride + 3 * x + k] - r[k]);
                if (d > worst)
                    worst = d;
            }
        }
    return worst;
}

static void test_matrices(void)
{
    enum { W = 64, H = 32 };
    uint8_t Y[W * H], U[W * H / 4], V[W * H / 4], rgb[W * H * 3];
    random_yuv(W, H, Y, U, V);
    struct ac_convert c;

    /* YUYV: Y0 U Y1 V per pixel pair; stride padded to catch stride bugs */
    int ss = 2 * W + 16;
    uint8_t *yuyv = calloc((size_t)ss * H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x += 2) {
            uint8_t *p = yuyv + (size_t)y * ss + 2 * x;
            int ci = (y / 2) * (W / 2) + x / 2;
            p[0] = Y[y * W + x];
            p[1] = U[ci];
            p[2] = Y[y * W + x + 1];
            p[3] = V[ci];
        }
    CHECK_EQ(ac_convert_init(&c, AC_FMT_YUYV, W, H, ss, W, H), 0);
    CHECK_EQ(ac_convert_run(&c, yuyv, (size_t)ss * H, rgb, 3 * W), 0);
    int e = max_err_vs_ref(rgb, 3 * W, W, H, Y, U, V, AC_YUV_BT601);
    printf("YUYV vs scalar BT.601: max error %d\n", e);
    CHECK(e <= 4);
    /* the same bytes declared BT.709 full range (a driver's colorimetry) */
    ac_convert_set_matrix(&c, AC_YUV_BT709_FULL);
    CHECK_EQ(ac_convert_run(&c, yuyv, (size_t)ss * H, rgb, 3 * W), 0);
    e = max_err_vs_ref(rgb, 3 * W, W, H, Y, U, V, AC_YUV_BT709_FULL);
    printf("YUYV vs scalar BT.709 full range: max error %d\n", e);
    CHECK(e <= 4);
    CHECK(max_err_vs_ref(rgb, 3 * W, W, H, Y, U, V, AC_YUV_BT601) > 20); /* the matrices do differ */
    /* one byte short of a whole frame */
    CHECK_EQ(ac_convert_run(&c, yuyv, (size_t)ss * H - 16 - 1, rgb, 3 * W), -EBADMSG);
    ac_convert_uninit(&c);
    free(yuyv);

    /* NV12: Y plane then interleaved UV */
    uint8_t nv12[W * H * 3 / 2];
    memcpy(nv12, Y, W * H);
    for (int i = 0; i < W * H / 4; i++) {
        nv12[W * H + 2 * i] = U[i];
        nv12[W * H + 2 * i + 1] = V[i];
    }
    CHECK_EQ(ac_convert_init(&c, AC_FMT_NV12, W, H, 0, W, H), 0);
    CHECK_EQ(ac_convert_run(&c, nv12, sizeof nv12, rgb, 3 * W), 0);
    e = max_err_vs_ref(rgb, 3 * W, W, H, Y, U, V, AC_YUV_BT601);
    printf("NV12 vs scalar BT.601: max error %d\n", e);
    CHECK(e <= 4);
    ac_convert_set_matrix(&c, AC_YUV_BT709);
    CHECK_EQ(ac_convert_run(&c, nv12, sizeof nv12, rgb, 3 * W), 0);
    e = max_err_vs_ref(rgb, 3 * W, W, H, Y, U, V, AC_YUV_BT709);
    printf("NV12 vs scalar BT.709: max error %d\n", e);
    /* libyuv clamps BT.709's U->B gain (2.112) to what its 8-bit SIMD takes,
     * so strong blues come out up to ~13 levels low */
    CHECK(e <= 14);
    CHECK_EQ(ac_convert_run(&c, nv12, sizeof nv12 - 1, rgb, 3 * W), -EBADMSG);
    ac_convert_uninit(&c);

    /* planar I420 handed over as planes (decoder path), full range */
    const uint8_t *pl[3] = {Y, U, V};
    const int st[3] = {W, W / 2, W / 2};
    CHECK_EQ(ac_convert_init(&c, AC_FMT_YU12, W, H, 0, W, H), 0);
    ac_convert_set_matrix(&c, AC_YUV_BT601_FULL);
    CHECK_EQ(ac_convert_run_planes(&c, pl, st, rgb, 3 * W), 0);
    e = max_err_vs_ref(rgb, 3 * W, W, H, Y, U, V, AC_YUV_BT601_FULL);
    printf("I420 full range vs scalar JPEG matrix: max error %d\n", e);
    CHECK(e <= 4);
    ac_convert_uninit(&c);
}

/* 1280x720 source: green for x < 160 (falls outside a 4:3 centre crop),
 * red up to the middle, blue after. */
static void fill_bands(uint8_t *rgb, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            int green = x < 160, red = !green && x < w / 2;
            p[0] = red ? 200 : 30;
            p[1] = green ? 200 : 40;
            p[2] = red || green ? 40 : 200;
        }
}

static int near(const uint8_t *p, int r, int g, int b, int tol)
{
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

static void check_bands(const uint8_t *out, int w, int h, int tol, const char *what)
{
    const uint8_t *left = out + (size_t)(h / 2) * 3 * w;                  /* column 0 */
    const uint8_t *lmid = left + 3 * (w / 4);
    const uint8_t *rmid = left + 3 * (3 * w / 4);
    int ok = near(left, 200, 40, 40, tol) && near(lmid, 200, 40, 40, tol) && near(rmid, 30, 40, 200, tol);
    if (!ok)
        printf("%s: left %d,%d,%d mid-left %d,%d,%d mid-right %d,%d,%d\n", what, left[0], left[1], left[2],
               lmid[0], lmid[1], lmid[2], rmid[0], rmid[1], rmid[2]);
    CHECK(ok);
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(*len);
    int ok = *buf && fread(*buf, 1, *len, f) == *len;
    fclose(f);
    return ok ? 0 : -EIO;
}

static void test_geometry_and_jpeg(void)
{
    enum { SW = 1280, SH = 720, DW = 640, DH = 480 };
    uint8_t *src = malloc((size_t)SW * SH * 3), *out = malloc((size_t)DW * DH * 3);
    fill_bands(src, SW, SH);
    struct ac_convert c;
    /* RGB source: crop to 960x720 around the centre, scale to 640x480 */
    CHECK_EQ(ac_convert_init(&c, AC_FMT_RGB24, SW, SH, 0, DW, DH), 0);
    CHECK_EQ(c.cw, 960);
    CHECK_EQ(c.ch, 720);
    CHECK_EQ(c.cx, 160);
    CHECK_EQ(ac_convert_run(&c, src, (size_t)SW * SH * 3, out, 3 * DW), 0);
    check_bands(out, DW, DH, 6, "RGB scaled");
    ac_convert_uninit(&c);

    /* the same picture as an MJPEG frame */
    char path[] = "/tmp/agecam-test-convert-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(ac_image_save_jpeg(path, src, SW, SH, 3 * SW, 90), 0);
    uint8_t *jpg = NULL;
    size_t len = 0;
    CHECK_EQ(read_file(path, &jpg, &len), 0);
    unlink(path);
    if (!jpg) {
        free(src);
        free(out);
        return;
    }
    CHECK_EQ(ac_convert_init(&c, AC_FMT_MJPEG, SW, SH, 0, DW, DH), 0);
    CHECK_EQ(ac_convert_run(&c, jpg, len, out, 3 * DW), 0);
    check_bands(out, DW, DH, 12, "MJPEG scaled");
    /* camera-style zero padding after EOI is fine */
    uint8_t *padded = calloc(len + 4096, 1);
    memcpy(padded, jpg, len);
    CHECK_EQ(ac_convert_run(&c, padded, len + 4096, out, 3 * DW), 0);
    /* truncated frames (USB packet loss) */
    CHECK_EQ(ac_convert_run(&c, jpg, len / 2, out, 3 * DW), -EBADMSG);
    CHECK_EQ(ac_convert_run(&c, jpg, len - 2, out, 3 * DW), -EBADMSG);
    CHECK_EQ(ac_convert_run(&c, jpg, 3, out, 3 * DW), -EBADMSG);
    /* garbled header */
    uint8_t *bad = malloc(len);
    memcpy(bad, jpg, len);
    memset(bad + 2, 0x5a, 200);
    CHECK_EQ(ac_convert_run(&c, bad, len, out, 3 * DW), -EBADMSG);
    /* not a JPEG at all */
    memset(bad, 0x11, len);
    CHECK_EQ(ac_convert_run(&c, bad, len, out, 3 * DW), -EBADMSG);
    /* a JPEG of another size than negotiated (mode switch mid-stream) */
    ac_convert_uninit(&c);
    CHECK_EQ(ac_convert_init(&c, AC_FMT_MJPEG, 640, 360, 0, DW, DH), 0);
    CHECK_EQ(ac_convert_run(&c, jpg, len, out, 3 * DW), -EBADMSG);
    /* and the converter still works after all that */
    ac_convert_uninit(&c);
    CHECK_EQ(ac_convert_init(&c, AC_FMT_MJPEG, SW, SH, 0, DW, DH), 0);
    CHECK_EQ(ac_convert_run(&c, jpg, len, out, 3 * DW), 0);
    check_bands(out, DW, DH, 12, "MJPEG after errors");
    /* random byte damage anywhere (a flaky USB link): either decoded or
     * rejected, never a crash or a hang */
    int rejected = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(bad, jpg, len);
        for (int k = 0; k < 1 + round % 8; k++)
            bad[2 + (size_t)rand() % (len - 4)] = (uint8_t)rand();
        int r = ac_convert_run(&c, bad, len, out, 3 * DW);
        CHECK(r == 0 || r == -EBADMSG);
        rejected += r == -EBADMSG;
    }
    printf("randomly damaged MJPEG frames: %d of 300 rejected, the rest decoded with artefacts\n", rejected);
    ac_convert_uninit(&c);
    CHECK_EQ(ac_convert_init(&c, AC_FOURCC('H', '2', '6', '4'), SW, SH, 0, DW, DH), -ENOTSUP);
    CHECK_EQ(ac_convert_init(&c, AC_FMT_YUYV, 0, SH, 0, DW, DH), -EINVAL);
    free(bad);
    free(padded);
    free(jpg);
    free(src);
    free(out);
}

int main(void)
{
    srand(5);
    test_matrices();
    test_geometry_and_jpeg();
    return check_done("test_convert");
}
