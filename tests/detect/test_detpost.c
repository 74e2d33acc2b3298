/* Detector post-processing with hand-computed cases: layout parsing,
 * max-in-out scoring, box and landmark decoding, IoU and NMS, mapping a
 * face found in the mirrored input back, blending two boxes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detect/ac_detpost.h"

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static void near(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "%s: got %.6f, want %.6f\n", what, got, want);
        failures++;
    }
}

static void test_layout(void)
{
    struct ac_det_layout l;
    CHECK(ac_detpost_parse_layout("8:16,32;16:64,128;32:256", "3", "0.1,0.2", &l) == 0);
    CHECK(l.n_levels == 3);
    CHECK(l.level[0].stride == 8 && l.level[0].n_anchors == 2 && l.level[0].sizes[1] == 32);
    CHECK(l.level[2].stride == 32 && l.level[2].n_anchors == 1 && l.level[2].sizes[0] == 256);
    CHECK(l.maxout_bg == 3);
    near(l.variance[1], 0.2, 1e-7, "variance");
    /* level 0: (3+1) + 2 class logits + 2*14 = 34; level 2: 2 + 14 */
    CHECK(ac_detpost_head_channels(&l, 0) == 34);
    CHECK(ac_detpost_head_channels(&l, 1) == 32);
    CHECK(ac_detpost_head_channels(&l, 2) == 16);
    const char *bad_levels[] = {"", "8", "8:", "8:16,", "8:16;;", "x:16", "8:16 32", "0:16",
                                "8:16,32,48,64,80", "8:0.5"};
    for (size_t i = 0; i < sizeof bad_levels / sizeof *bad_levels; i++)
        CHECK(ac_detpost_parse_layout(bad_levels[i], "3", "0.1,0.2", &l) == -EINVAL);
    CHECK(ac_detpost_parse_layout("8:16", "0", "0.1,0.2", &l) == -EINVAL);
    CHECK(ac_detpost_parse_layout("8:16", "3", "0.1", &l) == -EINVAL);
    CHECK(ac_detpost_parse_layout("8:16", "3", "0.1,-2", &l) == -EINVAL);
    CHECK(ac_detpost_parse_layout(NULL, "3", "0.1,0.2", &l) == -EINVAL);
}

static void test_score(void)
{
    /* max-in-out: background = max(-1, 2, 0.5) = 2, face 2 -> 0.5 */
    float a[4] = {-1, 2, 0.5f, 2};
    near(ac_detpost_score(a, 4), 0.5, 1e-6, "maxout tie");
    /* face 2 + ln 3 against 2: sigmoid(ln 3) = 0.75 */
    a[3] = 2 + logf(3);
    near(ac_detpost_score(a, 4), 0.75, 1e-6, "maxout");
    float b[2] = {0, logf(9)};
    near(ac_detpost_score(b, 2), 0.9, 1e-6, "two-way");
}

static void test_decode(void)
{
    struct ac_det_layout l;
    CHECK(ac_detpost_parse_layout("8:16,32", "3", "0.1,0.2", &l) == 0);
    /* one row of two cells, 34 channels each */
    float head[2 * 34];
    memset(head, 0, sizeof head);
    for (int c = 0; c < 2; c++) {
        float *p = head + c * 34;
        p[3] = -10; /* anchor 16: background logits 0, face -10 -> ~0 */
        p[5] = -10; /* anchor 32: [bg 0, face -10] */
    }
    /* cell x=1 (centre 12,4), anchor 1 (size 32): face logit ln 4 -> 0.8 */
    float *p = head + 34;
    p[5] = logf(4);
    /* box deltas of anchor 1 at channels 6 + 4..7: dx 1 -> +3.2 px, dy -0.5 -> -1.6,
     * dw ln2/0.2 -> width 64, dh 0 -> 32 */
    p[10] = 1.0f;
    p[11] = -0.5f;
    p[12] = logf(2) / 0.2f;
    p[13] = 0;
    /* landmarks of anchor 1 at channels 14 + 10..19: point k = centre + (k, -k) * 3.2 */
    for (int k = 0; k < 5; k++) {
        p[24 + 2 * k] = (float)k;
        p[24 + 2 * k + 1] = (float)-k;
    }
    struct ac_face out[4];
    int n = ac_detpost_decode_level(&l, 0, head, 1, 2, 0.5f, out, 4);
    CHECK(n == 1);
    if (n == 1) {
        near(out[0].score, 0.8, 1e-6, "score");
        /* centre (12 + 3.2, 4 - 1.6) = (15.2, 2.4), size 64 x 32 */
        near(out[0].x0, 15.2 - 32, 1e-4, "x0");
        near(out[0].x1, 15.2 + 32, 1e-4, "x1");
        near(out[0].y0, 2.4 - 16, 1e-4, "y0");
        near(out[0].y1, 2.4 + 16, 1e-4, "y1");
        for (int k = 0; k < 5; k++) {
            near(out[0].lm[2 * k], 12 + 3.2 * k, 1e-4, "lm x");
            near(out[0].lm[2 * k + 1], 4 - 3.2 * k, 1e-4, "lm y");
        }
    }
    /* the max-in-out anchor: bg logits (0, 3, 0), face 3 + ln 9 -> 0.9 */
    head[1] = 3;
    head[3] = 3 + logf(9);
    n = ac_detpost_decode_level(&l, 0, head, 1, 2, 0.5f, out, 4);
    CHECK(n == 2);
    if (n == 2) {
        near(out[0].score, 0.9, 1e-6, "maxout score");
        near(out[0].x0, 4 - 8, 1e-4, "anchor 16 x0"); /* zero deltas: the anchor itself */
        near(out[0].y1, 4 + 8, 1e-4, "anchor 16 y1");
    }
    /* a buffer too small is reported, not overrun */
    CHECK(ac_detpost_decode_level(&l, 0, head, 1, 2, 0.5f, out, 1) == -E2BIG);
    /* threshold 0 keeps every anchor */
    CHECK(ac_detpost_decode_level(&l, 0, head, 1, 2, 0.0f, out, 4) == 4);
}

static struct ac_face box(float x0, float y0, float x1, float y1, float s)
{
    struct ac_face f;
    memset(&f, 0, sizeof f);
    f.x0 = x0;
    f.y0 = y0;
    f.x1 = x1;
    f.y1 = y1;
    f.score = s;
    return f;
}

static void test_nms(void)
{
    struct ac_face a = box(0, 0, 10, 10, 1), b = box(5, 0, 15, 10, 1);
    near(ac_detpost_iou(&a, &b), 50.0 / 150.0, 1e-6, "iou half overlap");
    struct ac_face c = box(20, 20, 30, 30, 1);
    near(ac_detpost_iou(&a, &c), 0, 0, "iou disjoint");
    near(ac_detpost_iou(&a, &a), 1, 1e-6, "iou self");

    /* A 0.9, B overlaps A by IoU 1/3 (0.8), C overlaps A by 0.81 (0.7),
     * D far away (0.95), E overlaps D by 0.5 (0.6) */
    struct ac_face f[5] = {
        box(0, 0, 10, 10, 0.9f),       /* A */
        box(0, 1, 10, 11, 0.7f),       /* C: IoU 90/110 = 0.818 with A */
        box(5, 0, 15, 10, 0.8f),       /* B: IoU 1/3 with A, 50/150 with... */
        box(100, 100, 120, 120, 0.95f),/* D */
        box(100, 110, 120, 130, 0.6f), /* E: IoU 200/600 = 1/3 with D */
    };
    struct ac_face g[5];
    memcpy(g, f, sizeof f);
    int n = ac_detpost_nms(g, 5, 0.4f, 10);
    /* kept in score order: D, A, B, E; C suppressed by A */
    CHECK(n == 4);
    if (n == 4) {
        CHECK(g[0].score == 0.95f && g[1].score == 0.9f && g[2].score == 0.8f &&
              g[3].score == 0.6f);
    }
    memcpy(g, f, sizeof f);
    n = ac_detpost_nms(g, 5, 0.3f, 10); /* 1/3 > 0.3: B and E go too */
    CHECK(n == 2 && g[0].score == 0.95f && g[1].score == 0.9f);
    memcpy(g, f, sizeof f);
    n = ac_detpost_nms(g, 5, 0.4f, 2); /* max_keep */
    CHECK(n == 2 && g[0].score == 0.95f && g[1].score == 0.9f);
    CHECK(ac_detpost_nms(g, 0, 0.4f, 2) == 0);

    /* sorting many: descending, nothing lost */
    struct ac_face many[200];
    for (int i = 0; i < 200; i++)
        many[i] = box((float)(i * 20), 0, (float)(i * 20 + 10), 10, (float)((i * 37) % 200) / 200.0f);
    n = ac_detpost_nms(many, 200, 0.4f, 200);
    CHECK(n == 200);
    for (int i = 1; i < n; i++)
        CHECK(many[i - 1].score >= many[i].score);
}

static void test_blend_box(void)
{
    struct ac_face net = {.x0 = 10, .y0 = 20, .x1 = 50, .y1 = 80, .score = 0.3f};
    struct ac_face f = {.x0 = 14, .y0 = 10, .x1 = 60, .y1 = 70, .score = 0.8f};
    f.lm[0] = 33;
    ac_detpost_blend_box(&f, &net, 0.5f);
    near(f.x0, 12, 0, "blend x0");
    near(f.y0, 15, 0, "blend y0");
    near(f.x1, 55, 0, "blend x1");
    near(f.y1, 75, 0, "blend y1");
    near(f.score, 0.8f, 0, "blend keeps score");
    near(f.lm[0], 33, 0, "blend keeps landmarks");
    ac_detpost_blend_box(&f, &net, 0.0f);
    near(f.x0, 10, 0, "blend 0: from's box");
    near(f.y1, 80, 0, "blend 0: from's box");
}

static void test_unmirror(void)
{
    /* in a 100 px wide input: box 10..30 x 5..25; left eye (14, 10), right
     * eye (26, 11), nose (20, 15), mouth left (15, 20), right (25, 21) */
    struct ac_face f = {10, 5, 30, 25, 0.9f, {14, 10, 26, 11, 20, 15, 15, 20, 25, 21}};
    ac_detpost_unmirror(&f, 100);
    /* x -> 100 - x; the mirrored left eye (86, 10) is now the right one */
    const float want[10] = {74, 11, 86, 10, 80, 15, 75, 21, 85, 20};
    near(f.x0, 70, 0, "unmirror x0");
    near(f.x1, 90, 0, "unmirror x1");
    near(f.y0, 5, 0, "unmirror y0");
    near(f.y1, 25, 0, "unmirror y1");
    near(f.score, 0.9f, 0, "unmirror score");
    for (int k = 0; k < 10; k++)
        near(f.lm[k], want[k], 0, "unmirror landmark");
}

int main(void)
{
    test_unmirror();
    test_blend_box();
    test_layout();
    test_score();
    test_decode();
    test_nms();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("detpost: ok\n");
    return 0;
}
