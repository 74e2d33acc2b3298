/* V4L2 cameras (USB webcams, the Pi's legacy camera stack, vivid in tests):
 * single-planar capture, mmap streaming, poll with timeouts. The backend
 * itself is ac_v4l2_backend (ac_capture_backend.h); this header is for the
 * tools that list devices. */
#ifndef AC_V4L2_H
#define AC_V4L2_H

#include <stdint.h>

#include "capture/ac_capfmt.h"

struct ac_v4l2_info {
    char driver[16], card[32], bus[32];
    uint32_t caps;
    int is_capture; /* single-planar video capture with streaming */
};

#define AC_V4L2_MAX_OFFERS 256

/* Opens path, reads its identity and every (format, size, best rate) it
 * offers. Stepwise size ranges are reported by their largest size plus the
 * wanted size when it fits (want_w/h may be 0). offers may be NULL. */
int ac_v4l2_query(const char *path, int want_w, int want_h, struct ac_v4l2_info *info,
                  struct ac_capfmt *offers, int max, int *n);

#endif
