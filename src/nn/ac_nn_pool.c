/* Worker pool for intra-op parallelism: a generation counter under one
 * mutex; workers sleep on a condition variable between jobs (no spinning:
 * the Pi's cores are shared with capture and detection). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "nn/ac_nn_pool.h"

struct worker {
    struct ac_nn_pool *p;
    int idx;
    pthread_t th;
    int started;
};

struct ac_nn_pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned gen;
    int pending, quit, n;
    ac_nn_pool_fn fn;
    void *arg;
    struct worker *w;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ac_nn_pool *p = w->p;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        ac_nn_pool_fn fn = p->fn;
        void *a = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(a, w->idx + 1, p->n + 1);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void ac_nn_pool_destroy(struct ac_nn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        if (p->w[i].started)
            pthread_join(p->w[i].th, NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->w);
    free(p);
}

int ac_nn_pool_create(int workers, struct ac_nn_pool **out)
{
    *out = NULL;
    if (workers < 1)
        return -EINVAL;
    struct ac_nn_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->w = calloc((size_t)workers, sizeof(*p->w));
    if (!p->w) {
        ac_nn_pool_destroy(p);
        return -ENOMEM;
    }
    p->n = workers;
    for (int i = 0; i < workers; i++) {
        p->w[i] = (struct worker){.p = p, .idx = i};
        int rc = pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]);
        if (rc) {
            ac_nn_pool_destroy(p);
            return -rc;
        }
        p->w[i].started = 1;
    }
    *out = p;
    return 0;
}

void ac_nn_pool_run(struct ac_nn_pool *p, ac_nn_pool_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->pending = p->n;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n + 1);
    pthread_mutex_lock(&p->mu);
    while (p->pending)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
