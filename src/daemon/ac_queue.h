/* Small bounded queue between two pipeline threads. Items are fixed-size
 * values copied in and out of storage allocated once at creation. A full
 * queue drops its OLDEST item so the consumer always works on fresh data;
 * the dropped item is handed back to the producer (it may hold a frame
 * reference to release) and counted. ac_queue_push_wait is the lossless
 * alternative, for inputs that can wait (files played as fast as read). */
#ifndef AC_QUEUE_H
#define AC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct ac_queue;

struct ac_queue_stats {
    uint64_t pushed, popped, dropped;
    int depth, capacity;
};

int ac_queue_create(struct ac_queue **out, int capacity, size_t item_size);
/* Accepts NULL. Items still queued are discarded without any callback:
 * drain with ac_queue_pop first if they own resources. */
void ac_queue_destroy(struct ac_queue *q);

/* Never blocks. Returns 1 when the oldest item had to go to make room (it
 * is copied to *dropped when dropped is not NULL), 0 otherwise, -EPIPE when
 * the queue is closed (item not queued). */
int ac_queue_push(struct ac_queue *q, const void *item, void *dropped);

/* The lossless push: waits up to timeout_ms (> 0) for room instead of
 * dropping. 0, -ETIMEDOUT (not queued), or -EPIPE when closed. */
int ac_queue_push_wait(struct ac_queue *q, const void *item, int timeout_ms);

/* Waits up to timeout_ms (-1 = forever) for an item. 0 with the item,
 * -ETIMEDOUT, or -EPIPE once the queue is closed and empty. */
int ac_queue_pop(struct ac_queue *q, void *item, int timeout_ms);

/* Producer is done: consumers drain what is left, then get -EPIPE. */
void ac_queue_close(struct ac_queue *q);

void ac_queue_get_stats(struct ac_queue *q, struct ac_queue_stats *st);

#endif
