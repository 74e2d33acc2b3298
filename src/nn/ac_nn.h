/* Inference runtime for .acnn model files (format: models/FORMAT.md).
 *
 * A model is loaded once, fully validated, and then immutable: any number of
 * threads may share it read-only. Each thread owns a context, which holds
 * every activation buffer in one arena planned at creation, so ac_nn_run
 * never allocates. Activations are NHWC float32, batch 1.
 *
 * All int-returning functions return 0 or a negative errno:
 *   -EINVAL  malformed file / bad argument (err says which field),
 *   -E2BIG   a shape or the planned arena exceeds the runtime's bounds,
 *   -ENOMEM  out of memory,  -EIO / -ENOENT etc. from reading the file. */
#ifndef AC_NN_H
#define AC_NN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ac_nn_model; /* immutable after load; shared read-only by threads */
struct ac_nn_ctx;   /* per-thread: arena with every activation buffer, allocated once */

enum ac_nn_kind { AC_NN_KIND_AGE = 1, AC_NN_KIND_DETECTOR = 2, AC_NN_KIND_VERIFIER = 3 };

struct ac_nn_info {
    int input_w, input_h, input_c;
    /* normalisation of RGB 0..255 input: x' = (x - mean[c]) * scale[c] */
    float mean[3], scale[3];
    int num_classes;
    int kind;                   /* enum ac_nn_kind */
    long long param_count;      /* weights + biases of every op */
    long long macs;             /* multiply-accumulates of one run */
    int n_outputs;
};

enum ac_nn_backend { AC_NN_SCALAR = 0, AC_NN_FAST = 1 };

struct ac_nn_ctx_opts {
    enum ac_nn_backend backend;
    /* 0 or 1: run on the calling thread. N > 1 (max 16, fast backend only):
     * the context starts N - 1 workers that share each large convolution
     * by output rows; results are bit-identical to 1 thread. */
    int threads;
};

/* Reads the whole file once into one owned buffer; weights point into it.
 * err says what is wrong, without the path: the caller names the file. */
int ac_nn_model_load(const char *path, struct ac_nn_model **out, char *err, size_t errlen);
/* Copies data; safe on arbitrary bytes (never reads outside [data, data+len)). */
int ac_nn_model_load_mem(const void *data, size_t len, struct ac_nn_model **out, char *err,
                         size_t errlen);
void ac_nn_model_destroy(struct ac_nn_model *m);
const struct ac_nn_info *ac_nn_model_info(const struct ac_nn_model *m);
/* Metadata key=value from the META section; NULL if absent. */
const char *ac_nn_model_meta(const struct ac_nn_model *m, const char *key);

/* Finds FILE (e.g. "smlf-full.acnn") in $AGECAM_MODEL_DIR, then DATADIR (the
 * install's), then ./models; 0 with its path, or -ENOENT with err naming the
 * folders tried. */
int ac_nn_find_model(const char *datadir, const char *file, char *path, size_t pathlen, char *err,
                     size_t errlen);
/* Index of the output called name, or -ENOENT. */
int ac_nn_model_output_index(const struct ac_nn_model *m, const char *name);

/* opts may be NULL (fast backend, 1 thread). */
int ac_nn_ctx_create(const struct ac_nn_model *m, const struct ac_nn_ctx_opts *opts,
                     struct ac_nn_ctx **out);
void ac_nn_ctx_destroy(struct ac_nn_ctx *c);
/* input_h*input_w*input_c floats, NHWC, already normalised. Stable pointer;
 * a run leaves its contents as they were (the arena plan keeps the input
 * alive), which the detector's mirror pass relies on. */
float *ac_nn_input(struct ac_nn_ctx *c);
int ac_nn_run(struct ac_nn_ctx *c); /* no allocation */
/* Output tensor index (0..n_outputs-1) of the last run. Any out pointer may be
 * NULL. data stays valid until the next ac_nn_run on this context. */
int ac_nn_output(struct ac_nn_ctx *c, int index, const float **data, int *h, int *w, int *ch,
                 const char **name);
size_t ac_nn_ctx_arena_bytes(const struct ac_nn_ctx *c);
/* Ops that run in int8 (the file carries int8 calibration, ac_nn_q8.h). */
int ac_nn_model_int8_ops(const struct ac_nn_model *m);

/* Calibration hook: called before each op of ac_nn_run with the op's index
 * and its first input (n floats). NULL removes it. For tools, not for the
 * daemon's runs. */
typedef void (*ac_nn_observer)(void *arg, int op, const float *x, size_t n);
void ac_nn_ctx_set_observer(struct ac_nn_ctx *c, ac_nn_observer fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif
