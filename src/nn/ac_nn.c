/* Per-thread contexts: one arena allocated at creation (offsets planned by
 * the loader), and the op loop that picks scalar or fast kernels. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ac_nn_internal.h"
#include "nn/ac_nn_pool.h"

#define AC_NN_MAX_THREADS 16
/* below this many MACs an op is not worth waking the workers for */
#define AC_NN_SPLIT_MACS 200000

#if defined(AC_NN_HAVE_NEON)
#include <sys/auxv.h> /* glibc's bits/hwcap.h: HWCAP_ASIMD, HWCAP_ARM_NEON */
#endif

/* The ISA copy of the fast kernels this build has and this CPU runs, or
 * NULL. AVX2 needs FMA too (the copy is built with both). NEON is part of
 * every aarch64 CPU but optional on armv7 (Debian armhf's baseline is VFPv3
 * without it), so the kernel's hwcaps decide, as they do under qemu. */
static ac_nn_fast_fn simd_fn(const char **name)
{
    *name = "";
#if defined(AC_NN_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *name = "avx2";
        return ac_nn_fast_op_avx2;
    }
#elif defined(AC_NN_HAVE_NEON) && defined(__aarch64__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMD) {
        *name = "neon";
        return ac_nn_fast_op_neon;
    }
#elif defined(AC_NN_HAVE_NEON) && defined(__arm__)
    if (getauxval(AT_HWCAP) & HWCAP_ARM_NEON) {
        *name = "neon";
        return ac_nn_fast_op_neon;
    }
#endif
    return NULL;
}

const char *ac_nn_simd_available(void)
{
    const char *name;
    simd_fn(&name);
    return name;
}

int ac_nn_ctx_create(const struct ac_nn_model *m, const struct ac_nn_ctx_opts *opts,
                     struct ac_nn_ctx **out)
{
    if (!m || !out)
        return -EINVAL;
    *out = NULL;
    struct ac_nn_ctx_opts o = opts ? *opts : (struct ac_nn_ctx_opts){AC_NN_FAST, 1};
    if ((o.backend != AC_NN_SCALAR && o.backend != AC_NN_FAST) || o.threads < 0 ||
        o.threads > AC_NN_MAX_THREADS)
        return -EINVAL;
    struct ac_nn_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->m = m;
    c->backend = o.backend;
    ac_nn_ctx_set_simd(c, 1);
    /* the scalar backend is the reference: always one thread */
    c->threads = o.backend == AC_NN_FAST && o.threads > 1 ? o.threads : 1;
    c->split_macs = AC_NN_SPLIT_MACS;
    if (c->threads > 1) {
        int rc = ac_nn_pool_create(c->threads - 1, &c->pool);
        if (rc) {
            ac_nn_ctx_destroy(c);
            return rc;
        }
    }
    c->arena_bytes = m->arena_bytes + m->scratch_floats * sizeof(float);
    size_t rounded = (c->arena_bytes + AC_NN_ALIGN - 1) / AC_NN_ALIGN * AC_NN_ALIGN;
    c->arena = aligned_alloc(AC_NN_ALIGN, rounded ? rounded : AC_NN_ALIGN);
    c->t = calloc((size_t)m->n_tensors, sizeof(float *));
    if (!c->arena || !c->t) {
        ac_nn_ctx_destroy(c);
        return -ENOMEM;
    }
    /* zeroed so a run before the input is written reads zeros, not garbage */
    memset(c->arena, 0, rounded);
    for (int t = 0; t < m->n_tensors; t++)
        c->t[t] = (float *)(c->arena + m->offset[t]);
    c->scratch = (float *)(c->arena + m->arena_bytes);
    *out = c;
    return 0;
}

void ac_nn_ctx_destroy(struct ac_nn_ctx *c)
{
    if (!c)
        return;
    ac_nn_pool_destroy(c->pool);
    free(c->arena);
    free(c->t);
    free(c);
}

float *ac_nn_input(struct ac_nn_ctx *c)
{
    return c ? c->t[0] : NULL;
}

static int fast_part(struct ac_nn_ctx *c, int i, int part, int nparts)
{
    const struct ac_nn_op *op = &c->m->ops[i];
    const float *x = c->t[op->in0], *x1 = c->t[op->in1];
    float *y = c->t[i + 1];
    return c->fast(op, x, x1, y, c->scratch, part, nparts);
}

struct split_job {
    struct ac_nn_ctx *c;
    int op;
};

static void split_part(void *arg, int part, int nparts)
{
    struct split_job *j = arg;
    fast_part(j->c, j->op, part, nparts);
}

static int splittable(const struct ac_nn_ctx *c, const struct ac_nn_op *op)
{
    if (op->type != AC_OP_CONV || (!op->packed && !op->q8w))
        return 0;
    double macs = (double)op->y.h * op->y.w * op->y.c * op->kh * op->kw * (op->x.c / op->groups);
    return macs >= c->split_macs;
}

void ac_nn_ctx_set_split_macs(struct ac_nn_ctx *c, double macs)
{
    c->split_macs = macs;
}

void ac_nn_run_op(struct ac_nn_ctx *c, int i)
{
    const struct ac_nn_op *op = &c->m->ops[i];
    if (c->backend == AC_NN_FAST) {
        if (c->pool && splittable(c, op)) {
            struct split_job j = {c, i};
            ac_nn_pool_run(c->pool, split_part, &j);
            return;
        }
        if (fast_part(c, i, 0, 1) == 0)
            return;
    }
    ac_nn_scalar_op(op, c->t[op->in0], c->t[op->in1], c->t[i + 1], c->scratch);
}

int ac_nn_run(struct ac_nn_ctx *c)
{
    if (!c)
        return -EINVAL;
    for (int i = 0; i < c->m->n_ops; i++) {
        if (c->observe) {
            const struct ac_nn_op *op = &c->m->ops[i];
            c->observe(c->observe_arg, i, c->t[op->in0], (size_t)op->x.h * op->x.w * op->x.c);
        }
        ac_nn_run_op(c, i);
    }
    return 0;
}

int ac_nn_output(struct ac_nn_ctx *c, int index, const float **data, int *h, int *w, int *ch,
                 const char **name)
{
    if (!c || index < 0 || index >= c->m->info.n_outputs)
        return -EINVAL;
    int t = c->m->out_id[index];
    const struct ac_nn_shape *s = &c->m->shapes[t];
    if (data)
        *data = c->t[t];
    if (h)
        *h = s->h;
    if (w)
        *w = s->w;
    if (ch)
        *ch = s->c;
    if (name)
        *name = c->m->out_name[index];
    return 0;
}

const char *ac_nn_ctx_simd(const struct ac_nn_ctx *c)
{
    const char *name;
    return c->backend == AC_NN_FAST && c->fast == simd_fn(&name) ? name : "";
}

void ac_nn_ctx_set_simd(struct ac_nn_ctx *c, int on)
{
    const char *name;
    ac_nn_fast_fn f = on && c->backend == AC_NN_FAST ? simd_fn(&name) : NULL;
    c->fast = f ? f : ac_nn_fast_op;
}

void ac_nn_ctx_set_observer(struct ac_nn_ctx *c, ac_nn_observer fn, void *arg)
{
    c->observe = fn;
    c->observe_arg = arg;
}

size_t ac_nn_ctx_arena_bytes(const struct ac_nn_ctx *c)
{
    return c ? c->arena_bytes : 0;
}
