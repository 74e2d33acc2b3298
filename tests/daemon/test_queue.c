/* Bounded drop-oldest queue: order, drops handed back, timeouts, close,
 * and a two-thread run where every item is either popped or dropped. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "daemon/ac_queue.h"

static int failures;
#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

struct item {
    uint64_t seq;
    char pad[20];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_basic(void)
{
    struct ac_queue *q;
    CHECK(ac_queue_create(&q, 0, 8) == -EINVAL);
    CHECK(ac_queue_create(&q, 3, sizeof(struct item)) == 0);
    struct item it = {0}, out, dropped;
    for (uint64_t i = 1; i <= 3; i++) {
        it.seq = i;
        CHECK(ac_queue_push(q, &it, &dropped) == 0);
    }
    it.seq = 4;
    CHECK(ac_queue_push(q, &it, &dropped) == 1 && dropped.seq == 1);
    it.seq = 5;
    CHECK(ac_queue_push(q, &it, NULL) == 1);
    struct ac_queue_stats st;
    ac_queue_get_stats(q, &st);
    CHECK(st.pushed == 5 && st.dropped == 2 && st.depth == 3 && st.capacity == 3);
    for (uint64_t i = 3; i <= 5; i++)
        CHECK(ac_queue_pop(q, &out, 0) == 0 && out.seq == i);
    double t0 = now_ms();
    CHECK(ac_queue_pop(q, &out, 50) == -ETIMEDOUT);
    CHECK(now_ms() - t0 >= 45);
    it.seq = 6;
    ac_queue_push(q, &it, NULL);
    ac_queue_close(q);
    CHECK(ac_queue_push(q, &it, NULL) == -EPIPE);
    CHECK(ac_queue_pop(q, &out, -1) == 0 && out.seq == 6); /* drains after close */
    CHECK(ac_queue_pop(q, &out, -1) == -EPIPE);
    ac_queue_destroy(q);
    ac_queue_destroy(NULL);
}

#define N 200000
static struct ac_queue *gq;
static uint64_t got, order_errors, dropped_by_push;

static void *consumer(void *arg)
{
    (void)arg;
    struct item it;
    uint64_t last = 0;
    while (ac_queue_pop(gq, &it, -1) == 0) {
        if (it.seq <= last)
            order_errors++;
        last = it.seq;
        got++;
    }
    return NULL;
}

static void test_threads(void)
{
    CHECK(ac_queue_create(&gq, 4, sizeof(struct item)) == 0);
    pthread_t th;
    pthread_create(&th, NULL, consumer, NULL);
    struct item it = {0}, dropped;
    uint64_t last_dropped = 0;
    for (uint64_t i = 1; i <= N; i++) {
        it.seq = i;
        if (ac_queue_push(gq, &it, &dropped) == 1) {
            dropped_by_push++;
            if (dropped.seq <= last_dropped)
                order_errors++;
            last_dropped = dropped.seq;
        }
    }
    ac_queue_close(gq);
    pthread_join(th, NULL);
    struct ac_queue_stats st;
    ac_queue_get_stats(gq, &st);
    printf("%d pushed: %llu popped, %llu dropped\n", N, (unsigned long long)got,
           (unsigned long long)dropped_by_push);
    CHECK(got + dropped_by_push == N);
    CHECK(st.dropped == dropped_by_push && st.popped == got);
    CHECK(order_errors == 0);
    ac_queue_destroy(gq);
}

/* Lossless: a producer that waits for room loses nothing and keeps order. */
static void *lossless_producer(void *arg)
{
    (void)arg;
    struct item it = {0};
    for (uint64_t i = 1; i <= N / 10; i++) {
        it.seq = i;
        int rc;
        while ((rc = ac_queue_push_wait(gq, &it, 100)) == -ETIMEDOUT)
            ;
        if (rc)
            order_errors++;
    }
    ac_queue_close(gq);
    return NULL;
}

static void test_push_wait(void)
{
    struct ac_queue *q;
    struct item it = {.seq = 1}, out;
    CHECK(ac_queue_create(&q, 2, sizeof(struct item)) == 0);
    CHECK(ac_queue_push_wait(q, &it, 10) == 0);
    it.seq = 2;
    CHECK(ac_queue_push_wait(q, &it, 10) == 0);
    double t0 = now_ms();
    it.seq = 3;
    CHECK(ac_queue_push_wait(q, &it, 50) == -ETIMEDOUT); /* full: waits, then gives up */
    CHECK(now_ms() - t0 >= 45);
    CHECK(ac_queue_pop(q, &out, 0) == 0 && out.seq == 1);
    CHECK(ac_queue_push_wait(q, &it, 50) == 0);
    struct ac_queue_stats st;
    ac_queue_get_stats(q, &st);
    CHECK(st.dropped == 0 && st.pushed == 3 && st.depth == 2);
    ac_queue_close(q);
    CHECK(ac_queue_push_wait(q, &it, 50) == -EPIPE);
    ac_queue_destroy(q);

    CHECK(ac_queue_create(&gq, 2, sizeof(struct item)) == 0);
    got = order_errors = 0;
    pthread_t th;
    pthread_create(&th, NULL, lossless_producer, NULL);
    uint64_t last = 0;
    while (ac_queue_pop(gq, &out, -1) == 0) {
        if (out.seq != last + 1)
            order_errors++;
        last = out.seq;
        got++;
    }
    pthread_join(th, NULL);
    ac_queue_get_stats(gq, &st);
    CHECK(got == N / 10 && st.dropped == 0 && order_errors == 0);
    ac_queue_destroy(gq);
}

int main(void)
{
    test_basic();
    test_threads();
    test_push_wait();
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
