/* Fuzz target: still-image decoding we own (ac_image_decode: the JPEG and PNG
 * paths of the dir: source and the tools). Any bytes must give 0 or a clean
 * -errno, never a crash, a leak or a huge allocation; a decoded image must be
 * within the documented size limit and fully readable. */
#include <errno.h>
#include <stdlib.h>

#include "common/ac_image.h"
#include "fuzz_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ac_image img;
    int rc = ac_image_decode(data, size, &img);
    if (rc > 0)
        abort();
    if (rc < 0) {
        if (img.rgb || img.w || img.h)
            abort(); /* on error *img is left empty */
        return 0;
    }
    if (img.w <= 0 || img.h <= 0 || img.w > AC_IMAGE_MAX_SIDE || img.h > AC_IMAGE_MAX_SIDE ||
        img.stride < 3 * img.w || !img.rgb)
        abort();
    /* touch every byte: a short buffer shows up under ASan/valgrind */
    unsigned sum = 0;
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < 3 * img.w; x++)
            sum += img.rgb[(size_t)y * img.stride + x];
    volatile unsigned sink = sum;
    (void)sink;
    ac_image_free(&img);
    return 0;
}
