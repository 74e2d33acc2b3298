#include "detect/ac_deteval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

void ac_deteval_labels_free(struct ac_deteval_labels *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->img[i].path);
        free(l->img[i].box);
    }
    free(l->img);
    l->img = NULL;
    l->n = 0;
}

static int bad(char *err, size_t errlen, const char *path, int line, const char *why)
{
    snprintf(err, errlen, "%s:%d: %s", path, line, why);
    return -EINVAL;
}

int ac_deteval_labels_load(const char *path, struct ac_deteval_labels *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    char line[1024];
    int lineno = 0, cap = 0, rc = 0, boxcap = 0;
    struct ac_deteval_image *cur = NULL;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            rc = bad(err, errlen, path, lineno, "line too long");
            goto done;
        }
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\n' || *s == '\r' || !*s)
            continue;
        if (*s == '#') {
            char name[512];
            int w, h, used = 0;
            if (sscanf(s + 1, " %511s %d %d %n", name, &w, &h, &used) != 3 || s[1 + used] ||
                w < 1 || h < 1 || w > 65536 || h > 65536) {
                rc = bad(err, errlen, path, lineno, "expected '# <path> <width> <height>'");
                goto done;
            }
            if (grow((void **)&out->img, &cap, out->n + 1, sizeof(*out->img))) {
                rc = -ENOMEM;
                goto done;
            }
            cur = &out->img[out->n++];
            memset(cur, 0, sizeof(*cur));
            cur->path = strdup(name);
            cur->w = w;
            cur->h = h;
            boxcap = 0;
            if (!cur->path) {
                rc = -ENOMEM;
                goto done;
            }
            continue;
        }
        if (!cur) {
            rc = bad(err, errlen, path, lineno, "face line before the first '#' image line");
            goto done;
        }
        float v[14];
        int nv = 0;
        char *end;
        while (nv < 15) {
            double d = strtod(s, &end);
            if (end == s)
                break;
            if (nv == 14 || !isfinite(d)) {
                nv = -1;
                break;
            }
            v[nv++] = (float)d;
            s = end;
        }
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        if ((nv != 4 && nv != 14) || *s || v[2] <= 0 || v[3] <= 0) {
            rc = bad(err, errlen, path, lineno, "expected 'x y w h' (+10 landmark values), w, h > 0");
            goto done;
        }
        if (grow((void **)&cur->box, &boxcap, 4 * (cur->n + 1), sizeof(float))) {
            rc = -ENOMEM;
            goto done;
        }
        memcpy(cur->box + 4 * cur->n, v, 4 * sizeof(float));
        cur->n++;
    }
    if (ferror(f)) {
        rc = -EIO;
        snprintf(err, errlen, "%s: read error", path);
    }
done:
    fclose(f);
    if (rc)
        ac_deteval_labels_free(out);
    return rc;
}

void ac_deteval_init(struct ac_deteval *e)
{
    static const struct {
        float lo, hi;
        const char *name;
    } def[AC_DETEVAL_BUCKETS] = {{64, 1e9f, ">=64"}, {32, 64, "32-64"}, {16, 32, "16-32"}};
    memset(e, 0, sizeof(*e));
    for (int i = 0; i < AC_DETEVAL_BUCKETS; i++) {
        e->b[i].lo = def[i].lo;
        e->b[i].hi = def[i].hi;
        e->b[i].name = def[i].name;
    }
}

void ac_deteval_free(struct ac_deteval *e)
{
    for (int i = 0; i < AC_DETEVAL_BUCKETS; i++)
        free(e->b[i].rec);
    free(e->used);
    memset(e, 0, sizeof(*e));
}

static float gt_iou(const struct ac_face *d, const float *g)
{
    struct ac_face t = {.x0 = g[0], .y0 = g[1], .x1 = g[0] + g[2], .y1 = g[1] + g[3]};
    return ac_detpost_iou(d, &t);
}

static int cmp_rec(const void *a, const void *b)
{
    const struct ac_deteval_rec *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int ac_deteval_add(struct ac_deteval *e, const struct ac_face *det, int n_det,
                   const struct ac_deteval_image *gt)
{
    if (grow((void **)&e->used, &e->used_cap, gt->n + 1, 1))
        return -ENOMEM;
    /* detections in score order; ties keep input order (a small index sort) */
    int *order = malloc(sizeof(int) * (size_t)(n_det + 1));
    if (!order)
        return -ENOMEM;
    for (int i = 0; i < n_det; i++) {
        int j = i;
        while (j > 0 && det[order[j - 1]].score < det[i].score) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    int rc = 0;
    for (int bi = 0; bi < AC_DETEVAL_BUCKETS && !rc; bi++) {
        struct ac_deteval_bucket *b = &e->b[bi];
        memset(e->used, 0, (size_t)gt->n);
        for (int g = 0; g < gt->n; g++) {
            float s = fmaxf(gt->box[4 * g + 2], gt->box[4 * g + 3]);
            b->npos += s >= b->lo && s < b->hi;
        }
        for (int k = 0; k < n_det; k++) {
            const struct ac_face *d = &det[order[k]];
            int best = -1, ign = 0;
            float best_iou = -1;
            for (int g = 0; g < gt->n; g++) {
                float iou = gt_iou(d, gt->box + 4 * g);
                float s = fmaxf(gt->box[4 * g + 2], gt->box[4 * g + 3]);
                int in = s >= b->lo && s < b->hi;
                if (in && !e->used[g] && iou > best_iou) {
                    best_iou = iou;
                    best = g;
                }
                if (!in && iou >= 0.5f)
                    ign = 1;
            }
            int tp;
            if (best >= 0 && best_iou >= 0.5f) {
                e->used[best] = 1;
                tp = 1;
            } else if (ign) {
                continue;
            } else {
                float ds = fmaxf(d->x1 - d->x0, d->y1 - d->y0);
                if (!(ds >= b->lo && ds < b->hi))
                    continue;
                tp = 0;
            }
            if (grow((void **)&b->rec, &b->cap, b->n + 1, sizeof(*b->rec))) {
                rc = -ENOMEM;
                break;
            }
            b->rec[b->n].score = d->score;
            b->rec[b->n].tp = tp;
            b->rec[b->n].seq = b->n;
            b->n++;
        }
    }
    free(order);
    return rc;
}

double ac_deteval_ap(const struct ac_deteval *e, int i)
{
    const struct ac_deteval_bucket *b = &e->b[i];
    if (b->npos == 0)
        return NAN;
    /* sort a copy-free view: records are only appended, sorting in place is fine */
    if (b->n > 0) /* no detections at all: rec is NULL, which qsort may not get */
        qsort(b->rec, (size_t)b->n, sizeof(*b->rec), cmp_rec);
    /* all-point interpolation: walk from the end keeping the running max precision */
    double ap = 0, tp = 0, fp = 0;
    double *prec = malloc(sizeof(double) * (size_t)(b->n + 1));
    double *rec = malloc(sizeof(double) * (size_t)(b->n + 1));
    if (!prec || !rec) {
        free(prec);
        free(rec);
        return NAN;
    }
    for (int k = 0; k < b->n; k++) {
        tp += b->rec[k].tp;
        fp += !b->rec[k].tp;
        rec[k] = tp / b->npos;
        prec[k] = tp / (tp + fp);
    }
    double maxp = 0;
    for (int k = b->n - 1; k >= 0; k--) {
        maxp = prec[k] > maxp ? prec[k] : maxp;
        prec[k] = maxp;
    }
    double last_r = 0;
    for (int k = 0; k < b->n; k++) {
        ap += (rec[k] - last_r) * prec[k];
        last_r = rec[k];
    }
    free(prec);
    free(rec);
    return ap;
}
