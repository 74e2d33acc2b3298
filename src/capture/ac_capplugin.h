/* Loads the capture plugins (file: through FFmpeg, libcamera:) on first use.
 * Looked for only in $AGECAM_PLUGIN_DIR when it is set, else in the installed
 * plugin directory, then, for programs run from the build tree only, the
 * build tree (so tests and an uninstalled build work). A loaded
 * plugin stays for the life of the process. Thread-safe. */
#ifndef AC_CAPPLUGIN_H
#define AC_CAPPLUGIN_H

#include <stddef.h>

#include "capture/ac_capture_backend.h"

/* name: "file" or "libcamera". 0, or -ENOPKG when no usable module was found
 * (where it looked and why each failed go to err). */
int ac_capplugin_get(const char *name, const struct ac_capture_plugin **out, char *err, size_t errlen);

/* The module file name of a plugin: agecam-capture-NAME.so */
#define AC_CAPPLUGIN_PREFIX "agecam-capture-"

#endif
