/* A capture plugin from "another version": right file name and symbol, wrong
 * ABI number. The loader must refuse it with a reason, not call into it. */
#include "capture/ac_capture_backend.h"

__attribute__((visibility("default"))) const struct ac_capture_plugin ac_capture_plugin_v1 = {
    AC_CAPTURE_PLUGIN_ABI + 41, sizeof(struct ac_capture_backend), sizeof(struct ac_frame),
    sizeof(struct ac_capture_settings), NULL, NULL};
