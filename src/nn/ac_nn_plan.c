/* Load-time planning: the activation arena (which tensor lives where) and
 * the fast kernels' packed weights. Both run once, on a validated graph. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ac_nn_internal.h"

/* Greedy first-fit placement by lifetime. The input and outputs live for the
 * whole run so callers can rerun without rewriting the input and read every
 * output after the run. */
int ac_nn_plan_arena(struct ac_nn_model *m, char *err, size_t el)
{
    int n = m->n_tensors;
    int *last = malloc(sizeof(int) * (size_t)n);
    int *active = malloc(sizeof(int) * (size_t)n); /* tensor ids sorted by offset */
    size_t *size = malloc(sizeof(size_t) * (size_t)n);
    m->offset = malloc(sizeof(size_t) * (size_t)n);
    int rc = 0;
    if (!last || !active || !size || !m->offset) {
        rc = ac_nn_fail(err, el, -ENOMEM, "out of memory planning the arena");
        goto out;
    }
    for (int t = 0; t < n; t++) {
        last[t] = t - 1;
        const struct ac_nn_shape *s = &m->shapes[t];
        size_t b = (size_t)s->h * s->w * s->c * sizeof(float);
        size[t] = (b + AC_NN_ALIGN - 1) / AC_NN_ALIGN * AC_NN_ALIGN;
    }
    for (int i = 0; i < m->n_ops; i++) {
        const struct ac_nn_op *op = &m->ops[i];
        last[op->in0] = i;
        if (op->type == AC_OP_ADD || op->type == AC_OP_CONCAT ||
            (op->type == AC_OP_UPSAMPLE && op->flags))
            last[op->in1] = i;
    }
    last[0] = m->n_ops;
    for (int k = 0; k < m->info.n_outputs; k++)
        last[m->out_id[k]] = m->n_ops;
    int na = 0;
    size_t top = 0;
    for (int t = 0; t < n; t++) {
        int def = t - 1, j = 0;
        for (int k = 0; k < na; k++) /* drop buffers dead before t is written */
            if (last[active[k]] >= def)
                active[j++] = active[k];
        na = j;
        size_t off = 0;
        int pos = 0;
        for (; pos < na; pos++) {
            int a = active[pos];
            if (m->offset[a] >= off + size[t])
                break;
            if (m->offset[a] + size[a] > off)
                off = m->offset[a] + size[a];
        }
        m->offset[t] = off;
        memmove(active + pos + 1, active + pos, sizeof(int) * (size_t)(na - pos));
        active[pos] = t;
        na++;
        if (off + size[t] > top)
            top = off + size[t];
        if (top > (size_t)AC_NN_MAX_ARENA) {
            rc = ac_nn_fail(err, el, -E2BIG, "activation arena exceeds %lld MiB", AC_NN_MAX_ARENA >> 20);
            goto out;
        }
    }
    m->arena_bytes = top;
    for (int i = 0; i < m->n_ops; i++)
        if (m->ops[i].type == AC_OP_SE) {
            size_t s = (size_t)m->ops[i].x.c + (size_t)m->ops[i].out_c;
            if (s > m->scratch_floats)
                m->scratch_floats = s;
        }
    if (top + m->scratch_floats * sizeof(float) > (size_t)AC_NN_MAX_ARENA)
        rc = ac_nn_fail(err, el, -E2BIG, "activation arena exceeds %lld MiB", AC_NN_MAX_ARENA >> 20);
out:
    free(last);
    free(active);
    free(size);
    return rc;
}

int ac_nn_pack_weights(struct ac_nn_model *m, char *err, size_t el)
{
    size_t total = 0;
    for (int i = 0; i < m->n_ops; i++) {
        struct ac_nn_op *op = &m->ops[i];
        size_t n = op->q8w ? 0 : ac_nn_pack_size(op); /* int8 ops have their own */
        /* padding to blocks must not blow up a hostile file's footprint:
         * such ops simply run on the scalar path */
        size_t wcount = 0;
        if (op->type == AC_OP_CONV)
            wcount = (size_t)op->out_c * op->kh * op->kw * (op->x.c / op->groups);
        else if (op->type == AC_OP_FC)
            wcount = (size_t)op->out_c * op->x.h * op->x.w * op->x.c;
        if (n > 4 * wcount + 4096)
            n = 0;
        op->packed_floats = n;
        total += (n + 15) / 16 * 16;
    }
    if (!total)
        return 0;
    m->packed = ac_nn_alloc_aligned(total * sizeof(float));
    if (!m->packed)
        return ac_nn_fail(err, el, -ENOMEM, "out of memory for packed weights (%zu floats)", total);
    float *p = m->packed;
    for (int i = 0; i < m->n_ops; i++) {
        struct ac_nn_op *op = &m->ops[i];
        if (!op->packed_floats)
            continue;
        ac_nn_pack_op(op, p);
        op->packed = p;
        p += (op->packed_floats + 15) / 16 * 16;
    }
    return 0;
}
