#include "detect/ac_detpost.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int parse_float(const char **s, float *v)
{
    char *end;
    double d = strtod(*s, &end);
    if (end == *s || !isfinite(d))
        return -EINVAL;
    *v = (float)d;
    *s = end;
    return 0;
}

static int parse_int(const char **s, int *v)
{
    char *end;
    long d = strtol(*s, &end, 10);
    if (end == *s || d < 1 || d > 4096)
        return -EINVAL;
    *v = (int)d;
    *s = end;
    return 0;
}

int ac_detpost_parse_layout(const char *levels, const char *maxout, const char *variance,
                            struct ac_det_layout *out)
{
    memset(out, 0, sizeof(*out));
    if (!levels || !maxout || !variance)
        return -EINVAL;
    const char *s = levels;
    while (*s) {
        if (out->n_levels == AC_DET_MAX_LEVELS)
            return -EINVAL;
        struct ac_det_level *lv = &out->level[out->n_levels++];
        if (parse_int(&s, &lv->stride) || *s++ != ':')
            return -EINVAL;
        for (;;) {
            if (lv->n_anchors == AC_DET_MAX_ANCHORS)
                return -EINVAL;
            float *sz = &lv->sizes[lv->n_anchors++];
            if (parse_float(&s, sz) || *sz < 1.0f || *sz > 8192.0f)
                return -EINVAL;
            if (*s != ',')
                break;
            s++;
        }
        if (*s == ';')
            s++;
        else if (*s)
            return -EINVAL;
    }
    if (out->n_levels == 0)
        return -EINVAL;
    s = maxout;
    if (parse_int(&s, &out->maxout_bg) || *s || out->maxout_bg > 16)
        return -EINVAL;
    s = variance;
    if (parse_float(&s, &out->variance[0]) || *s++ != ',' || parse_float(&s, &out->variance[1]) ||
        *s || out->variance[0] <= 0 || out->variance[1] <= 0)
        return -EINVAL;
    return 0;
}

static int cls_channels(const struct ac_det_layout *l, int li, int a)
{
    return li == 0 && a == 0 ? l->maxout_bg + 1 : 2;
}

int ac_detpost_head_channels(const struct ac_det_layout *l, int li)
{
    int n = 0;
    for (int a = 0; a < l->level[li].n_anchors; a++)
        n += cls_channels(l, li, a) + 14;
    return n;
}

float ac_detpost_score(const float *logits, int n_logits)
{
    float bg = logits[0];
    for (int i = 1; i < n_logits - 1; i++)
        bg = logits[i] > bg ? logits[i] : bg;
    return 1.0f / (1.0f + expf(bg - logits[n_logits - 1]));
}

int ac_detpost_decode_level(const struct ac_det_layout *l, int li, const float *head, int fh,
                            int fw, float score_thr, struct ac_face *out, int max_out)
{
    const struct ac_det_level *lv = &l->level[li];
    int na = lv->n_anchors, ch = ac_detpost_head_channels(l, li);
    int ncls = 0;
    for (int a = 0; a < na; a++)
        ncls += cls_channels(l, li, a);
    float v0 = l->variance[0], v1 = l->variance[1];
    int n = 0;
    for (int y = 0; y < fh; y++) {
        for (int x = 0; x < fw; x++) {
            const float *cell = head + ((size_t)y * fw + x) * ch;
            const float *cls = cell;
            for (int a = 0; a < na; a++) {
                int nc = cls_channels(l, li, a);
                float sc = ac_detpost_score(cls, nc);
                cls += nc;
                if (sc < score_thr)
                    continue;
                if (n == max_out)
                    return -E2BIG;
                const float *d = cell + ncls + 4 * a;
                const float *lm = cell + ncls + 4 * na + 10 * a;
                float s = lv->sizes[a];
                float acx = (x + 0.5f) * lv->stride, acy = (y + 0.5f) * lv->stride;
                float cx = acx + d[0] * v0 * s, cy = acy + d[1] * v0 * s;
                float w = s * expf(fminf(d[2] * v1, 10.0f)), h = s * expf(fminf(d[3] * v1, 10.0f));
                struct ac_face *f = &out[n++];
                f->x0 = cx - w / 2;
                f->y0 = cy - h / 2;
                f->x1 = cx + w / 2;
                f->y1 = cy + h / 2;
                f->score = sc;
                for (int k = 0; k < 5; k++) {
                    f->lm[2 * k] = acx + lm[2 * k] * v0 * s;
                    f->lm[2 * k + 1] = acy + lm[2 * k + 1] * v0 * s;
                }
            }
        }
    }
    return n;
}

void ac_detpost_blend_box(struct ac_face *f, const struct ac_face *from, float k)
{
    f->x0 = from->x0 + k * (f->x0 - from->x0);
    f->y0 = from->y0 + k * (f->y0 - from->y0);
    f->x1 = from->x1 + k * (f->x1 - from->x1);
    f->y1 = from->y1 + k * (f->y1 - from->y1);
}

void ac_detpost_unmirror(struct ac_face *f, float in_w)
{
    float x0 = in_w - f->x1;
    f->x1 = in_w - f->x0;
    f->x0 = x0;
    for (int k = 0; k < 5; k++)
        f->lm[2 * k] = in_w - f->lm[2 * k];
    /* points 0/1 (eyes) and 3/4 (mouth corners) trade places */
    static const int swap[2][2] = {{0, 1}, {3, 4}};
    for (int i = 0; i < 2; i++) {
        float *a = &f->lm[2 * swap[i][0]], *b = &f->lm[2 * swap[i][1]];
        for (int c = 0; c < 2; c++) {
            float t = a[c];
            a[c] = b[c];
            b[c] = t;
        }
    }
}

float ac_detpost_iou(const struct ac_face *a, const struct ac_face *b)
{
    float iw = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float ih = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (iw <= 0 || ih <= 0)
        return 0.0f;
    float inter = iw * ih;
    float ua = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return ua > 0 ? inter / ua : 0.0f;
}

/* "a ranks before b": higher score first; ties by position so the order
 * does not depend on the sort algorithm. */
static int before(const struct ac_face *a, const struct ac_face *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->y0 != b->y0)
        return a->y0 < b->y0;
    return a->x0 < b->x0;
}

static void sift_down(struct ac_face *f, int root, int n)
{
    for (;;) {
        int c = 2 * root + 1;
        if (c >= n)
            return;
        /* max-heap of "ranks last" so that popping builds the order in place */
        if (c + 1 < n && before(&f[c], &f[c + 1]))
            c++;
        if (!before(&f[root], &f[c]))
            return;
        struct ac_face t = f[root];
        f[root] = f[c];
        f[c] = t;
        root = c;
    }
}

/* Heap sort: O(n log n) with no scratch memory (qsort may allocate). */
static void sort_by_score(struct ac_face *f, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(f, i, n);
    for (int end = n - 1; end > 0; end--) {
        struct ac_face t = f[0];
        f[0] = f[end];
        f[end] = t;
        sift_down(f, 0, end);
    }
}

int ac_detpost_nms(struct ac_face *faces, int n, float iou_thr, int max_keep)
{
    sort_by_score(faces, n);
    int kept = 0;
    for (int i = 0; i < n && kept < max_keep; i++) {
        int ok = 1;
        for (int k = 0; k < kept; k++) {
            if (ac_detpost_iou(&faces[k], &faces[i]) > iou_thr) {
                ok = 0;
                break;
            }
        }
        if (ok)
            faces[kept++] = faces[i];
    }
    return kept;
}
