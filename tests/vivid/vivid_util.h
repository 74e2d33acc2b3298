/* Helpers shared by the checks that run inside the vivid VM. */
#ifndef VIVID_UTIL_H
#define VIVID_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"

#define DEV "/dev/video0"

int64_t vivid_now_ns(void);
/* prints "AGECAM-VIVID <check> PASS|FAIL <details>"; returns 0 on pass */
int vivid_result(const char *check, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* output size asked of the next capture (default 640x480) */
extern int vivid_out_w, vivid_out_h;
/* v4l2:/dev/video0 preferring fourcc, started; NULL and *rc on failure */
struct ac_capture *vivid_start_w(uint32_t fourcc, int wait_for_device, int *rc);
struct ac_capture *vivid_start(uint32_t fourcc, int *rc);
/* n frames: size, increasing sequence and timestamps in the CLOCK_MONOTONIC
 * domain; the last frame's colour bars go to vivid_bars/vivid_bar_rgb */
int vivid_read_frames(struct ac_capture *c, int n, char *why, size_t whylen, double *fps, int *distinct);
extern char vivid_bars[9];
extern uint8_t vivid_bar_rgb[8][3];

int vivid_write_sys(const char *path, const char *val);
int vivid_xioctl(int fd, unsigned long req, void *arg);
/* vivid's private controls have no uapi ids: set them by name */
int vivid_set_ctrl(int fd, const char *name, int value);

#endif
