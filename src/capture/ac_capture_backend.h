/* Internal: what each backend (v4l2, dir, file, libcamera) implements behind
 * ac_capture. Backends convert straight into a pool frame and bump counters;
 * reconnect, pooling and sequence numbers live in ac_capture.c. */
#ifndef AC_CAPTURE_BACKEND_H
#define AC_CAPTURE_BACKEND_H

#include <stdint.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "capture/ac_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ac_capture_counters {
    ac_atomic_u64 corrupt;
};

struct ac_capture_backend {
    const char *name;
    int can_lose; /* a device that may vanish and come back */
    int (*open)(const char *arg, const struct ac_capture_settings *s, struct ac_capture_counters *ctr,
                void **priv);
    /* negotiate; tells the source format and size */
    int (*init)(void *priv, struct ac_capfmt *fmt);
    /* set up conversion to out_w x out_h and start streaming */
    int (*start)(void *priv, int out_w, int out_h);
    /* one frame into dst (fills rgb, ts_ns, src_seq); -EAGAIN = dropped */
    int (*read)(void *priv, int timeout_ms, struct ac_frame *dst);
    int (*stop)(void *priv);
    void (*uninit)(void *priv);
    void (*close)(void *priv);
};

extern const struct ac_capture_backend ac_v4l2_backend;
extern const struct ac_capture_backend ac_capdir_backend;

/* The file: (FFmpeg) and libcamera: backends are plugins, shared modules
 * loaded by ac_capplugin only when such a source is used, so a daemon on a
 * V4L2 camera never maps FFmpeg's or libcamera's libraries (about 25 MB of
 * RSS). Each exports one AC_CAPTURE_PLUGIN_SYMBOL; the sizes let the loader
 * refuse a module built from other headers instead of corrupting memory. */
#define AC_CAPTURE_PLUGIN_ABI 1
#define AC_CAPTURE_PLUGIN_SYMBOL "ac_capture_plugin_v1"
struct ac_capture_plugin {
    uint32_t abi;           /* AC_CAPTURE_PLUGIN_ABI */
    uint32_t backend_size;  /* sizeof(struct ac_capture_backend) */
    uint32_t frame_size;    /* sizeof(struct ac_frame) */
    uint32_t settings_size; /* sizeof(struct ac_capture_settings) */
    const struct ac_capture_backend *backend;
    /* enumerate devices, or NULL */
    int (*list)(void (*cb)(void *ctx, int index, const char *id), void *ctx);
};
#define AC_CAPTURE_PLUGIN_INIT(be, lister)                                              \
    {AC_CAPTURE_PLUGIN_ABI, sizeof(struct ac_capture_backend), sizeof(struct ac_frame), \
     sizeof(struct ac_capture_settings), (be), (lister)}

/* ac_capture_open with the backend chosen by the caller: how tests inject
 * a scripted device (tests/capture/test_capfault.c). */
int ac_capture_open_backend(const struct ac_capture_backend *be, const char *arg,
                            const struct ac_capture_settings *s, struct ac_capture **out);

int64_t ac_capture_now_ns(void);
/* Sleeps until the CLOCK_MONOTONIC time t_ns (EINTR-safe). */
void ac_capture_sleep_until(int64_t t_ns);

#ifdef __cplusplus
}
#endif

#endif
