/* Fixed set of worker threads that run one job split in parts; the caller
 * runs part 0 and waits for the rest. Created with the context, so a run
 * allocates nothing. */
#ifndef AC_NN_POOL_H
#define AC_NN_POOL_H

struct ac_nn_pool;
typedef void (*ac_nn_pool_fn)(void *arg, int part, int nparts);

/* workers >= 1 extra threads; jobs run in workers + 1 parts. */
int ac_nn_pool_create(int workers, struct ac_nn_pool **out);
void ac_nn_pool_run(struct ac_nn_pool *p, ac_nn_pool_fn fn, void *arg);
void ac_nn_pool_destroy(struct ac_nn_pool *p);

#endif
