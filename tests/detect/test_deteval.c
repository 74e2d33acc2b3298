/* eval-det's labels reader and size-bucket AP on a tiny hand-made set whose
 * APs were worked out by hand (comments below), plus malformed labels. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/ac_deteval.h"

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static void near(double got, double want, const char *what)
{
    if (!(fabs(got - want) <= 1e-9)) {
        fprintf(stderr, "%s: got %.9f, want %.9f\n", what, got, want);
        failures++;
    }
}

static char tmpl[64];

static const char *write_file(const char *text)
{
    snprintf(tmpl, sizeof tmpl, "/tmp/agecam-deteval-XXXXXX");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        perror("write");
        exit(1);
    }
    close(fd);
    return tmpl;
}

/* Image a: g1 70 px (>=64), g2 40 px (32-64), g3 10 px (ignored everywhere).
 * Image b: g4 20 px, g7 25 px (16-32), g5 100 px, g6 70 px (>=64, missed). */
static const char *LABELS =
    "# a.jpg 400 400\n"
    "10 10 70 70 30 30 60 30 45 45 35 60 55 60\n"
    "100 10 40 40\n"
    "200 10 10 10 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n"
    "\n"
    "# b.jpg 500 500\r\n"
    "0 0 20 20\r\n"
    "50 50 100 100\n"
    "200 200 70 70\n"
    "400 400 25 25\n";

static struct ac_face det(float x0, float y0, float x1, float y1, float s)
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

static void test_ap(void)
{
    char err[256];
    struct ac_deteval_labels l;
    const char *path = write_file(LABELS);
    int rc = ac_deteval_labels_load(path, &l, err, sizeof err);
    unlink(path);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(l.n == 2 && l.img[0].n == 3 && l.img[1].n == 4);
    CHECK(!strcmp(l.img[1].path, "b.jpg") && l.img[1].w == 500 && l.img[1].h == 500);
    CHECK(l.img[1].box[4 * 3 + 0] == 400 && l.img[1].box[4 * 3 + 3] == 25);

    struct ac_face da[] = {
        det(10, 10, 80, 80, 0.9f),     /* d1 = g1: TP >=64; ignored elsewhere */
        det(100, 10, 140, 50, 0.8f),   /* d2 = g2: TP 32-64 */
        det(300, 300, 350, 350, 0.85f),/* d3: 50 px, no face: FP in 32-64 only */
        det(200, 10, 210, 20, 0.6f),   /* d4 = g3 (10 px): ignored */
        det(12, 12, 80, 80, 0.5f),     /* d5: duplicate of g1 (IoU .944): FP >=64 */
    };
    struct ac_face db[] = {
        det(50, 50, 150, 150, 0.95f),  /* d6 = g5: TP >=64 */
        det(0, 0, 20, 20, 0.4f),       /* d7 = g4: TP 16-32 */
        det(300, 300, 320, 320, 0.3f), /* d8: 20 px, no face: FP 16-32 */
        det(400, 400, 425, 425, 0.2f), /* d9 = g7: TP 16-32 */
    };
    struct ac_deteval e;
    ac_deteval_init(&e);
    CHECK(ac_deteval_add(&e, da, 5, &l.img[0]) == 0);
    CHECK(ac_deteval_add(&e, db, 4, &l.img[1]) == 0);
    CHECK(e.b[0].npos == 3 && e.b[1].npos == 1 && e.b[2].npos == 2);
    /* >=64: d6 TP (r 1/3, p 1), d1 TP (2/3, 1), d5 FP (2/3, 2/3): AP 2/3 */
    near(ac_deteval_ap(&e, 0), 2.0 / 3.0, ">=64");
    /* 32-64: d3 FP then d2 TP: recall 1 at precision 1/2: AP 1/2 */
    near(ac_deteval_ap(&e, 1), 0.5, "32-64");
    /* 16-32: d7 TP (1/2, 1), d8 FP (1/2, 1/2), d9 TP (1, 2/3):
     * interpolated 1/2 * 1 + 1/2 * 2/3 = 5/6 */
    near(ac_deteval_ap(&e, 2), 5.0 / 6.0, "16-32");
    ac_deteval_free(&e);

    /* no detections: AP 0; a bucket with no faces: NaN */
    ac_deteval_init(&e);
    CHECK(ac_deteval_add(&e, NULL, 0, &l.img[0]) == 0);
    near(ac_deteval_ap(&e, 0), 0.0, "empty >=64");
    CHECK(isnan(ac_deteval_ap(&e, 2)));
    ac_deteval_free(&e);
    ac_deteval_labels_free(&l);
}

static void test_bad_labels(void)
{
    const char *bad[] = {
        "10 10 20 20\n",                       /* face before image */
        "# a.jpg 100\n",                       /* missing height */
        "# a.jpg 100 100 extra\n",             /* trailing junk */
        "# a.jpg 0 100\n",                     /* zero width */
        "# a.jpg 100 100\n10 10 20\n",         /* 3 numbers */
        "# a.jpg 100 100\n10 10 20 20 1 2\n",  /* 6 numbers */
        "# a.jpg 100 100\n10 10 -5 20\n",      /* negative size */
        "# a.jpg 100 100\n10 10 20 20 x\n",    /* junk */
        "# a.jpg 100 100\n1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n", /* 15 numbers */
        "# a.jpg 100 100\n10 10 nan 20\n",     /* not finite */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "";
        struct ac_deteval_labels l;
        const char *path = write_file(bad[i]);
        int rc = ac_deteval_labels_load(path, &l, err, sizeof err);
        unlink(path);
        if (rc != -EINVAL || !strstr(err, ":")) {
            fprintf(stderr, "bad labels case %zu accepted (rc %d, err '%s')\n", i, rc, err);
            failures++;
        }
        CHECK(l.n == 0 && l.img == NULL);
    }
    char err[256];
    struct ac_deteval_labels l;
    CHECK(ac_deteval_labels_load("/nonexistent/labels.txt", &l, err, sizeof err) == -ENOENT);
}

int main(void)
{
    test_ap();
    test_bad_labels();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("deteval: ok\n");
    return 0;
}
