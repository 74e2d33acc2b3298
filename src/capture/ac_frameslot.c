#include "capture/ac_frameslot.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct ac_frameslot {
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* a frame arrived, or closed */
    pthread_cond_t space; /* the slot was emptied */
    struct ac_frame *frame;
    int closed;
    struct ac_frameslot_stats st;
};

int ac_frameslot_create(struct ac_frameslot **out)
{
    struct ac_frameslot *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, &ca);
    pthread_cond_init(&s->space, &ca);
    pthread_condattr_destroy(&ca);
    *out = s;
    return 0;
}

void ac_frameslot_destroy(struct ac_frameslot *s)
{
    if (!s)
        return;
    ac_frame_unref(s->frame);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->space);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void ac_frameslot_publish(struct ac_frameslot *s, struct ac_frame *f)
{
    pthread_mutex_lock(&s->lock);
    struct ac_frame *old = s->frame;
    s->frame = f;
    s->st.published++;
    if (old)
        s->st.dropped++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    /* outside the lock: returning a frame takes the pool's lock */
    ac_frame_unref(old);
}

static struct timespec deadline(int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    return dl;
}

int ac_frameslot_publish_wait(struct ac_frameslot *s, struct ac_frame *f, int timeout_ms)
{
    struct timespec dl = deadline(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (s->frame && rc == 0)
        rc = timeout_ms > 0 ? pthread_cond_timedwait(&s->space, &s->lock, &dl) : ETIMEDOUT;
    if (!s->frame) {
        s->frame = f;
        s->st.published++;
        pthread_cond_signal(&s->cond);
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return -rc;
}

int ac_frameslot_take(struct ac_frameslot *s, int timeout_ms, struct ac_frame **out)
{
    struct timespec dl = deadline(timeout_ms);
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&s->lock);
    while (!s->frame && !s->closed && rc == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&s->cond, &s->lock);
        else if (timeout_ms == 0)
            rc = ETIMEDOUT;
        else
            rc = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
    }
    if (s->frame) {
        *out = s->frame;
        s->frame = NULL;
        s->st.taken++;
        pthread_cond_signal(&s->space);
        rc = 0;
    } else {
        rc = s->closed ? EPIPE : ETIMEDOUT;
    }
    pthread_mutex_unlock(&s->lock);
    return -rc;
}

void ac_frameslot_close(struct ac_frameslot *s)
{
    pthread_mutex_lock(&s->lock);
    s->closed = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void ac_frameslot_get_stats(struct ac_frameslot *s, struct ac_frameslot_stats *st)
{
    pthread_mutex_lock(&s->lock);
    *st = s->st;
    pthread_mutex_unlock(&s->lock);
}
