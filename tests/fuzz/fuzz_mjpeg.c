/* Fuzz target: the camera MJPEG path (ac_convert_check_jpeg, then libyuv's
 * MJPGToI420 and the crop/scale/RGB stages in ac_convert_run), i.e. what a
 * USB camera's frames go through before the detector sees them. The source
 * size is taken from the frame itself when it looks like a JPEG (as if the
 * camera had negotiated that size), so the decoder is reached; a small
 * fixed size is used otherwise to exercise the structural check. Any frame
 * must give 0 or -EBADMSG/-EIO, never a crash or a write outside dst. */
#include <errno.h>
#include <libyuv.h>
#include <stdlib.h>
#include <string.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_convert.h"
#include "fuzz_main.h"

#define DW 64
#define DH 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sw = 16, sh = 16, jw = 0, jh = 0;
    if (size >= 4 && MJPGSize(data, size, &jw, &jh) == 0 && jw >= 2 && jh >= 2 && jw <= 2048 &&
        jh <= 2048) {
        sw = jw;
        sh = jh;
    }
    struct ac_convert c;
    if (ac_convert_init(&c, AC_FMT_MJPEG, sw, sh, 0, DW, DH))
        return 0;
    /* guard bytes after the output: a write past DW x DH must show */
    static uint8_t dst[DW * DH * 3 + 64];
    memset(dst + DW * DH * 3, 0xa5, 64);
    int rc = ac_convert_run(&c, data, size, dst, DW * 3);
    if (rc != 0 && rc != -EBADMSG && rc != -EIO)
        abort();
    for (int i = 0; i < 64; i++)
        if (dst[DW * DH * 3 + i] != 0xa5)
            abort();
    ac_convert_uninit(&c);
    return 0;
}
