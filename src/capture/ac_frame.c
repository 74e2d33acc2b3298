#include "capture/ac_frame.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ac_framepool {
    pthread_mutex_t lock;
    struct ac_frame *free_list;
    int nfree;
    atomic_int holds; /* 1 for the creator + 1 per frame out of the pool */
    int count;
    struct ac_frame *frames;
    uint8_t *pixels;
};

static void pool_release(struct ac_framepool *p)
{
    if (atomic_fetch_sub(&p->holds, 1) != 1)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->pixels);
    free(p->frames);
    free(p);
}

int ac_framepool_create(int count, int w, int h, struct ac_framepool **out)
{
    *out = NULL;
    if (count < 1 || w < 1 || h < 1 || w > 16384 || h > 16384)
        return -EINVAL;
    struct ac_framepool *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    int stride = (3 * w + 31) & ~31; /* row alignment helps libyuv's SIMD paths */
    p->frames = calloc((size_t)count, sizeof *p->frames);
    p->pixels = aligned_alloc(64, ((size_t)stride * h * count + 63) & ~(size_t)63);
    if (!p->frames || !p->pixels) {
        free(p->frames);
        free(p->pixels);
        free(p);
        return -ENOMEM;
    }
    /* Touch every frame now: the free list is LIFO, so the last frames are
     * first used only when the pipeline backs up, maybe hours in, and the
     * daemon's memory would step up then. Resident from the start, the
     * footprint is known at start-up and any later growth is a real leak
     * (the soak test checks that). */
    memset(p->pixels, 0, (size_t)stride * h * count);
    pthread_mutex_init(&p->lock, NULL);
    atomic_init(&p->holds, 1);
    p->count = count;
    for (int i = 0; i < count; i++) {
        struct ac_frame *f = &p->frames[i];
        f->rgb = p->pixels + (size_t)i * stride * h;
        f->w = w;
        f->h = h;
        f->stride = stride;
        f->pool = p;
        atomic_init(&f->refs, 0);
        f->next_free = p->free_list;
        p->free_list = f;
    }
    p->nfree = count;
    *out = p;
    return 0;
}

void ac_framepool_destroy(struct ac_framepool *p)
{
    if (p)
        pool_release(p);
}

struct ac_frame *ac_framepool_get(struct ac_framepool *p)
{
    pthread_mutex_lock(&p->lock);
    struct ac_frame *f = p->free_list;
    if (f) {
        p->free_list = f->next_free;
        p->nfree--;
    }
    pthread_mutex_unlock(&p->lock);
    if (!f)
        return NULL;
    atomic_fetch_add(&p->holds, 1);
    atomic_store(&f->refs, 1);
    f->next_free = NULL;
    return f;
}

int ac_framepool_free_count(struct ac_framepool *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->nfree;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void ac_frame_ref(struct ac_frame *f)
{
    atomic_fetch_add(&f->refs, 1);
}

void ac_frame_unref(struct ac_frame *f)
{
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    struct ac_framepool *p = f->pool;
    pthread_mutex_lock(&p->lock);
    f->next_free = p->free_list;
    p->free_list = f;
    p->nfree++;
    pthread_mutex_unlock(&p->lock);
    pool_release(p);
}
