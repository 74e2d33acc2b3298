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
extern const struct ac_capture_backend ac_capfile_backend;
extern const struct ac_capture_backend ac_libcam_backend;
int ac_libcam_list(void (*cb)(void *ctx, int index, const char *id), void *ctx);

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
