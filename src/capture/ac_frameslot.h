/* Latest-frame handoff between the capture thread and one consumer. The
 * producer never waits: publishing over a frame nobody took drops the older
 * one (counted), so a slow detector sees fresh frames instead of a queue
 * growing behind it. */
#ifndef AC_FRAMESLOT_H
#define AC_FRAMESLOT_H

#include <stdint.h>

#include "capture/ac_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ac_frameslot;

struct ac_frameslot_stats {
    uint64_t published, taken, dropped;
};

int ac_frameslot_create(struct ac_frameslot **out);
/* Releases a frame still waiting in the slot. */
void ac_frameslot_destroy(struct ac_frameslot *s);
/* Takes over the caller's reference to f. */
void ac_frameslot_publish(struct ac_frameslot *s, struct ac_frame *f);
/* The lossless handoff, for sources that can wait (files and folders played
 * as fast as the pipeline takes them): waits up to timeout_ms (> 0) for the
 * slot to be empty, then publishes. -ETIMEDOUT: nothing published, f is
 * still the caller's (who checks for a stop and tries again). */
int ac_frameslot_publish_wait(struct ac_frameslot *s, struct ac_frame *f, int timeout_ms);
/* The newest frame (caller owns one reference), waiting up to timeout_ms
 * (-1 = forever). -ETIMEDOUT when none came, -EPIPE once the slot is closed
 * and empty. */
int ac_frameslot_take(struct ac_frameslot *s, int timeout_ms, struct ac_frame **out);
/* End of stream: wakes waiting consumers; later takes drain then get -EPIPE. */
void ac_frameslot_close(struct ac_frameslot *s);
void ac_frameslot_get_stats(struct ac_frameslot *s, struct ac_frameslot_stats *st);

#ifdef __cplusplus
}
#endif

#endif
