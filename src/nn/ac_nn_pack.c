/* Weight layouts for the fast kernels, built once at load time.
 *
 * depthwise CONV (groups = c = out_c): [kh*kw][c] then bias [c]
 *   so that one tap's weights for consecutive channels are contiguous, like
 *   the NHWC input pixel they multiply.
 * other CONV and FC: per group g and block b of AC_NN_OB output channels,
 *   [g][b][kh*kw*cin_g][OB] then bias [g][b][OB], zero-filled past og
 *   so a kernel updates OB outputs with whole vectors. FC is a 1x1 conv
 *   over the flattened input (kh*kw*cin_g = h*w*c). */
#include <string.h>

#include "nn/ac_nn_internal.h"

static int is_depthwise(const struct ac_nn_op *op)
{
    return op->type == AC_OP_CONV && op->groups == op->x.c && op->out_c == op->x.c;
}

size_t ac_nn_pack_size(const struct ac_nn_op *op)
{
    if (op->type != AC_OP_CONV && op->type != AC_OP_FC)
        return 0;
    if (is_depthwise(op))
        return (size_t)op->kh * op->kw * op->x.c + op->x.c;
    size_t g = op->type == AC_OP_CONV ? (size_t)op->groups : 1;
    size_t og = (size_t)op->out_c / g;
    size_t nob = (og + AC_NN_OB - 1) / AC_NN_OB;
    size_t k = op->type == AC_OP_CONV ? (size_t)op->kh * op->kw * (op->x.c / op->groups)
                                      : (size_t)op->x.h * op->x.w * op->x.c;
    return g * nob * AC_NN_OB * (k + 1);
}

void ac_nn_pack_op(const struct ac_nn_op *op, float *dst)
{
    memset(dst, 0, ac_nn_pack_size(op) * sizeof(float));
    if (is_depthwise(op)) {
        int c = op->x.c, kk = op->kh * op->kw;
        for (int ch = 0; ch < c; ch++) {
            for (int t = 0; t < kk; t++)
                dst[(size_t)t * c + ch] = op->w[(size_t)ch * kk + t];
            dst[(size_t)kk * c + ch] = op->b ? op->b[ch] : 0.f;
        }
        return;
    }
    size_t g = op->type == AC_OP_CONV ? (size_t)op->groups : 1;
    size_t og = (size_t)op->out_c / g;
    size_t nob = (og + AC_NN_OB - 1) / AC_NN_OB;
    size_t k = op->type == AC_OP_CONV ? (size_t)op->kh * op->kw * (op->x.c / op->groups)
                                      : (size_t)op->x.h * op->x.w * op->x.c;
    float *bias = dst + g * nob * k * AC_NN_OB;
    for (size_t gi = 0; gi < g; gi++)
        for (size_t b = 0; b < nob; b++)
            for (size_t j = 0; j < AC_NN_OB && b * AC_NN_OB + j < og; j++) {
                size_t o = gi * og + b * AC_NN_OB + j; /* OHWI rows are k floats each */
                float *d = dst + (gi * nob + b) * k * AC_NN_OB + j;
                for (size_t i = 0; i < k; i++)
                    d[i * AC_NN_OB] = op->w[o * k + i];
                bias[(gi * nob + b) * AC_NN_OB + j] = op->b ? op->b[o] : 0.f;
            }
}
