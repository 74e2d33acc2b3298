/* .acnn loader: checks every field of an untrusted file before using it
 * (models/FORMAT.md), infers shapes, counts parameters and MACs, plans the
 * activation arena and packs the fast kernels' weight layouts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ac_nn_internal.h"

#define HDR 64

int ac_nn_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static float rdf(const uint8_t *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint32_t ac_nn_crc32(const void *data, size_t len)
{
    /* table built per call: 2 KiB of work, and no shared mutable state */
    uint32_t tab[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        tab[i] = c;
    }
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        crc = tab[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

void *ac_nn_alloc_aligned(size_t n)
{
    size_t r = (n + AC_NN_ALIGN - 1) / AC_NN_ALIGN * AC_NN_ALIGN;
    return aligned_alloc(AC_NN_ALIGN, r ? r : AC_NN_ALIGN);
}

void ac_nn_model_destroy(struct ac_nn_model *m)
{
    if (!m)
        return;
    free(m->buf);
    free(m->ops);
    free(m->shapes);
    free(m->offset);
    free(m->meta);
    free(m->meta_key);
    free(m->meta_val);
    free(m->packed);
    free(m->q8);
    free(m);
}

struct section {
    const uint8_t *p;
    uint32_t len;
    int present;
};

static const char *const known_tags[] = {"INFO", "META", "GRPH", "OUTS", "WGHT"};
enum { S_INFO, S_META, S_GRPH, S_OUTS, S_WGHT, S_N };

static int parse_sections(const uint8_t *buf, size_t len, struct section *s, char *err, size_t el)
{
    size_t pos = HDR;
    while (pos < len) {
        if (len - pos < 16)
            return ac_nn_fail(err, el, -EINVAL, "section header at file offset %zu truncated", pos);
        const uint8_t *h = buf + pos;
        char tag[5] = {0};
        memcpy(tag, h, 4);
        for (int i = 0; i < 4; i++)
            if (tag[i] < 0x21 || tag[i] > 0x7e)
                return ac_nn_fail(err, el, -EINVAL, "section at file offset %zu: tag is not printable ASCII",
                            pos);
        uint32_t l = rd32(h + 4);
        if (rd32(h + 8) || rd32(h + 12))
            return ac_nn_fail(err, el, -EINVAL, "section '%s': reserved fields not zero", tag);
        uint64_t padded = ((uint64_t)l + 15) / 16 * 16;
        if (padded > len - pos - 16)
            return ac_nn_fail(err, el, -EINVAL, "section '%s' (%u bytes) runs past the end of the payload",
                        tag, l);
        int k;
        for (k = 0; k < S_N; k++)
            if (!memcmp(tag, known_tags[k], 4))
                break;
        if (k == S_N) {
            if (!(tag[0] >= 'a' && tag[0] <= 'z'))
                return ac_nn_fail(err, el, -EINVAL, "unknown critical section '%s'", tag);
        } else {
            if (s[k].present)
                return ac_nn_fail(err, el, -EINVAL, "section '%s' appears twice", tag);
            s[k].present = 1;
            s[k].p = h + 16;
            s[k].len = l;
        }
        pos += 16 + padded;
    }
    for (int k = 0; k < S_N; k++)
        if (!s[k].present && k != S_META)
            return ac_nn_fail(err, el, -EINVAL, "required section '%s' missing", known_tags[k]);
    return 0;
}

static int parse_info(struct ac_nn_model *m, const struct section *s, char *err, size_t el)
{
    if (s->len != 44)
        return ac_nn_fail(err, el, -EINVAL, "INFO section is %u bytes, expected 44", s->len);
    struct ac_nn_info *in = &m->info;
    uint32_t w = rd32(s->p), h = rd32(s->p + 4), c = rd32(s->p + 8);
    if (!w || !h || !c)
        return ac_nn_fail(err, el, -EINVAL, "input shape %ux%ux%u has a zero dimension", w, h, c);
    if (w > AC_NN_MAX_SIDE || h > AC_NN_MAX_SIDE || c > AC_NN_MAX_CH)
        return ac_nn_fail(err, el, -E2BIG, "input shape %ux%ux%u exceeds the limits", w, h, c);
    if ((long long)w * h * c > AC_NN_MAX_TENSOR_FLOATS)
        return ac_nn_fail(err, el, -E2BIG, "input tensor %ux%ux%u exceeds the limits", w, h, c);
    in->input_w = (int)w;
    in->input_h = (int)h;
    in->input_c = (int)c;
    for (int i = 0; i < 3; i++) {
        in->mean[i] = rdf(s->p + 12 + 4 * i);
        in->scale[i] = rdf(s->p + 24 + 4 * i);
        if (!isfinite(in->mean[i]) || !isfinite(in->scale[i]))
            return ac_nn_fail(err, el, -EINVAL, "INFO mean/scale not finite");
    }
    uint32_t ncls = rd32(s->p + 36), kind = rd32(s->p + 40);
    if (ncls > AC_NN_MAX_CH)
        return ac_nn_fail(err, el, -EINVAL, "num_classes %u out of range", ncls);
    if (kind > AC_NN_KIND_VERIFIER)
        return ac_nn_fail(err, el, -EINVAL, "unknown model kind %u", kind);
    if (kind == AC_NN_KIND_AGE && ncls == 0)
        return ac_nn_fail(err, el, -EINVAL, "age model with zero classes");
    in->num_classes = (int)ncls;
    in->kind = (int)kind;
    return 0;
}

static int parse_meta(struct ac_nn_model *m, const struct section *s, char *err, size_t el)
{
    if (!s->present || s->len == 0)
        return 0;
    if (memchr(s->p, 0, s->len))
        return ac_nn_fail(err, el, -EINVAL, "META contains a NUL byte");
    if (s->p[s->len - 1] != '\n')
        return ac_nn_fail(err, el, -EINVAL, "META does not end with a newline");
    int lines = 0;
    for (uint32_t i = 0; i < s->len; i++)
        lines += s->p[i] == '\n';
    m->meta = malloc(s->len);
    m->meta_key = calloc((size_t)lines, sizeof(char *));
    m->meta_val = calloc((size_t)lines, sizeof(char *));
    if (!m->meta || !m->meta_key || !m->meta_val)
        return ac_nn_fail(err, el, -ENOMEM, "out of memory for META");
    memcpy(m->meta, s->p, s->len);
    char *p = m->meta, *end = m->meta + s->len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eq = memchr(p, '=', (size_t)(nl - p));
        if (!eq || eq == p)
            return ac_nn_fail(err, el, -EINVAL, "META line %d is not key=value", m->n_meta + 1);
        *eq = 0;
        *nl = 0;
        m->meta_key[m->n_meta] = p;
        m->meta_val[m->n_meta] = eq + 1;
        m->n_meta++;
        p = nl + 1;
    }
    return 0;
}

/* Field indices of a GRPH record, and which ones each op may use. */
enum { F_OP, F_IN0, F_IN1, F_ACT, F_ALPHA, F_OUTC, F_KH, F_KW, F_SH, F_SW, F_PH, F_PW, F_GROUPS,
       F_WOFF, F_WCOUNT, F_FLAGS, F_N };
#define B(f) (1u << (f))
#define F_BASE (B(F_OP) | B(F_IN0))
#define F_ACTS (B(F_ACT) | B(F_ALPHA))
#define F_WEIGHTS (B(F_OUTC) | B(F_WOFF) | B(F_WCOUNT) | B(F_FLAGS))
#define F_WINDOW (B(F_KH) | B(F_KW) | B(F_SH) | B(F_SW) | B(F_PH) | B(F_PW))
static const uint32_t op_fields[AC_OP_MAX_ + 1] = {
    [AC_OP_CONV] = F_BASE | F_ACTS | F_WEIGHTS | F_WINDOW | B(F_GROUPS),
    [AC_OP_FC] = F_BASE | F_ACTS | F_WEIGHTS,
    [AC_OP_ADD] = F_BASE | F_ACTS | B(F_IN1),
    [AC_OP_SE] = F_BASE | F_ACTS | F_WEIGHTS,
    [AC_OP_GAP] = F_BASE | F_ACTS,
    [AC_OP_CONCAT] = F_BASE | F_ACTS | B(F_IN1),
    [AC_OP_UPSAMPLE] = F_BASE | F_ACTS | B(F_IN1) | B(F_SH) | B(F_SW) | B(F_FLAGS),
    [AC_OP_SOFTMAX] = F_BASE,
    [AC_OP_ACT] = F_BASE | F_ACTS,
    [AC_OP_MAXPOOL] = F_BASE | F_WINDOW,
};
static const char *const op_names[AC_OP_MAX_ + 1] = {
    "?", "CONV", "FC", "ADD", "SE", "GAP", "CONCAT", "UPSAMPLE", "SOFTMAX", "ACT", "MAXPOOL"};

static int in_range(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi;
}

static int check_shape(int i, const char *name, long long h, long long w, long long c, char *err,
                       size_t el)
{
    if (h < 1 || w < 1 || c < 1)
        return ac_nn_fail(err, el, -EINVAL, "op %d (%s): output shape %lldx%lldx%lld not positive", i, name,
                    h, w, c);
    if (h > AC_NN_MAX_SIDE || w > AC_NN_MAX_SIDE || c > AC_NN_MAX_CH ||
        h * w * c > AC_NN_MAX_TENSOR_FLOATS)
        return ac_nn_fail(err, el, -E2BIG, "op %d (%s): output shape %lldx%lldx%lld exceeds the limits", i,
                    name, h, w, c);
    return 0;
}

/* Validates op i (writing tensor i + 1) and fills m->ops[i], m->shapes[i + 1]. */
static int parse_op(struct ac_nn_model *m, int i, const uint8_t *r, const float *blob,
                    uint64_t blob_floats, char *err, size_t el)
{
    uint32_t f[F_N];
    for (int k = 0; k < F_N; k++)
        f[k] = rd32(r + 4 * k);
    uint32_t t = f[F_OP];
    if (t < 1 || t > AC_OP_MAX_)
        return ac_nn_fail(err, el, -EINVAL, "op %d: unknown op type %u", i, t);
    const char *nm = op_names[t];
    for (int k = 0; k < F_N; k++)
        if (!(op_fields[t] & B(k)) && f[k])
            return ac_nn_fail(err, el, -EINVAL, "op %d (%s): unused field %d is not zero", i, nm, k);
    struct ac_nn_op *op = &m->ops[i];
    op->type = (int)t;
    if (f[F_IN0] > (uint32_t)i)
        return ac_nn_fail(err, el, -EINVAL, "op %d (%s): input tensor %u is not an earlier tensor", i, nm,
                    f[F_IN0]);
    op->in0 = (int)f[F_IN0];
    op->x = m->shapes[op->in0];
    int uses_in1 = t == AC_OP_ADD || t == AC_OP_CONCAT ||
                   (t == AC_OP_UPSAMPLE && (f[F_FLAGS] & AC_FLAG_SIZE_OF_IN1));
    if (uses_in1) {
        if (f[F_IN1] > (uint32_t)i)
            return ac_nn_fail(err, el, -EINVAL, "op %d (%s): input tensor %u is not an earlier tensor", i,
                        nm, f[F_IN1]);
        op->in1 = (int)f[F_IN1];
        op->x1 = m->shapes[op->in1];
    } else if (f[F_IN1]) {
        return ac_nn_fail(err, el, -EINVAL, "op %d (%s): in1 set but not used", i, nm);
    }
    if (f[F_ACT] > AC_ACT_MAX_)
        return ac_nn_fail(err, el, -EINVAL, "op %d (%s): unknown activation %u", i, nm, f[F_ACT]);
    op->act = (int)f[F_ACT];
    op->alpha = rdf(r + 4 * F_ALPHA);
    if (!isfinite(op->alpha) || (op->act != AC_ACT_LEAKY && f[F_ALPHA]))
        return ac_nn_fail(err, el, -EINVAL, "op %d (%s): bad leaky alpha", i, nm);
    op->out_c = (int)(f[F_OUTC] <= AC_NN_MAX_CH ? f[F_OUTC] : 0);
    if ((op_fields[t] & B(F_OUTC)) && !in_range(f[F_OUTC], 1, AC_NN_MAX_CH))
        return ac_nn_fail(err, el, f[F_OUTC] ? -E2BIG : -EINVAL, "op %d (%s): out_c %u out of range", i,
                    nm, f[F_OUTC]);
    if (op_fields[t] & B(F_KH)) {
        if (!in_range(f[F_KH], 1, AC_NN_MAX_SIDE) || !in_range(f[F_KW], 1, AC_NN_MAX_SIDE) ||
            !in_range(f[F_SH], 1, AC_NN_MAX_SIDE) || !in_range(f[F_SW], 1, AC_NN_MAX_SIDE) ||
            f[F_PH] > AC_NN_MAX_SIDE || f[F_PW] > AC_NN_MAX_SIDE)
            return ac_nn_fail(err, el, -EINVAL, "op %d (%s): kernel/stride/padding out of range", i, nm);
        op->kh = (int)f[F_KH];
        op->kw = (int)f[F_KW];
        op->sh = (int)f[F_SH];
        op->sw = (int)f[F_SW];
        op->ph = (int)f[F_PH];
        op->pw = (int)f[F_PW];
    }
    op->flags = (int)f[F_FLAGS];
    const struct ac_nn_shape x = op->x;
    long long oh = x.h, ow = x.w, oc = x.c, need = 0; /* need: weight floats */
    long long macs = 0;
    int has_bias = op->flags & AC_FLAG_BIAS;
    switch (t) {
    case AC_OP_CONV: {
        if (op->flags & ~(AC_FLAG_BIAS | AC_FLAG_BN_FOLDED) ||
            ((op->flags & AC_FLAG_BN_FOLDED) && !has_bias))
            return ac_nn_fail(err, el, -EINVAL, "op %d (CONV): bad flags %u", i, f[F_FLAGS]);
        uint32_t g = f[F_GROUPS];
        if (g < 1 || (uint32_t)x.c % g || (uint32_t)op->out_c % g)
            return ac_nn_fail(err, el, -EINVAL,
                        "op %d (CONV): groups %u must divide input channels %d and out_c %d", i, g,
                        x.c, op->out_c);
        op->groups = (int)g;
        if (x.h + 2ll * op->ph < op->kh || x.w + 2ll * op->pw < op->kw)
            return ac_nn_fail(err, el, -EINVAL, "op %d (CONV): kernel %dx%d larger than padded input %dx%d",
                        i, op->kh, op->kw, x.h, x.w);
        oh = (x.h + 2ll * op->ph - op->kh) / op->sh + 1;
        ow = (x.w + 2ll * op->pw - op->kw) / op->sw + 1;
        oc = op->out_c;
        need = (long long)op->out_c * op->kh * op->kw * (x.c / op->groups);
        macs = need; /* times output pixels, below */
        break;
    }
    case AC_OP_FC:
        if (op->flags & ~AC_FLAG_BIAS)
            return ac_nn_fail(err, el, -EINVAL, "op %d (FC): bad flags %u", i, f[F_FLAGS]);
        oh = ow = 1;
        oc = op->out_c;
        need = (long long)op->out_c * x.h * x.w * x.c;
        macs = need;
        break;
    case AC_OP_ADD:
        if (op->x1.h != x.h || op->x1.w != x.w || op->x1.c != x.c)
            return ac_nn_fail(err, el, -EINVAL, "op %d (ADD): input shapes %dx%dx%d and %dx%dx%d differ", i,
                        x.h, x.w, x.c, op->x1.h, op->x1.w, op->x1.c);
        break;
    case AC_OP_SE:
        if (op->flags != AC_FLAG_BIAS)
            return ac_nn_fail(err, el, -EINVAL, "op %d (SE): flags must be 1 (biases), got %u", i, f[F_FLAGS]);
        need = 2ll * op->out_c * x.c + op->out_c + x.c;
        has_bias = 0; /* biases are inside need */
        macs = 2ll * op->out_c * x.c + 2ll * x.h * x.w * x.c;
        break;
    case AC_OP_GAP:
        oh = ow = 1;
        break;
    case AC_OP_CONCAT:
        if (op->x1.h != x.h || op->x1.w != x.w)
            return ac_nn_fail(err, el, -EINVAL, "op %d (CONCAT): spatial sizes %dx%d and %dx%d differ", i,
                        x.h, x.w, op->x1.h, op->x1.w);
        oc = (long long)x.c + op->x1.c;
        break;
    case AC_OP_UPSAMPLE:
        if (op->flags & ~AC_FLAG_SIZE_OF_IN1)
            return ac_nn_fail(err, el, -EINVAL, "op %d (UPSAMPLE): bad flags %u", i, f[F_FLAGS]);
        if (op->flags) {
            if (f[F_SH] || f[F_SW])
                return ac_nn_fail(err, el, -EINVAL, "op %d (UPSAMPLE): factors given with size-of-in1", i);
            oh = op->x1.h;
            ow = op->x1.w;
        } else {
            if (!in_range(f[F_SH], 1, AC_NN_MAX_SIDE) || !in_range(f[F_SW], 1, AC_NN_MAX_SIDE))
                return ac_nn_fail(err, el, -EINVAL, "op %d (UPSAMPLE): factor %ux%u out of range", i,
                            f[F_SH], f[F_SW]);
            op->sh = (int)f[F_SH];
            op->sw = (int)f[F_SW];
            oh = (long long)x.h * op->sh;
            ow = (long long)x.w * op->sw;
        }
        break;
    case AC_OP_MAXPOOL:
        if (op->ph >= op->kh || op->pw >= op->kw)
            return ac_nn_fail(err, el, -EINVAL, "op %d (MAXPOOL): padding must be smaller than the window",
                        i);
        if (x.h + 2ll * op->ph < op->kh || x.w + 2ll * op->pw < op->kw)
            return ac_nn_fail(err, el, -EINVAL, "op %d (MAXPOOL): window larger than padded input", i);
        oh = (x.h + 2ll * op->ph - op->kh) / op->sh + 1;
        ow = (x.w + 2ll * op->pw - op->kw) / op->sw + 1;
        break;
    default: /* SOFTMAX, ACT: same shape */
        break;
    }
    int rc = check_shape(i, nm, oh, ow, oc, err, el);
    if (rc)
        return rc;
    if (op_fields[t] & B(F_WOFF)) {
        long long total = need + (has_bias ? op->out_c : 0);
        if ((uint64_t)total != f[F_WCOUNT])
            return ac_nn_fail(err, el, -EINVAL, "op %d (%s): w_count %u, shape needs %lld floats", i, nm,
                        f[F_WCOUNT], total);
        if ((uint64_t)f[F_WOFF] + f[F_WCOUNT] > blob_floats)
            return ac_nn_fail(err, el, -EINVAL,
                        "op %d (%s): weights [%u, +%u) outside the %llu-float WGHT blob", i, nm,
                        f[F_WOFF], f[F_WCOUNT], (unsigned long long)blob_floats);
        op->w = blob + f[F_WOFF];
        op->b = has_bias ? op->w + need : NULL;
        m->info.param_count += total + ((op->flags & AC_FLAG_BN_FOLDED) ? op->out_c : 0);
    }
    if (t == AC_OP_CONV)
        macs *= oh * ow;
    m->info.macs += macs;
    op->y = (struct ac_nn_shape){(int)oh, (int)ow, (int)oc};
    m->shapes[i + 1] = op->y;
    return 0;
}

static int parse_outs(struct ac_nn_model *m, const struct section *s, char *err, size_t el)
{
    if (s->len < 4)
        return ac_nn_fail(err, el, -EINVAL, "OUTS section truncated");
    uint32_t n = rd32(s->p);
    if (!in_range(n, 1, AC_NN_MAX_OUTPUTS))
        return ac_nn_fail(err, el, -EINVAL, "model declares %u outputs (need 1..%d)", n, AC_NN_MAX_OUTPUTS);
    size_t pos = 4;
    for (uint32_t k = 0; k < n; k++) {
        if (s->len - pos < 8)
            return ac_nn_fail(err, el, -EINVAL, "OUTS entry %u truncated", k);
        uint32_t id = rd32(s->p + pos), nl = rd32(s->p + pos + 4);
        pos += 8;
        if (id >= (uint32_t)m->n_tensors)
            return ac_nn_fail(err, el, -EINVAL, "output %u: tensor id %u out of range (%d tensors)", k, id,
                        m->n_tensors);
        if (!in_range(nl, 1, AC_NN_MAX_NAME))
            return ac_nn_fail(err, el, -EINVAL, "output %u: name length %u out of range", k, nl);
        size_t padded = (nl + 3u) & ~3u;
        if (s->len - pos < padded)
            return ac_nn_fail(err, el, -EINVAL, "output %u: name runs past the OUTS section", k);
        for (uint32_t j = 0; j < padded; j++) {
            unsigned char ch = s->p[pos + j];
            int ok = j < nl ? (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'
                            : ch == 0;
            if (!ok)
                return ac_nn_fail(err, el, -EINVAL, "output %u: bad character in name", k);
        }
        memcpy(m->out_name[k], s->p + pos, nl);
        m->out_name[k][nl] = 0;
        pos += padded;
        for (uint32_t j = 0; j < k; j++)
            if (!strcmp(m->out_name[j], m->out_name[k]))
                return ac_nn_fail(err, el, -EINVAL, "output name '%s' used twice", m->out_name[k]);
        m->out_id[k] = (int)id;
    }
    if (pos != s->len)
        return ac_nn_fail(err, el, -EINVAL, "OUTS section has %zu trailing bytes", s->len - pos);
    m->info.n_outputs = (int)n;
    return 0;
}

static int check_header(const uint8_t *d, size_t len, char *err, size_t el)
{
    if (len < HDR)
        return ac_nn_fail(err, el, -EINVAL, "file too short for the header (%zu bytes, need %d)", len, HDR);
    if (memcmp(d, "ACNNMDL\0", 8))
        return ac_nn_fail(err, el, -EINVAL, "bad magic: not an .acnn model file");
    if (rd32(d + 8) != 1)
        return ac_nn_fail(err, el, -EINVAL, "unsupported format version %u (this runtime reads 1)",
                    rd32(d + 8));
    if (rd32(d + 12) != HDR)
        return ac_nn_fail(err, el, -EINVAL, "header size %u, expected %d", rd32(d + 12), HDR);
    if (len > (size_t)AC_NN_MAX_FILE)
        return ac_nn_fail(err, el, -E2BIG, "file of %zu bytes exceeds the %lld MiB limit", len,
                    AC_NN_MAX_FILE >> 20);
    uint64_t psize = rd64(d + 16);
    if (psize > len - HDR)
        return ac_nn_fail(err, el, -EINVAL, "payload size %llu larger than the file allows (%zu)",
                    (unsigned long long)psize, len - HDR);
    if (psize < len - HDR)
        return ac_nn_fail(err, el, -EINVAL, "%zu bytes of trailing garbage after the payload",
                    (size_t)(len - HDR - psize));
    for (int i = 28; i < HDR; i++)
        if (d[i])
            return ac_nn_fail(err, el, -EINVAL, "reserved header bytes not zero");
    uint32_t crc = ac_nn_crc32(d + HDR, len - HDR);
#ifdef AC_NN_FUZZING_SKIP_CRC /* fuzz builds only: let mutations reach the parser */
    crc = rd32(d + 24);
#endif
    if (crc != rd32(d + 24))
        return ac_nn_fail(err, el, -EINVAL, "payload CRC mismatch (file says %08x, data is %08x)",
                    rd32(d + 24), crc);

    return 0;
}

/* Takes ownership of buf (AC_NN_ALIGN-aligned, len bytes): the one copy of
 * the file that the model's weights point into. */
static int load_owned(uint8_t *buf, size_t len, struct ac_nn_model **out, char *err, size_t el)
{
    *out = NULL;
    int rc = check_header(buf, len, err, el);
    if (rc) {
        free(buf);
        return rc;
    }
    struct ac_nn_model *m = calloc(1, sizeof(*m));
    if (!m) {
        free(buf);
        return ac_nn_fail(err, el, -ENOMEM, "out of memory");
    }
    m->buf = buf;
    m->len = len;
    struct section s[S_N] = {0};
    if ((rc = parse_sections(m->buf, len, s, err, el)) || (rc = parse_info(m, &s[S_INFO], err, el)) ||
        (rc = parse_meta(m, &s[S_META], err, el)))
        goto bad;
    if (s[S_WGHT].len % 4) {
        rc = ac_nn_fail(err, el, -EINVAL, "WGHT size %u is not a multiple of 4", s[S_WGHT].len);
        goto bad;
    }
    if (s[S_GRPH].len < 4) {
        rc = ac_nn_fail(err, el, -EINVAL, "GRPH section truncated");
        goto bad;
    }
    uint32_t n_ops = rd32(s[S_GRPH].p);
    if (!in_range(n_ops, 1, AC_NN_MAX_OPS)) {
        rc = ac_nn_fail(err, el, n_ops ? -E2BIG : -EINVAL, "graph has %u ops (need 1..%d)", n_ops,
                  AC_NN_MAX_OPS);
        goto bad;
    }
    if (s[S_GRPH].len != 4 + 64ull * n_ops) {
        rc = ac_nn_fail(err, el, -EINVAL, "GRPH is %u bytes, %u ops need %llu", s[S_GRPH].len, n_ops,
                  4 + 64ull * n_ops);
        goto bad;
    }
    m->n_ops = (int)n_ops;
    m->n_tensors = m->n_ops + 1;
    m->ops = calloc(n_ops, sizeof(*m->ops));
    m->shapes = calloc(n_ops + 1, sizeof(*m->shapes));
    if (!m->ops || !m->shapes) {
        rc = ac_nn_fail(err, el, -ENOMEM, "out of memory for %u ops", n_ops);
        goto bad;
    }
    m->shapes[0] = (struct ac_nn_shape){m->info.input_h, m->info.input_w, m->info.input_c};
    const float *blob = (const float *)s[S_WGHT].p; /* 16-byte aligned: see FORMAT.md */
    for (int i = 0; i < m->n_ops; i++)
        if ((rc = parse_op(m, i, s[S_GRPH].p + 4 + 64 * (size_t)i, blob, s[S_WGHT].len / 4, err,
                           el)))
            goto bad;
    if ((rc = parse_outs(m, &s[S_OUTS], err, el)))
        goto bad;
    if (m->info.kind == AC_NN_KIND_AGE) {
        const struct ac_nn_shape *o = &m->shapes[m->out_id[0]];
        if ((long long)o->h * o->w * o->c != m->info.num_classes) {
            rc = ac_nn_fail(err, el, -EINVAL, "age model: output 0 has %d values, num_classes is %d",
                      o->h * o->w * o->c, m->info.num_classes);
            goto bad;
        }
    }
    if (m->info.kind == AC_NN_KIND_VERIFIER) {
        const struct ac_nn_shape *o = &m->shapes[m->out_id[0]];
        if ((long long)o->h * o->w * o->c != 1) {
            rc = ac_nn_fail(err, el, -EINVAL, "verifier model: output 0 has %d values, not 1",
                            o->h * o->w * o->c);
            goto bad;
        }
    }
    if ((rc = ac_nn_q8_setup(m, err, el)) || (rc = ac_nn_plan_arena(m, err, el)) ||
        (rc = ac_nn_pack_weights(m, err, el)))
        goto bad;
    *out = m;
    return 0;
bad:
    ac_nn_model_destroy(m);
    return rc;
}

int ac_nn_model_load_mem(const void *data, size_t len, struct ac_nn_model **out, char *err,
                         size_t el)
{
    if (err && el)
        err[0] = 0;
    if (!out || (!data && len))
        return ac_nn_fail(err, el, -EINVAL, "bad arguments");
    *out = NULL;
    if (len > (size_t)AC_NN_MAX_FILE)
        return ac_nn_fail(err, el, -E2BIG, "file of %zu bytes exceeds the %lld MiB limit", len,
                    AC_NN_MAX_FILE >> 20);
    uint8_t *buf = ac_nn_alloc_aligned(len);
    if (!buf)
        return ac_nn_fail(err, el, -ENOMEM, "out of memory copying %zu bytes", len);
    if (len)
        memcpy(buf, data, len);
    return load_owned(buf, len, out, err, el);
}

int ac_nn_model_load(const char *path, struct ac_nn_model **out, char *err, size_t el)
{
    if (!path || !out)
        return ac_nn_fail(err, el, -EINVAL, "bad arguments");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_nn_fail(err, el, -errno, "%s", strerror(errno));
    int rc = 0;
    uint8_t *buf = NULL;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = ac_nn_fail(err, el, -EIO, "cannot determine its size");
    } else if ((long long)sz > AC_NN_MAX_FILE) {
        rc = ac_nn_fail(err, el, -E2BIG, "%ld bytes exceeds the %lld MiB limit", sz,
                  AC_NN_MAX_FILE >> 20);
    } else if (!(buf = ac_nn_alloc_aligned((size_t)sz))) {
        rc = ac_nn_fail(err, el, -ENOMEM, "out of memory for %ld bytes", sz);
    } else if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        rc = ac_nn_fail(err, el, -EIO, "read error");
    }
    fclose(f);
    if (!rc) {
        if (err && el)
            err[0] = 0;
        rc = load_owned(buf, (size_t)sz, out, err, el);
        buf = NULL;
    }
    free(buf);
    return rc;
}

const struct ac_nn_info *ac_nn_model_info(const struct ac_nn_model *m)
{
    return m ? &m->info : NULL;
}

const char *ac_nn_model_meta(const struct ac_nn_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (int i = 0; i < m->n_meta; i++)
        if (!strcmp(m->meta_key[i], key))
            return m->meta_val[i];
    return NULL;
}

int ac_nn_model_output_index(const struct ac_nn_model *m, const char *name)
{
    if (!m || !name)
        return -EINVAL;
    for (int i = 0; i < m->info.n_outputs; i++)
        if (!strcmp(m->out_name[i], name))
            return i;
    return -ENOENT;
}
