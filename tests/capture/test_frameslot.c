/* Latest-frame handoff under a slow consumer: the producer never blocks,
 * the consumer always gets the newest frame, old ones are dropped and
 * counted, and every frame returns to the pool. Then the lossless handoff
 * (publish_wait): the same slow consumer gets every frame, in order. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "capture/ac_frame.h"
#include "capture/ac_frameslot.h"
#include "../common/check.h"

#define N_PRODUCED 200

static struct ac_frameslot *slot;
static struct ac_framepool *pool;
static int no_frame; /* producer found the pool empty */

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

static int wait_errors;

static void *lossless_producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 40; i++) {
        struct ac_frame *f = ac_framepool_get(pool);
        if (!f) {
            no_frame++;
            continue;
        }
        f->seq = (uint64_t)i;
        int rc;
        while ((rc = ac_frameslot_publish_wait(slot, f, 5)) == -ETIMEDOUT)
            ;
        if (rc)
            wait_errors++;
    }
    ac_frameslot_close(slot);
    return NULL;
}

/* Takes frames until the slot closes, holding each ms milliseconds; counts
 * them and whether their numbers only rose (any) or rose by one (step). */
static int consume(int ms, int *taken, long long *last, int step)
{
    struct ac_frame *f;
    int rc, ok = 1;
    *taken = 0;
    *last = -1;
    while ((rc = ac_frameslot_take(slot, 1000, &f)) == 0) {
        if (step ? (long long)f->seq != *last + 1 : (long long)f->seq <= *last)
            ok = 0;
        *last = (long long)f->seq;
        (*taken)++;
        sleep_ms(ms);
        ac_frame_unref(f);
    }
    return rc == -EPIPE ? ok : 0;
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < N_PRODUCED; i++) {
        struct ac_frame *f = ac_framepool_get(pool);
        if (!f) {
            no_frame++;
            continue;
        }
        f->seq = (uint64_t)i;
        ac_frameslot_publish(slot, f);
        sleep_ms(1);
    }
    ac_frameslot_close(slot);
    return NULL;
}

/* Every frame of a new pool is resident: the LIFO free list hands the last
 * frames out only when the pipeline backs up, and memory first touched then
 * would step the daemon's RSS up long after start-up. */
static void check_pool_resident(void)
{
    mallopt(M_PERTURB, 0); /* meson's MALLOC_PERTURB_ would touch it for us */
    struct ac_framepool *p;
    struct ac_frame *fr[6];
    CHECK_EQ(ac_framepool_create(6, 640, 480, &p), 0);
    long page = sysconf(_SC_PAGESIZE);
    unsigned char vec[512];
    int absent = 0;
    for (int i = 0; i < 6; i++) {
        fr[i] = ac_framepool_get(p);
        uintptr_t a = (uintptr_t)fr[i]->rgb & ~(uintptr_t)(page - 1);
        size_t len = (uintptr_t)fr[i]->rgb + (size_t)fr[i]->stride * fr[i]->h - a;
        CHECK(len / (size_t)page + 1 <= sizeof vec);
        CHECK_EQ(mincore((void *)a, len, vec), 0);
        for (size_t k = 0; k < (len + (size_t)page - 1) / (size_t)page; k++)
            absent += !(vec[k] & 1);
    }
    CHECK_EQ(absent, 0);
    for (int i = 0; i < 6; i++)
        ac_frame_unref(fr[i]);
    ac_framepool_destroy(p);
}

int main(void)
{
    check_pool_resident();
    CHECK_EQ(ac_frameslot_create(&slot), 0);
    CHECK_EQ(ac_framepool_create(3, 64, 48, &pool), 0);
    struct ac_frame *f;
    CHECK_EQ(ac_frameslot_take(slot, 0, &f), -ETIMEDOUT);
    CHECK_EQ(ac_frameslot_take(slot, 20, &f), -ETIMEDOUT);

    pthread_t th;
    pthread_create(&th, NULL, producer, NULL);
    int taken;
    long long last;
    /* slow consumer: 25 ms per frame against a 1 ms producer */
    int monotonic = consume(25, &taken, &last, 0);
    pthread_join(th, NULL);
    CHECK(monotonic);
    /* the very last frame published is the last one seen */
    CHECK_EQ(last, N_PRODUCED - 1);
    struct ac_frameslot_stats st;
    ac_frameslot_get_stats(slot, &st);
    printf("published %llu taken %llu dropped %llu (producer found pool empty %d times)\n",
           (unsigned long long)st.published, (unsigned long long)st.taken, (unsigned long long)st.dropped,
           no_frame);
    CHECK_EQ(st.taken, taken);
    CHECK_EQ(st.published, st.taken + st.dropped);
    CHECK(st.dropped > st.taken); /* the consumer is ~25x slower */
    CHECK(taken < N_PRODUCED / 3);
    /* slot + consumer hold at most 2 of 3 frames: the producer never starves */
    CHECK_EQ(no_frame, 0);
    CHECK_EQ(ac_framepool_free_count(pool), 3);

    /* lossless: a consumer at 10 ms per frame, a producer whose waits time
     * out every 5 ms and retry: every frame arrives, in order, none dropped */
    ac_frameslot_destroy(slot);
    CHECK_EQ(ac_frameslot_create(&slot), 0);
    pthread_create(&th, NULL, lossless_producer, NULL);
    int in_order = consume(10, &taken, &last, 1);
    pthread_join(th, NULL);
    ac_frameslot_get_stats(slot, &st);
    CHECK(in_order);
    CHECK_EQ(taken, 40);
    CHECK_EQ(st.dropped, 0);
    CHECK_EQ(wait_errors, 0);
    CHECK_EQ(no_frame, 0);
    /* a full slot times out and leaves the frame with the caller */
    struct ac_frame *x = ac_framepool_get(pool), *y = ac_framepool_get(pool);
    CHECK_EQ(ac_frameslot_publish_wait(slot, x, 10), 0);
    CHECK_EQ(ac_frameslot_publish_wait(slot, y, 10), -ETIMEDOUT);
    ac_frame_unref(y);
    CHECK_EQ(ac_frameslot_take(slot, 0, &f), 0);
    CHECK(f == x);
    ac_frame_unref(f);
    CHECK_EQ(ac_framepool_free_count(pool), 3);

    /* a frame left in the slot at destroy goes back to the pool; the pool
     * outlives its destroy while a consumer still holds a frame */
    struct ac_frame *a = ac_framepool_get(pool), *b = ac_framepool_get(pool);
    ac_frame_ref(a);
    ac_frameslot_publish(slot, a);
    CHECK_EQ(ac_framepool_free_count(pool), 1);
    ac_frameslot_destroy(slot);
    CHECK_EQ(ac_framepool_free_count(pool), 1); /* a still referenced once */
    ac_frame_unref(a);
    CHECK_EQ(ac_framepool_free_count(pool), 2);
    ac_framepool_destroy(pool);
    b->rgb[0] = 1; /* still valid memory (ASan/valgrind would catch otherwise) */
    ac_frame_unref(b);
    return check_done("test_frameslot");
}
