/* Private structures of the nn runtime, shared by the loader, the context
 * and the kernels. Not part of the public API. */
#ifndef AC_NN_INTERNAL_H
#define AC_NN_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/ac_nn.h"

enum {
    AC_OP_CONV = 1, AC_OP_FC, AC_OP_ADD, AC_OP_SE, AC_OP_GAP, AC_OP_CONCAT, AC_OP_UPSAMPLE,
    AC_OP_SOFTMAX, AC_OP_ACT, AC_OP_MAXPOOL, AC_OP_MAX_ = AC_OP_MAXPOOL
};
enum { AC_ACT_NONE = 0, AC_ACT_RELU, AC_ACT_LEAKY, AC_ACT_SIGMOID, AC_ACT_MAX_ = AC_ACT_SIGMOID };
enum { AC_FLAG_BIAS = 1, AC_FLAG_SIZE_OF_IN1 = 2, AC_FLAG_BN_FOLDED = 4 };

#define AC_NN_MAX_SIDE 4096
#define AC_NN_MAX_CH 65536
#define AC_NN_MAX_TENSOR_FLOATS (64ll << 20)
#define AC_NN_MAX_ARENA (256ll << 20)
#define AC_NN_MAX_OPS 8192
#define AC_NN_MAX_OUTPUTS 64
#define AC_NN_MAX_NAME 63
#define AC_NN_MAX_FILE (1ll << 30)
#define AC_NN_ALIGN 64 /* bytes; every arena buffer starts on a cache line */
/* output channels per block in the fast kernels' packed weights */
#define AC_NN_OB 16

struct ac_nn_shape {
    int h, w, c;
};

struct ac_nn_op {
    int type, in0, in1, act;
    float alpha;
    int out_c, kh, kw, sh, sw, ph, pw, groups, flags;
    const float *w, *b;     /* into the model buffer; b NULL without bias */
    struct ac_nn_shape x, x1, y; /* in0, in1 (if used), output */
    /* fast layout (see ac_nn_pack_op) or NULL when the fast path uses w */
    const float *packed;
    size_t packed_floats;
    /* int8 1x1 convolution (META int8.<op>, see ac_nn_q8.c); q8w NULL: float */
    const int8_t *q8w;  /* [nob][kp][OB][2]: input channel pairs interleaved per output */
    const float *q8s;   /* [nob * OB] input scale x the output channel's weight scale */
    const float *q8b;   /* [nob * OB] bias, zero-filled past out_c */
    float q8inv;        /* 1 / input scale */
    int q8kp;           /* input channels in pairs, (c + 1) / 2 */
};

struct ac_nn_model {
    uint8_t *buf; /* the file, copied once; weights point into it */
    size_t len;
    struct ac_nn_info info;
    int n_ops, n_tensors;
    struct ac_nn_op *ops;
    struct ac_nn_shape *shapes; /* per tensor */
    size_t *offset;             /* per tensor: byte offset in the arena */
    size_t arena_bytes;         /* activations */
    size_t scratch_floats;      /* per-op temporary, after the activations */
    int out_id[AC_NN_MAX_OUTPUTS];
    char out_name[AC_NN_MAX_OUTPUTS][AC_NN_MAX_NAME + 1];
    char *meta;                 /* NUL-separated copy of META */
    int n_meta;
    const char **meta_key, **meta_val;
    float *packed;              /* one buffer for every op's fast layout */
    void *q8;                   /* one buffer for every int8 op's weights and scales */
    int n_q8;                   /* ops that run in int8 */
};

struct ac_nn_pool;

typedef int (*ac_nn_fast_fn)(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                             float *scratch, int part, int nparts);

/* Context sees tensors through this table, filled at creation. */
struct ac_nn_ctx {
    const struct ac_nn_model *m;
    enum ac_nn_backend backend;
    /* the fast kernels in use: ac_nn_fast_op or an ISA copy of it */
    ac_nn_fast_fn fast;
    int threads;
    struct ac_nn_pool *pool; /* NULL when single-threaded */
    double split_macs;       /* ops with fewer MACs are not split across threads */
    uint8_t *arena;
    size_t arena_bytes;
    float **t;     /* per tensor pointer into the arena */
    float *scratch;
    ac_nn_observer observe; /* calibration hook, NULL in normal runs */
    void *observe_arg;
};

/* x / scale (x * inv) rounded to the nearest integer, ties to even, clamped to
 * [-127, 127]; NaN gives -127. Every kernel quantises through this one
 * function so they agree bit for bit. The clamp comes before the rounding
 * (adding and subtracting 1.5 * 2^23 rounds exactly for |t| < 2^22) and keeps
 * a compiler from fusing the multiply into that add. */
static inline int8_t ac_nn_q8_quant(float x, float inv)
{
    float t = x * inv;
    t = t >= -127.f ? t : -127.f;
    t = t <= 127.f ? t : 127.f;
    return (int8_t)(int)((t + 12582912.f) - 12582912.f);
}

static inline float ac_nn_act1(float v, int act, float alpha)
{
    switch (act) {
    case AC_ACT_RELU: return v > 0.f ? v : 0.f;
    case AC_ACT_LEAKY: return v > 0.f ? v : v * alpha;
    case AC_ACT_SIGMOID: return 1.f / (1.f + expf(-v));
    default: return v;
    }
}

/* int8 (ac_nn_q8.c): reads META int8.<op>=<clip> keys at load, quantises
 * those ops' weights per output channel and raises the scratch they need. */
int ac_nn_q8_setup(struct ac_nn_model *m, char *err, size_t errlen);
/* The scalar twin of the int8 1x1 kernel; scratch holds (c + 1) & ~1 bytes. */
void ac_nn_q8_conv_scalar(const struct ac_nn_op *op, const float *x, float *y, float *scratch);

/* Scalar reference kernels: one per op, the ground truth. */
void ac_nn_scalar_op(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                     float *scratch);
/* Fast kernels; return 0 when they handled the op, -1 to fall back to scalar.
 * A CONV with packed weights is split by output rows into nparts; part p
 * computes its share. Other ops are done whole by part 0 (others return 0). */
int ac_nn_fast_op(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                  float *scratch, int part, int nparts);
int ac_nn_fast_op_avx2(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                       float *scratch, int part, int nparts);
int ac_nn_fast_op_neon(const struct ac_nn_op *op, const float *x, const float *x1, float *y,
                       float *scratch, int part, int nparts);
/* Floats the fast layout of op needs (0: none) and the packer. */
size_t ac_nn_pack_size(const struct ac_nn_op *op);
void ac_nn_pack_op(const struct ac_nn_op *op, float *dst);

uint32_t ac_nn_crc32(const void *data, size_t len);
/* Loader helpers: message into err (if any), returns code. */
int ac_nn_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void *ac_nn_alloc_aligned(size_t n); /* AC_NN_ALIGN-aligned, free() it */
int ac_nn_plan_arena(struct ac_nn_model *m, char *err, size_t errlen);
int ac_nn_pack_weights(struct ac_nn_model *m, char *err, size_t errlen);
/* Name of the ISA copy of the fast kernels in use ("avx2", "neon"), or ""
 * for the baseline copy (and the scalar backend). */
const char *ac_nn_ctx_simd(const struct ac_nn_ctx *c);
/* Name of the ISA copy this build and CPU would use, or "". */
const char *ac_nn_simd_available(void);
/* Tests: set_simd(c, 0) forces the baseline copy, set_simd(c, 1) asks for the
 * ISA copy if this build has one and the CPU runs it. */
void ac_nn_ctx_set_simd(struct ac_nn_ctx *c, int on);
/* Tests: split every conv however small (0) to exercise the row ranges. */
void ac_nn_ctx_set_split_macs(struct ac_nn_ctx *c, double macs);
/* Runs op i alone (ac_nn_run is the loop over these); for profiling. */
void ac_nn_run_op(struct ac_nn_ctx *c, int i);

#endif
