#include "daemon/ac_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ac_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* an item arrived, or closed */
    pthread_cond_t space; /* an item left */
    unsigned char *items;
    size_t item_size;
    int capacity, head, count, closed;
    uint64_t pushed, popped, dropped;
};

int ac_queue_create(struct ac_queue **out, int capacity, size_t item_size)
{
    *out = NULL;
    if (capacity < 1 || item_size == 0)
        return -EINVAL;
    struct ac_queue *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->items = calloc((size_t)capacity, item_size);
    if (!q->items) {
        free(q);
        return -ENOMEM;
    }
    q->capacity = capacity;
    q->item_size = item_size;
    pthread_mutex_init(&q->mu, NULL);
    /* timeouts on CLOCK_MONOTONIC so a wall-clock jump cannot stall a stage */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_cond_init(&q->space, &ca);
    pthread_condattr_destroy(&ca);
    *out = q;
    return 0;
}

void ac_queue_destroy(struct ac_queue *q)
{
    if (!q)
        return;
    pthread_cond_destroy(&q->cv);
    pthread_cond_destroy(&q->space);
    pthread_mutex_destroy(&q->mu);
    free(q->items);
    free(q);
}

static unsigned char *slot(struct ac_queue *q, int i)
{
    return q->items + (size_t)((q->head + i) % q->capacity) * q->item_size;
}

int ac_queue_push(struct ac_queue *q, const void *item, void *dropped)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return -EPIPE;
    }
    if (q->count == q->capacity) {
        if (dropped)
            memcpy(dropped, slot(q, 0), q->item_size);
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        q->dropped++;
        rc = 1;
    }
    memcpy(slot(q, q->count), item, q->item_size);
    q->count++;
    q->pushed++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static void deadline(struct timespec *dl, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, dl);
    dl->tv_sec += timeout_ms / 1000;
    dl->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl->tv_nsec >= 1000000000L) {
        dl->tv_sec++;
        dl->tv_nsec -= 1000000000L;
    }
}

int ac_queue_push_wait(struct ac_queue *q, const void *item, int timeout_ms)
{
    struct timespec dl;
    deadline(&dl, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (q->count == q->capacity && !q->closed)
        if (pthread_cond_timedwait(&q->space, &q->mu, &dl) == ETIMEDOUT && q->count == q->capacity) {
            pthread_mutex_unlock(&q->mu);
            return -ETIMEDOUT;
        }
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return -EPIPE;
    }
    memcpy(slot(q, q->count), item, q->item_size);
    q->count++;
    q->pushed++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int ac_queue_pop(struct ac_queue *q, void *item, int timeout_ms)
{
    struct timespec dl;
    if (timeout_ms >= 0)
        deadline(&dl, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed) {
        int e = timeout_ms < 0 ? pthread_cond_wait(&q->cv, &q->mu)
                               : pthread_cond_timedwait(&q->cv, &q->mu, &dl);
        if (e == ETIMEDOUT && q->count == 0) {
            pthread_mutex_unlock(&q->mu);
            return -ETIMEDOUT;
        }
    }
    if (q->count == 0) {
        pthread_mutex_unlock(&q->mu);
        return -EPIPE;
    }
    memcpy(item, slot(q, 0), q->item_size);
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    q->popped++;
    pthread_cond_signal(&q->space);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void ac_queue_close(struct ac_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_cond_broadcast(&q->space);
    pthread_mutex_unlock(&q->mu);
}

void ac_queue_get_stats(struct ac_queue *q, struct ac_queue_stats *st)
{
    pthread_mutex_lock(&q->mu);
    st->pushed = q->pushed;
    st->popped = q->popped;
    st->dropped = q->dropped;
    st->depth = q->count;
    st->capacity = q->capacity;
    pthread_mutex_unlock(&q->mu);
}
