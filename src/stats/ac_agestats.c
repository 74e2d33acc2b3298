/* Visit store and window reports. Reports scan all visits per window, which
 * is plenty fast for a shop's daily footfall and keeps the store trivial. */
#include "stats/ac_agestats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ac_agestats {
    struct ac_bands bands;
    struct ac_visit *v;
    size_t n, cap;
    uint64_t *keys; /* open-addressing hash set of visit keys, 0 = empty */
    size_t key_cap;
    uint64_t band_total[AC_MAX_BANDS];
    float *scratch; /* ages for medians */
};

int ac_bands_parse(struct ac_bands *b, const char *spec)
{
    memset(b, 0, sizeof(*b));
    const char *p = spec;
    while (*p) {
        if (b->n == AC_MAX_BANDS)
            return -E2BIG;
        char *end;
        double lo = strtod(p, &end), hi;
        if (end == p || lo < 0)
            return -EINVAL;
        int open = 0;
        if (*end == '+') {
            open = 1;
            end++;
            hi = INFINITY;
        } else if (*end == '-') {
            const char *q = end + 1;
            hi = strtod(q, &end);
            if (end == q || hi < lo)
                return -EINVAL;
        } else {
            return -EINVAL;
        }
        if (*end && *end != ',')
            return -EINVAL;
        /* Contiguous integer-year bands: "13-17" ends where the next starts. */
        if (b->n > 0 && (float)lo != b->lo[b->n] )
            return -EINVAL;
        if (b->n > 0 && isinf(b->lo[b->n]))
            return -EINVAL; /* nothing may follow an open band */
        b->lo[b->n] = (float)lo;
        int len = (int)(end - p);
        if (len >= (int)sizeof(b->label[0]))
            return -EINVAL;
        memcpy(b->label[b->n], p, (size_t)len);
        b->n++;
        if (b->n < AC_MAX_BANDS)
            b->lo[b->n] = open ? INFINITY : (float)(hi + 1);
        p = *end ? end + 1 : end;
        if (open && *p)
            return -EINVAL;
    }
    return b->n ? 0 : -EINVAL;
}

int ac_bands_index(const struct ac_bands *b, float age)
{
    int i = 0;
    while (i + 1 < b->n && age >= b->lo[i + 1])
        i++;
    return i;
}

int ac_agestats_create(struct ac_agestats **out, const struct ac_bands *bands)
{
    struct ac_agestats *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->bands = *bands;
    a->key_cap = 1024;
    a->keys = calloc(a->key_cap, sizeof(*a->keys));
    if (!a->keys) {
        ac_agestats_destroy(a);
        return -ENOMEM;
    }
    *out = a;
    return 0;
}

void ac_agestats_destroy(struct ac_agestats *a)
{
    if (!a)
        return;
    free(a->v);
    free(a->keys);
    free(a->scratch);
    free(a);
}

static uint64_t visit_key(const struct ac_visit *v)
{
    uint64_t k = v->instance * 0x9e3779b97f4a7c15ULL ^ (v->track + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL ^
                 ((uint64_t)v->camera << 48);
    k ^= k >> 31;
    return k ? k : 1;
}

/* 1 inserted, 0 present. The set holds 64-bit digests of (instance, track,
 * camera); a collision would merge two visitors, at odds of 2^-64 per pair. */
static int key_insert(uint64_t *keys, size_t cap, uint64_t k)
{
    for (size_t i = k & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (keys[i] == k)
            return 0;
        if (!keys[i]) {
            keys[i] = k;
            return 1;
        }
    }
}

int ac_agestats_add(struct ac_agestats *a, const struct ac_visit *v)
{
    if ((a->n + 1) * 2 > a->key_cap) {
        size_t ncap = a->key_cap * 2;
        uint64_t *nk = calloc(ncap, sizeof(*nk));
        if (!nk)
            return -ENOMEM;
        for (size_t i = 0; i < a->key_cap; i++)
            if (a->keys[i])
                key_insert(nk, ncap, a->keys[i]);
        free(a->keys);
        a->keys = nk;
        a->key_cap = ncap;
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 256;
        struct ac_visit *nv = realloc(a->v, ncap * sizeof(*nv));
        float *ns = realloc(a->scratch, ncap * sizeof(*ns));
        if (nv)
            a->v = nv;
        if (ns)
            a->scratch = ns;
        if (!nv || !ns)
            return -ENOMEM;
        a->cap = ncap;
    }
    if (!key_insert(a->keys, a->key_cap, visit_key(v)))
        return 0;
    a->v[a->n++] = *v;
    a->band_total[ac_bands_index(&a->bands, v->age)]++;
    return 1;
}

uint64_t ac_agestats_count(const struct ac_agestats *a)
{
    return a->n;
}

uint64_t ac_agestats_band_total(const struct ac_agestats *a, int band)
{
    return band >= 0 && band < a->bands.n ? a->band_total[band] : 0;
}

const struct ac_bands *ac_agestats_bands(const struct ac_agestats *a)
{
    return &a->bands;
}

int ac_parse_duration(const char *s, int64_t *seconds)
{
    char *end;
    double v = strtod(s, &end);
    double mul = 1;
    if (end == s || v < 0)
        return -EINVAL;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || v * mul > 1e9)
        return -EINVAL;
    *seconds = (int64_t)llround(v * mul);
    return 0;
}

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

struct cell {
    uint64_t n;
    double age_sum, dwell_sum, median;
};

/* Statistics of visits that arrived in [t0, t1) and fall in `band` (-1 = all). */
static struct cell compute(const struct ac_agestats *a, int64_t t0, int64_t t1, int band)
{
    struct cell c = {0};
    for (size_t i = 0; i < a->n; i++) {
        const struct ac_visit *v = &a->v[i];
        int64_t s = v->first_ns / 1000000000;
        if (s < t0 || s >= t1 || (band >= 0 && ac_bands_index(&a->bands, v->age) != band))
            continue;
        a->scratch[c.n++] = v->age;
        c.age_sum += v->age;
        c.dwell_sum += (double)(v->last_ns - v->first_ns) * 1e-9;
    }
    if (c.n) {
        qsort(a->scratch, c.n, sizeof(float), cmp_float);
        c.median = c.n % 2 ? a->scratch[c.n / 2]
                           : 0.5 * ((double)a->scratch[c.n / 2 - 1] + (double)a->scratch[c.n / 2]);
    }
    return c;
}

static void fmt_utc(char *buf, size_t n, int64_t s)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_cell(FILE *f, enum ac_report_format fmt, const char *label, const struct cell *c)
{
    double mean = c->n ? c->age_sum / (double)c->n : 0, dwell = c->n ? c->dwell_sum / (double)c->n : 0;
    switch (fmt) {
    case AC_REPORT_TABLE:
        if (c->n)
            fprintf(f, "  %-8s %8llu %8.1f %8.1f %10.1f\n", label, (unsigned long long)c->n, mean,
                    c->median, dwell);
        else
            fprintf(f, "  %-8s %8u %8s %8s %10s\n", label, 0u, "-", "-", "-");
        break;
    case AC_REPORT_CSV:
        if (c->n)
            fprintf(f, "%s,%llu,%.2f,%.2f,%.1f\n", label, (unsigned long long)c->n, mean, c->median, dwell);
        else
            fprintf(f, "%s,0,,,\n", label);
        break;
    case AC_REPORT_JSON:
        fprintf(f, "{\"band\":\"%s\",\"visitors\":%llu", label, (unsigned long long)c->n);
        if (c->n)
            fprintf(f, ",\"mean_age\":%.2f,\"median_age\":%.2f,\"mean_dwell_s\":%.1f}", mean, c->median, dwell);
        else
            fprintf(f, ",\"mean_age\":null,\"median_age\":null,\"mean_dwell_s\":null}");
        break;
    }
}

int ac_agestats_report(const struct ac_agestats *a, const struct ac_report_settings *rs, FILE *f)
{
    const struct ac_bands *b = &a->bands;
    int first = 1;
    if (rs->format == AC_REPORT_JSON)
        fprintf(f, "{\"visitors_total\":%llu,\"windows\":[", (unsigned long long)a->n);
    for (int w = 0; w < rs->nwindows; w++) {
        int64_t len = rs->window_s[w];
        int64_t cur = rs->now_s - ((rs->now_s % len) + len) % len;
        for (int k = rs->last - 1; k >= 0; k--) {
            int64_t t0 = cur - k * len, t1 = t0 + len;
            char s0[32], s1[32], prefix[96];
            fmt_utc(s0, sizeof(s0), t0);
            fmt_utc(s1, sizeof(s1), t1);
            struct cell all = compute(a, t0, t1, -1);
            switch (rs->format) {
            case AC_REPORT_TABLE:
                fprintf(f, "window %llds %s .. %s: %llu visitors\n", (long long)len, s0, s1,
                        (unsigned long long)all.n);
                fprintf(f, "  %-8s %8s %8s %8s %10s\n", "band", "visitors", "mean", "median", "dwell_s");
                break;
            case AC_REPORT_CSV:
                if (first)
                    fprintf(f, "window_s,start,end,band,visitors,mean_age,median_age,mean_dwell_s\n");
                break;
            case AC_REPORT_JSON:
                fprintf(f, "%s{\"length_s\":%lld,\"start\":\"%s\",\"end\":\"%s\",\"start_s\":%lld,\"bands\":[",
                        first ? "" : ",", (long long)len, s0, s1, (long long)t0);
                break;
            }
            snprintf(prefix, sizeof(prefix), "%lld,%s,%s,", (long long)len, s0, s1);
            for (int i = 0; i <= b->n; i++) {
                struct cell c = i < b->n ? compute(a, t0, t1, i) : all;
                const char *label = i < b->n ? b->label[i] : "all";
                if (rs->format == AC_REPORT_CSV)
                    fputs(prefix, f);
                if (rs->format == AC_REPORT_JSON && i)
                    fputc(',', f);
                print_cell(f, rs->format, label, &c);
            }
            if (rs->format == AC_REPORT_JSON)
                fputs("]}", f);
            first = 0;
        }
    }
    if (rs->format == AC_REPORT_JSON)
        fputs("]}\n", f);
    return ferror(f) ? -EIO : 0;
}
