/* int8 post-training quantisation of a model's 1x1 convolutions.
 *
 * A quantised model is an ordinary .acnn file whose META carries one line
 * int8.<op>=<clip> per 1x1 convolution to run in int8 (FORMAT.md): the
 * op's input is quantised per tensor, symmetric, with scale clip / 127; its
 * weights per output channel, symmetric, at load time; products accumulate
 * in int32. Everything else stays float. The clip values come from a
 * calibration: running the float model over sample inputs and taking a
 * percentile of |x| at each such op's input.
 *
 * Usage: calib_create, then for each sample run a context with
 * ac_nn_ctx_set_observer(ctx, ac_nn_q8_calib_observe, calib); then
 * ac_nn_q8_calib_meta and ac_nn_model_save_meta write the quantised file. */
#ifndef AC_NN_Q8_H
#define AC_NN_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ac_nn.h"

struct ac_nn_q8_calib;

/* The model must outlive the calibration. */
int ac_nn_q8_calib_create(const struct ac_nn_model *m, struct ac_nn_q8_calib **out);
void ac_nn_q8_calib_destroy(struct ac_nn_q8_calib *c);
/* An ac_nn_observer; arg is the calibration. Counts |x| of the inputs of the
 * ops that can run in int8 into per-op histograms (32 bins per octave). */
void ac_nn_q8_calib_observe(void *arg, int op, const float *x, size_t n);
/* Ops that can run in int8 (1x1 convolutions, stride 1, one group). */
int ac_nn_q8_calib_ops(const struct ac_nn_q8_calib *c);
/* Writes "int8.<op>=<clip>\n" for every such op into buf, clip being the
 * percentile (0 < p <= 100) of its observed |x| (rounded up to its histogram
 * bin's upper edge). Returns the length, -ENOSPC if buf is too small, or
 * -ENODATA if an op saw no non-zero input. */
int ac_nn_q8_calib_meta(const struct ac_nn_q8_calib *c, double percentile, char *buf, size_t len);

/* Writes m's file to path (through path.tmp and a rename) with its META's
 * int8 lines replaced by extra ("key=value\n" lines, may be empty). */
int ac_nn_model_save_meta(const struct ac_nn_model *m, const char *extra, const char *path,
                          char *err, size_t errlen);

#endif
