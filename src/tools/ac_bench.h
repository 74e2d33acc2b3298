/* Rows of `agecam bench`. A module adds figures by defining a table of
 * cases (terminated by an entry with name NULL) in its own file, e.g.
 * src/tools/bench_detect.c:
 *
 *     const struct ac_bench_case ac_bench_detect[] = {
 *         {"detect/320x240", "one detector pass", setup, run, figures, teardown, &param},
 *         {0},
 *     };
 *
 * then lists the file in agecam_cmd_sources and the table's name in
 * AC_BENCH_TABLES in cmd_bench.c. Each case runs in its own child process,
 * so its peak RSS is its own; setup and figures may allocate, run should
 * do exactly the work being timed. */
#ifndef AC_BENCH_H
#define AC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ac_nn.h"

struct ac_bench_opts {
    int runs;              /* timed runs per case */
    int threads;           /* threads the measured code may use */
    const char *model_dir; /* --model-dir, or NULL for the usual lookup */
};

#define AC_BENCH_MAX_FIGURES 8

struct ac_bench_figure {
    char key[32];  /* JSON key, e.g. "params", "macs", "arena_bytes" */
    double value;
};

struct ac_bench_case {
    const char *name; /* "group/variant/what", e.g. "age/full/fast/net" */
    const char *what; /* what one timed run does */
    /* 0, or -ENOENT to skip the case (missing model, no camera...) and any
     * other -errno to fail it; err says why either way. */
    int (*setup)(const struct ac_bench_opts *o, const void *param, void **state, char *err,
                 size_t errlen);
    int (*run)(void *state); /* one timed iteration; 0 or -errno */
    /* fills up to max figures, returns how many; may be NULL */
    int (*figures)(void *state, struct ac_bench_figure *f, int max);
    void (*teardown)(void *state);
    const void *param;
};

/* Helper for figures(): appends key=value if there is room. */
void ac_bench_figure_add(struct ac_bench_figure *f, int max, int *n, const char *key, double value);

/* Helpers for setup(), 0 or -errno with err naming path: the model file
 * loaded (*file_bytes its size; -ENOENT when absent, so the case is
 * skipped), and a context for the bare net with a fixed input pattern. */
int ac_bench_load_model(const char *path, struct ac_nn_model **m, long long *file_bytes, char *err,
                        size_t errlen);
int ac_bench_net_ctx(const struct ac_nn_model *m, const char *path, enum ac_nn_backend backend, int threads,
                     struct ac_nn_ctx **ctx, char *err, size_t errlen);
/* A smooth, face-sized RGB pattern: the work timed does not depend on content. */
void ac_bench_fill_rgb(uint8_t *rgb, int w, int h);

#endif
