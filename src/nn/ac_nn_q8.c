/* int8 1x1 convolutions: load-time setup from META, the scalar kernel (the
 * twin of the fast ones in ac_nn_fast.c), calibration and the writer of
 * quantised files. See ac_nn_q8.h and FORMAT.md. */
#include "nn/ac_nn_q8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/ac_nn_internal.h"

/* |x| histogram: the float's exponent and top 5 mantissa bits */
#define Q8_SHIFT 18
#define Q8_BINS (0x7f800000u >> Q8_SHIFT) /* finite floats only */
#define Q8_CLIP_MIN 1e-30f
#define Q8_CLIP_MAX 1e30f

static int q8_able(const struct ac_nn_op *op)
{
    return op->type == AC_OP_CONV && op->kh == 1 && op->kw == 1 && op->sh == 1 && op->sw == 1 &&
           !op->ph && !op->pw && op->groups == 1;
}

static size_t up64(size_t n)
{
    return (n + 63) / 64 * 64;
}

static size_t q8_blocks(const struct ac_nn_op *op)
{
    return ((size_t)op->out_c + AC_NN_OB - 1) / AC_NN_OB;
}

/* int8 weights, then scales, then biases, each 64-byte aligned */
static size_t q8_bytes(const struct ac_nn_op *op)
{
    size_t nob = q8_blocks(op), kp = ((size_t)op->x.c + 1) / 2;
    return up64(nob * kp * AC_NN_OB * 2) + 2 * up64(nob * AC_NN_OB * sizeof(float));
}

/* "int8.<op>" -> op index, or -1 when the key is not an int8 line at all. */
static int parse_key(const char *key, int n_ops, int *op)
{
    if (strncmp(key, "int8.", 5))
        return -1;
    const char *p = key + 5;
    long v = 0;
    if (!*p || (*p == '0' && p[1]))
        return -EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > AC_NN_MAX_OPS)
            return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v >= n_ops)
        return -EINVAL;
    *op = (int)v;
    return 0;
}

static void quantise_op(struct ac_nn_op *op, float clip, uint8_t *dst)
{
    int k = op->x.c, kp = (k + 1) / 2, nob = (int)q8_blocks(op);
    int8_t *w = (int8_t *)dst;
    float *s = (float *)(dst + up64((size_t)nob * kp * AC_NN_OB * 2));
    float *b = (float *)((uint8_t *)s + up64((size_t)nob * AC_NN_OB * sizeof(float)));
    memset(dst, 0, q8_bytes(op));
    for (int o = 0; o < op->out_c; o++) {
        const float *wo = op->w + (size_t)o * k;
        float mx = 0;
        for (int i = 0; i < k; i++)
            mx = fmaxf(mx, fabsf(wo[i]));
        float sw = mx > 0 ? mx / 127.f : 1.f;
        int bl = o / AC_NN_OB, j = o % AC_NN_OB;
        for (int i = 0; i < k; i++)
            w[(((size_t)bl * kp + i / 2) * AC_NN_OB + j) * 2 + (i & 1)] =
                ac_nn_q8_quant(wo[i], 1.f / sw);
        s[o] = clip / 127.f * sw;
        b[o] = op->b ? op->b[o] : 0.f;
    }
    op->q8w = w;
    op->q8s = s;
    op->q8b = b;
    op->q8inv = 127.f / clip;
    op->q8kp = kp;
}

int ac_nn_q8_setup(struct ac_nn_model *m, char *err, size_t el)
{
    float *clip = NULL;
    size_t total = 0;
    int rc = 0;
    for (int i = 0; i < m->n_meta; i++) {
        int o;
        int r = parse_key(m->meta_key[i], m->n_ops, &o);
        if (r == -1)
            continue;
        if (r) {
            rc = ac_nn_fail(err, el, -EINVAL, "META %s: not int8.<op index of this graph>",
                            m->meta_key[i]);
            goto out;
        }
        const char *v = m->meta_val[i];
        char *end;
        float c = strtof(v, &end);
        if (end == v || *end || !(c >= Q8_CLIP_MIN && c <= Q8_CLIP_MAX)) {
            rc = ac_nn_fail(err, el, -EINVAL, "META %s: clip '%.32s' is not a number in [%g, %g]",
                            m->meta_key[i], v, Q8_CLIP_MIN, Q8_CLIP_MAX);
            goto out;
        }
        struct ac_nn_op *op = &m->ops[o];
        if (!q8_able(op)) {
            rc = ac_nn_fail(err, el, -EINVAL, "META %s: op %d is not a 1x1 convolution", m->meta_key[i], o);
            goto out;
        }
        const float *w = op->w;
        for (size_t j = 0; j < (size_t)op->out_c * op->x.c; j++)
            if (!isfinite(w[j])) {
                rc = ac_nn_fail(err, el, -EINVAL, "META %s: op %d has a non-finite weight", m->meta_key[i], o);
                goto out;
            }
        if (!clip && !(clip = calloc((size_t)m->n_ops, sizeof(float)))) {
            rc = ac_nn_fail(err, el, -ENOMEM, "out of memory");
            goto out;
        }
        if (clip[o] > 0) {
            rc = ac_nn_fail(err, el, -EINVAL, "META %s appears twice", m->meta_key[i]);
            goto out;
        }
        clip[o] = c;
        total += q8_bytes(op);
        /* the quantised input rows: 2 bytes per channel (int16 on AVX2), pairs */
        unsigned long long sf = (unsigned long long)op->x.h * op->x.w * (unsigned)((op->x.c + 1) / 2) + 16;
        if (sf > (unsigned long long)AC_NN_MAX_ARENA / sizeof(float)) {
            rc = ac_nn_fail(err, el, -E2BIG, "activation arena exceeds %lld MiB", AC_NN_MAX_ARENA >> 20);
            goto out;
        }
        if (sf > m->scratch_floats)
            m->scratch_floats = (size_t)sf;
    }
    if (!clip)
        goto out;
    if (!(m->q8 = ac_nn_alloc_aligned(total))) {
        rc = ac_nn_fail(err, el, -ENOMEM, "out of memory for int8 weights (%zu bytes)", total);
        goto out;
    }
    uint8_t *p = m->q8;
    for (int o = 0; o < m->n_ops; o++)
        if (clip[o] > 0) {
            quantise_op(&m->ops[o], clip[o], p);
            p += q8_bytes(&m->ops[o]);
            m->n_q8++;
        }
out:
    free(clip);
    return rc;
}

int ac_nn_model_int8_ops(const struct ac_nn_model *m)
{
    return m ? m->n_q8 : 0;
}

void ac_nn_q8_conv_scalar(const struct ac_nn_op *op, const float *x, float *y, float *scratch)
{
    int k = op->x.c, kp = op->q8kp, n = op->out_c;
    size_t hw = (size_t)op->y.h * op->y.w;
    int8_t *q = (int8_t *)scratch;
    for (size_t p = 0; p < hw; p++) {
        const float *xp = x + p * k;
        for (int i = 0; i < k; i++)
            q[i] = ac_nn_q8_quant(xp[i], op->q8inv);
        for (int o = 0; o < n; o++) {
            const int8_t *w = op->q8w + ((size_t)(o / AC_NN_OB) * kp * AC_NN_OB + o % AC_NN_OB) * 2;
            int32_t acc = 0;
            for (int i = 0; i < k; i++)
                acc += (int32_t)q[i] * w[(size_t)(i / 2) * AC_NN_OB * 2 + (i & 1)];
            y[p * n + o] = ac_nn_act1((float)acc * op->q8s[o] + op->q8b[o], op->act, op->alpha);
        }
    }
}

/* ---- calibration ---- */

struct ac_nn_q8_calib {
    const struct ac_nn_model *m;
    int *slot;       /* per op: its histogram, or -1 */
    int n;
    uint64_t *hist;  /* n x Q8_BINS */
};

int ac_nn_q8_calib_create(const struct ac_nn_model *m, struct ac_nn_q8_calib **out)
{
    *out = NULL;
    struct ac_nn_q8_calib *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->m = m;
    c->slot = malloc(sizeof(int) * (size_t)m->n_ops);
    if (!c->slot)
        goto fail;
    for (int i = 0; i < m->n_ops; i++)
        c->slot[i] = q8_able(&m->ops[i]) ? c->n++ : -1;
    c->hist = calloc((size_t)c->n * Q8_BINS + 1, sizeof(uint64_t));
    if (!c->hist)
        goto fail;
    *out = c;
    return 0;
fail:
    ac_nn_q8_calib_destroy(c);
    return -ENOMEM;
}

void ac_nn_q8_calib_destroy(struct ac_nn_q8_calib *c)
{
    if (!c)
        return;
    free(c->slot);
    free(c->hist);
    free(c);
}

int ac_nn_q8_calib_ops(const struct ac_nn_q8_calib *c)
{
    return c->n;
}

void ac_nn_q8_calib_observe(void *arg, int op, const float *x, size_t n)
{
    struct ac_nn_q8_calib *c = arg;
    if (op < 0 || op >= c->m->n_ops || c->slot[op] < 0)
        return;
    uint64_t *h = c->hist + (size_t)c->slot[op] * Q8_BINS;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        u = (u & 0x7fffffffu) >> Q8_SHIFT;
        if (u < Q8_BINS) /* not inf or NaN */
            h[u]++;
    }
}

int ac_nn_q8_calib_meta(const struct ac_nn_q8_calib *c, double percentile, char *buf, size_t len)
{
    if (!(percentile > 0 && percentile <= 100))
        return -EINVAL;
    size_t used = 0;
    for (int op = 0; op < c->m->n_ops; op++) {
        if (c->slot[op] < 0)
            continue;
        const uint64_t *h = c->hist + (size_t)c->slot[op] * Q8_BINS;
        uint64_t total = 0, acc = 0;
        for (uint32_t b = 1; b < Q8_BINS; b++) /* bin 0: zero (and denormals) */
            total += h[b];
        if (!total)
            return -ENODATA;
        uint64_t want = (uint64_t)ceil((double)total * percentile / 100.0);
        uint32_t b = 1;
        for (; b < Q8_BINS - 1; b++)
            if ((acc += h[b]) >= want)
                break;
        uint32_t u = (b + 1) << Q8_SHIFT; /* the bin's upper edge */
        float clip;
        memcpy(&clip, &u, 4);
        clip = fminf(fmaxf(clip, Q8_CLIP_MIN), Q8_CLIP_MAX);
        int w = snprintf(buf + used, len - used, "int8.%d=%.9g\n", op, clip);
        if (w < 0 || (size_t)w >= len - used)
            return -ENOSPC;
        used += (size_t)w;
    }
    return (int)used;
}

/* ---- writer ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t put_section(uint8_t *dst, const char *tag, const void *data, size_t len)
{
    size_t padded = (len + 15) / 16 * 16;
    memcpy(dst, tag, 4);
    put32(dst + 4, (uint32_t)len);
    memset(dst + 8, 0, 8 + padded);
    memcpy(dst + 16, data, len);
    return 16 + padded;
}

int ac_nn_model_save_meta(const struct ac_nn_model *m, const char *extra, const char *path,
                          char *err, size_t el)
{
    size_t mlen = strlen(extra);
    for (int i = 0; i < m->n_meta; i++)
        mlen += strlen(m->meta_key[i]) + strlen(m->meta_val[i]) + 2;
    char *meta = malloc(mlen + 1);
    uint8_t *out = malloc(m->len + mlen + 32);
    char tmp[4096] = "";
    int rc = 0;
    FILE *f = NULL;
    if (!meta || !out) {
        rc = ac_nn_fail(err, el, -ENOMEM, "out of memory");
        goto done;
    }
    size_t ml = 0;
    for (int i = 0; i < m->n_meta; i++)
        if (strncmp(m->meta_key[i], "int8.", 5))
            ml += (size_t)sprintf(meta + ml, "%s=%s\n", m->meta_key[i], m->meta_val[i]);
    memcpy(meta + ml, extra, strlen(extra) + 1);
    ml += strlen(extra);
    /* the loaded file is valid: walk its sections, META replaced (or added
     * after the first section) */
    size_t o = 64, p = 64;
    int add_meta = 1; /* a file without META gets one after its first section */
    for (size_t q = 64; q + 16 <= m->len; q += 16 + (get32(m->buf + q + 4) + 15) / 16 * 16)
        add_meta &= !!memcmp(m->buf + q, "META", 4);
    while (p + 16 <= m->len) {
        size_t len = get32(m->buf + p + 4), span = 16 + (len + 15) / 16 * 16;
        if (!memcmp(m->buf + p, "META", 4)) {
            if (ml)
                o += put_section(out + o, "META", meta, ml);
        } else {
            memcpy(out + o, m->buf + p, span);
            o += span;
            if (add_meta && ml) {
                o += put_section(out + o, "META", meta, ml);
                add_meta = 0;
            }
        }
        p += span;
    }
    memcpy(out, m->buf, 64);
    put32(out + 16, (uint32_t)(o - 64));
    put32(out + 20, 0);
    put32(out + 24, ac_nn_crc32(out + 64, o - 64));
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        tmp[0] = 0;
        rc = ac_nn_fail(err, el, -ENAMETOOLONG, "path too long");
        goto done;
    }
    if (!(f = fopen(tmp, "wb")) || fwrite(out, 1, o, f) != o) {
        rc = ac_nn_fail(err, el, -errno ? -errno : -EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (fclose(f)) {
        f = NULL;
        rc = ac_nn_fail(err, el, -EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, path))
        rc = ac_nn_fail(err, el, -errno, "%s: %s", path, strerror(errno));
done:
    if (f)
        fclose(f);
    if (rc && tmp[0])
        unlink(tmp);
    free(meta);
    free(out);
    return rc;
}
