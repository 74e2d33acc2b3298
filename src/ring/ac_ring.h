/* Writer side of the event ring, used by the daemon only. Layout and protocol
 * are documented in include/agecam/ring.h. One writer per ring name; publish
 * never blocks and never fails, a slow reader simply misses records. */
#ifndef AC_RING_H
#define AC_RING_H

#include <stdint.h>
#include <sys/types.h>

#include "agecam/ring.h"

#define AC_RING_DEFAULT_CAPACITY 4096u

struct ac_ring_settings {
    const char *name;   /* "agecam" (default when NULL) */
    uint32_t capacity;  /* slots, power of two; 0 = AC_RING_DEFAULT_CAPACITY */
    mode_t mode;        /* permission bits, e.g. 0640; 0 = 0644 */
    gid_t gid;          /* group owner, (gid_t)-1 to keep the creator's */
};

struct ac_ring;

/* Replaces any existing ring of that name (readers of the old one notice via
 * agecam_reader_changed()). Returns 0 or -errno. */
int ac_ring_create(struct ac_ring **out, const struct ac_ring_settings *s);

/* Copies `rec` (its seq field is ignored) into the next slot and returns the
 * sequence number given to it. Fills t_real_ns/t_mono_ns when t_mono_ns is 0.
 * Async-signal-unsafe only in the sense that it must not run concurrently
 * with itself: one publishing thread. */
uint64_t ac_ring_publish(struct ac_ring *w, const struct agecam_record *rec);

/* Stores CLOCK_MONOTONIC now as the writer's sign of life. */
void ac_ring_heartbeat(struct ac_ring *w);

/* Clean shutdown: readers see AGECAM_RING_CLOSED; records stay readable. */
void ac_ring_mark_closed(struct ac_ring *w);

/* Unmaps; accepts NULL and a half-built ring. The segment stays in /dev/shm
 * (so `agecam tail -n` works after a stop) unless ac_ring_unlink() is called. */
void ac_ring_destroy(struct ac_ring *w);
int ac_ring_unlink(const char *name);

uint64_t ac_ring_instance(const struct ac_ring *w);

/* Config helpers: octal mode ("0640") and group name or number ("video"). */
int ac_ring_parse_mode(const char *s, mode_t *mode);
int ac_ring_parse_group(const char *s, gid_t *gid);

#endif
