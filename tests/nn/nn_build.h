/* Test helper: builds .acnn files in memory (the C twin of train/acnn.py,
 * minus the torch conveniences), so tests can make tiny models and corrupt
 * them field by field. Header-only; each test includes it once. */
#ifndef NN_BUILD_H
#define NN_BUILD_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ac_nn_internal.h"

struct nb_op {
    uint32_t f[16]; /* the 16 u32 words of a GRPH record (alpha as bits) */
};

struct nb {
    uint32_t in_w, in_h, in_c, ncls, kind;
    struct nb_op ops[64];
    int n_ops;
    struct { int shape[3]; } t[65];
    float *w;
    size_t nw, capw;
    int out_id[8];
    char out_name[8][32];
    int n_out;
    const char *meta;
    uint32_t seed;
};

static inline float nb_rand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.f - 1.f; /* [-1, 1) */
}

/* A fused activation in double, as FORMAT.md defines it (the tests' reference). */
static inline double nb_act_d(double v, int act, float alpha)
{
    switch (act) {
    case AC_ACT_RELU: return v > 0 ? v : 0;
    case AC_ACT_LEAKY: return v > 0 ? v : v * alpha;
    case AC_ACT_SIGMOID: return 1 / (1 + exp(-v));
    default: return v;
    }
}

static inline void nb_init(struct nb *b, int w, int h, int c, uint32_t seed)
{
    memset(b, 0, sizeof(*b));
    b->in_w = (uint32_t)w;
    b->in_h = (uint32_t)h;
    b->in_c = (uint32_t)c;
    b->seed = seed;
    b->t[0].shape[0] = h;
    b->t[0].shape[1] = w;
    b->t[0].shape[2] = c;
}

/* Appends n random floats (scaled) to the blob; returns their offset. */
static inline uint32_t nb_weights(struct nb *b, size_t n, float scale)
{
    if (b->nw + n > b->capw) {
        b->capw = (b->nw + n) * 2 + 64;
        b->w = realloc(b->w, b->capw * sizeof(float));
    }
    for (size_t i = 0; i < n; i++)
        b->w[b->nw + i] = nb_rand(&b->seed) * scale;
    b->nw += n;
    return (uint32_t)(b->nw - n);
}

/* Raw op: fields in FORMAT.md order from `op`; returns the new tensor id. */
static inline int nb_raw(struct nb *b, const uint32_t f[16])
{
    memcpy(b->ops[b->n_ops].f, f, 16 * sizeof(uint32_t));
    return ++b->n_ops;
}

static inline uint32_t nb_fbits(float a)
{
    uint32_t u;
    memcpy(&u, &a, 4);
    return u;
}

static inline int nb_conv(struct nb *b, int x, int out_c, int kh, int kw, int s, int p, int g,
                          int bias, int act, float alpha)
{
    int cin = b->t[x].shape[2];
    size_t n = (size_t)out_c * kh * kw * (cin / g) + (bias ? out_c : 0);
    float scale = 1.f / sqrtf((float)(kh * kw * (cin / g)));
    uint32_t off = nb_weights(b, n, scale);
    uint32_t f[16] = {AC_OP_CONV, (uint32_t)x, 0, (uint32_t)act, nb_fbits(alpha), (uint32_t)out_c,
                      (uint32_t)kh, (uint32_t)kw, (uint32_t)s, (uint32_t)s, (uint32_t)p,
                      (uint32_t)p, (uint32_t)g, off, (uint32_t)n, bias ? 1u : 0u};
    int t = nb_raw(b, f);
    b->t[t].shape[0] = (b->t[x].shape[0] + 2 * p - kh) / s + 1;
    b->t[t].shape[1] = (b->t[x].shape[1] + 2 * p - kw) / s + 1;
    b->t[t].shape[2] = out_c;
    return t;
}

static inline int nb_simple(struct nb *b, int type, int x, int x1, int act, float alpha, int h,
                            int w, int c)
{
    uint32_t f[16] = {(uint32_t)type, (uint32_t)x, (uint32_t)x1, (uint32_t)act, nb_fbits(alpha)};
    int t = nb_raw(b, f);
    b->t[t].shape[0] = h;
    b->t[t].shape[1] = w;
    b->t[t].shape[2] = c;
    return t;
}

static inline void nb_output(struct nb *b, int t, const char *name)
{
    b->out_id[b->n_out] = t;
    snprintf(b->out_name[b->n_out], sizeof(b->out_name[0]), "%s", name);
    b->n_out++;
}

static inline void nb_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline size_t nb_section(uint8_t *dst, const char *tag, const void *data, size_t len)
{
    if (dst) {
        memcpy(dst, tag, 4);
        nb_put32(dst + 4, (uint32_t)len);
        memset(dst + 8, 0, 8);
        if (len)
            memcpy(dst + 16, data, len);
        memset(dst + 16 + len, 0, (16 - len % 16) % 16);
    }
    return 16 + (len + 15) / 16 * 16;
}

static inline void nb_fix_crc(uint8_t *file, size_t len)
{
    nb_put32(file + 24, ac_nn_crc32(file + 64, len - 64));
}

/* Serialises; caller frees *out. */
static inline size_t nb_finish(const struct nb *b, uint8_t **out)
{
    uint8_t info[44];
    nb_put32(info, b->in_w);
    nb_put32(info + 4, b->in_h);
    nb_put32(info + 8, b->in_c);
    for (int i = 0; i < 3; i++) {
        nb_put32(info + 12 + 4 * i, nb_fbits(127.5f));
        nb_put32(info + 24 + 4 * i, nb_fbits(1.f / 127.5f));
    }
    nb_put32(info + 36, b->ncls);
    nb_put32(info + 40, b->kind);
    size_t glen = 4 + 64 * (size_t)b->n_ops;
    uint8_t *g = malloc(glen);
    nb_put32(g, (uint32_t)b->n_ops);
    for (int i = 0; i < b->n_ops; i++)
        for (int k = 0; k < 16; k++)
            nb_put32(g + 4 + 64 * i + 4 * k, b->ops[i].f[k]);
    uint8_t outs[8 * (8 + 32) + 4];
    size_t ol = 4;
    nb_put32(outs, (uint32_t)b->n_out);
    for (int k = 0; k < b->n_out; k++) {
        size_t nl = strlen(b->out_name[k]);
        nb_put32(outs + ol, (uint32_t)b->out_id[k]);
        nb_put32(outs + ol + 4, (uint32_t)nl);
        memset(outs + ol + 8, 0, (nl + 3) / 4 * 4);
        memcpy(outs + ol + 8, b->out_name[k], nl);
        ol += 8 + (nl + 3) / 4 * 4;
    }
    const char *meta = b->meta ? b->meta : "variant=test\n";
    size_t total = 64 + nb_section(NULL, "INFO", NULL, 44) + nb_section(NULL, "META", NULL, strlen(meta)) +
                   nb_section(NULL, "GRPH", NULL, glen) + nb_section(NULL, "OUTS", NULL, ol) +
                   nb_section(NULL, "WGHT", NULL, b->nw * 4);
    uint8_t *f = calloc(1, total);
    size_t p = 64;
    p += nb_section(f + p, "INFO", info, 44);
    p += nb_section(f + p, "META", meta, strlen(meta));
    p += nb_section(f + p, "GRPH", g, glen);
    p += nb_section(f + p, "OUTS", outs, ol);
    p += nb_section(f + p, "WGHT", b->w, b->nw * 4); /* little-endian host, as the runtime */
    memcpy(f, "ACNNMDL\0", 8);
    nb_put32(f + 8, 1);
    nb_put32(f + 12, 64);
    nb_put32(f + 16, (uint32_t)(total - 64));
    nb_put32(f + 20, 0);
    nb_fix_crc(f, total);
    free(g);
    *out = f;
    return total;
}

/* Offset of a section's data in a serialised file, or 0. */
static inline size_t nb_find(const uint8_t *f, size_t len, const char *tag)
{
    size_t p = 64;
    while (p + 16 <= len) {
        uint32_t l = (uint32_t)f[p + 4] | (uint32_t)f[p + 5] << 8 | (uint32_t)f[p + 6] << 16 |
                     (uint32_t)f[p + 7] << 24;
        if (!memcmp(f + p, tag, 4))
            return p + 16;
        p += 16 + (l + 15) / 16 * 16;
    }
    return 0;
}

static inline void nb_free(struct nb *b)
{
    free(b->w);
    b->w = NULL;
}

#endif
