/* One frame API for every capture backend:
 *   v4l2:/dev/video0   (a bare /dev/... path works too)
 *   libcamera:0        (index, or the camera id; only when built with libcamera)
 *   file:clip.mp4      (only when built with FFmpeg)
 *   dir:frames/        (JPEG/PNG files in name order)
 * Lifecycle: open -> init (negotiate, allocate) -> start -> read... or loop
 * -> stop -> uninit -> close. Frames come out as packed RGB24 at the
 * configured size from a preallocated pool (see ac_frame.h). Functions return
 * 0 or a negative errno; the caller logs. A camera that vanishes or errors is
 * closed and reopened with backoff inside read(); meanwhile read() returns
 * -EAGAIN and stats.online is 0. With settings.wait_for_device a camera that
 * is absent at open starts out in that offline state.
 *
 * Daemon use: a capture thread runs ac_capture_loop(cap, slot, &stop); the
 * detector thread calls ac_frameslot_take(slot, ms, &f), works on f->rgb and
 * ac_frame_unref(f). A slow detector only ever sees the newest frame; the
 * slot counts what it skipped. V4L2 buffers go back to the driver as soon as
 * they are converted, so the camera never stalls on a busy pipeline. */
#ifndef AC_CAPTURE_H
#define AC_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "capture/ac_frame.h"
#include "capture/ac_frameslot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AC_CAPTURE_MAX_PREFER 8

struct ac_capture_settings {
    int width, height;   /* output size; 0 = the source's own */
    int fps;             /* camera rate wanted (0 = driver default); dir: pacing rate */
    uint32_t prefer[AC_CAPTURE_MAX_PREFER]; /* pixel formats, best first (ac_capfmt.h) */
    int nprefer;         /* 0 = MJPEG, YUYV, NV12 */
    int buffers;         /* V4L2 mmap buffers */
    int pool;            /* RGB frames in the pool: producer + slot + consumer holds */
    int realtime;        /* files/dirs: 1 = at the source's own pace, 0 = as fast as read, stamped
                          * with the source's clock (frame k of a dir: at k / fps) */
    int loop;            /* files/dirs: start over at the end instead of ending */
    int retry_min_ms, retry_max_ms; /* reopen backoff after device loss */
    int stall_ms;        /* no usable frame for this long counts as device loss */
    int wait_for_device; /* cameras: open succeeds while the device is absent (needs
                            width and height); it is opened when it appears */
};

void ac_capture_settings_default(struct ac_capture_settings *s);

struct ac_capture_stats {
    uint64_t frames;     /* delivered */
    uint64_t corrupt;    /* dropped: truncated/corrupt frames, undecodable files */
    uint64_t no_buffer;  /* dropped: every pool frame was still held downstream */
    uint64_t timeouts;   /* reads that waited past their timeout */
    uint64_t losses;     /* device lost */
    uint64_t reopens;    /* device came back */
    int online;
    /* what the source delivers and what we convert it to */
    uint32_t fourcc;
    int src_w, src_h, fps_milli, out_w, out_h;
};

struct ac_capture;

/* -EPROTONOSUPPORT: no source of that kind; -ENOPKG: its plugin (file:,
 * libcamera:) is not installed or not loadable: ac_capture_plugin_error says
 * why, for the caller's one log line. */
int ac_capture_open(const char *uri, const struct ac_capture_settings *s, struct ac_capture **out);
/* Why uri's plugin did not load, into buf: 0; -EINVAL when uri needs none,
 * -EEXIST when it did load. */
int ac_capture_plugin_error(const char *uri, char *buf, size_t n);
int ac_capture_init(struct ac_capture *c);
int ac_capture_start(struct ac_capture *c);
/* Next frame, owned by the caller (ac_frame_unref it). -ETIMEDOUT: nothing
 * within timeout_ms; -EAGAIN: a frame was dropped or the device is offline,
 * call again; -ENODATA: the file or directory ended (no loop). */
int ac_capture_read(struct ac_capture *c, int timeout_ms, struct ac_frame **out);
/* Reads and publishes into slot until *stop is set or the source ends
 * (then closes the slot). Meant as a capture thread's body. Returns 0 at
 * stop/end or the error that ended it. */
int ac_capture_loop(struct ac_capture *c, struct ac_frameslot *slot, const ac_atomic_int *stop);
int ac_capture_stop(struct ac_capture *c);
void ac_capture_uninit(struct ac_capture *c);
/* Accepts a half-built object (any earlier step may have failed). */
void ac_capture_close(struct ac_capture *c);
/* Safe from any thread. */
void ac_capture_get_stats(struct ac_capture *c, struct ac_capture_stats *st);

/* 1 when the build has the backend ("v4l2", "dir", "file", "libcamera") */
int ac_capture_has_backend(const char *name);

/* libcamera cameras (index for "libcamera:N", and id): the count, or
 * -ENOTSUP when built without libcamera. */
int ac_capture_list_libcamera(void (*cb)(void *ctx, int index, const char *id), void *ctx);

/* Speed of the frame conversion (ac_convert): median microseconds per frame, for
 * the bench tool: fourcc at src_w x src_h to dst_w x dst_h, iters runs of a
 * synthetic frame (MJPEG: a real encoded JPEG). */
int ac_capture_bench_convert(uint32_t fourcc, int src_w, int src_h, int dst_w, int dst_h, int iters,
                             double *us_per_frame);
/* The synthetic source frame those runs convert, in fourcc at w x h
 * (malloc'd into *out; MJPEG: an encoded JPEG). */
int ac_capture_bench_source(uint32_t fourcc, int w, int h, uint8_t **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
