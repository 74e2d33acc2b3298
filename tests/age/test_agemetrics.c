/* Evaluation metrics and the labels CSV: a toy list whose figures were worked
 * out by hand, and malformed files that must be refused with a message
 * naming the problem. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "age/ac_agecsv.h"
#include "age/ac_agemetrics.h"

static int failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            failures++;                                                                \
        }                                                                              \
    } while (0)

static void near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-9) {
        fprintf(stderr, "%s: got %.9f, want %.9f\n", what, got, want);
        failures++;
    }
}

/* The toy list: quoted path with a comma, an extra column, CRLF endings,
 * a missing race and a trailing blank line. */
static const char toy_csv[] =
    "id,path,age,gender,race\r\n"
    "1,a.jpg,10,0,0\r\n"
    "2,\"b,1.jpg\",30,1,0\r\n"
    "3,c.jpg,70,0,1\r\n"
    "4,d.jpg,50,1,\r\n"
    "5,e.jpg,15.0,0,1\r\n"
    "\r\n";

struct fake { const char *path; double pred; };
static const struct fake fake_preds[] = {
    {"a.jpg", 12.0}, {"b,1.jpg", 27.5}, {"c.jpg", 60.0}, {"d.jpg", 50.5}, {"e.jpg", 15.0},
};

static double fake_predict(const char *path)
{
    for (size_t i = 0; i < sizeof fake_preds / sizeof fake_preds[0]; i++)
        if (!strcmp(fake_preds[i].path, path))
            return fake_preds[i].pred;
    fprintf(stderr, "no fake prediction for '%s'\n", path);
    failures++;
    return NAN;
}

static void test_toy(void)
{
    struct ac_agecsv csv;
    char err[256] = "";
    int rc = ac_agecsv_parse(toy_csv, sizeof toy_csv - 1, &csv, err, sizeof err);
    if (rc) {
        fprintf(stderr, "toy csv refused: %s\n", err);
        failures++;
        return;
    }
    CHECK(csv.n == 5);
    CHECK(csv.groups[AC_AGECSV_GENDER].present && csv.groups[AC_AGECSV_GENDER].n == 2);
    CHECK(csv.groups[AC_AGECSV_RACE].present && csv.groups[AC_AGECSV_RACE].n == 2);
    CHECK(csv.rows[3].group[AC_AGECSV_RACE] == -1);

    struct ac_agemetrics m;
    ac_agemetrics_init(&m);
    for (size_t i = 0; i < csv.n; i++)
        ac_agemetrics_add(&m, csv.rows[i].age, fake_predict(csv.rows[i].path), csv.rows[i].group);

    /* errors: a 2, b 2.5, c 10 (5 against 65), d 0.5, e 0 */
    CHECK(m.n == 5);
    near(ac_agemetrics_mae(&m), 15.0 / 5, "MAE");
    near(ac_agemetrics_mae_clip(&m), 10.0 / 5, "MAE65");
    near(ac_agemetrics_bias(&m), -10.0 / 5, "bias");
    static const double cs[16] = {0.2, 0.4, 0.6, 0.8, 0.8, 0.8, 0.8, 0.8,
                                  0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
    for (int j = 0; j <= AC_AGEMETRICS_CS_MAX; j++) {
        char what[16];
        snprintf(what, sizeof what, "CS(%d)", j);
        near(ac_agemetrics_cs(&m, j), cs[j], what);
    }
    static const double band_mae[5] = {2.0, 0.0, 2.5, 0.5, 10.0};
    for (int b = 0; b < AC_AGEMETRICS_BANDS; b++) {
        CHECK(m.band[b].n == 1);
        near(ac_agemetrics_cell_mae(&m.band[b]), band_mae[b], ac_agemetrics_band_names[b]);
    }
    const struct ac_agecsv_groups *g = &csv.groups[AC_AGECSV_GENDER];
    CHECK(!strcmp(g->label[0], "0") && !strcmp(g->label[1], "1"));
    near(ac_agemetrics_cell_mae(&m.group[AC_AGECSV_GENDER][0]), 12.0 / 3, "gender 0");
    near(ac_agemetrics_cell_mae(&m.group[AC_AGECSV_GENDER][1]), 3.0 / 2, "gender 1");
    near(ac_agemetrics_cell_mae(&m.group[AC_AGECSV_RACE][0]), 4.5 / 2, "race 0");
    near(ac_agemetrics_cell_mae(&m.group[AC_AGECSV_RACE][1]), 10.0 / 2, "race 1");
    CHECK(m.group[AC_AGECSV_RACE][0].n + m.group[AC_AGECSV_RACE][1].n == 4);
    ac_agecsv_free(&csv);
}

static void test_bands(void)
{
    CHECK(ac_agemetrics_band(0) == 0 && ac_agemetrics_band(12.9) == 0);
    CHECK(ac_agemetrics_band(13) == 1 && ac_agemetrics_band(19) == 1);
    CHECK(ac_agemetrics_band(20) == 2 && ac_agemetrics_band(39.5) == 2);
    CHECK(ac_agemetrics_band(40) == 3 && ac_agemetrics_band(64) == 3);
    CHECK(ac_agemetrics_band(65) == 4 && ac_agemetrics_band(116) == 4);
    struct ac_agemetrics m;
    ac_agemetrics_init(&m);
    CHECK(ac_agemetrics_mae(&m) == 0 && ac_agemetrics_cs(&m, 5) == 0);
}

/* Each malformed file must fail and its message must mention want. */
static void refuse(const char *text, const char *want)
{
    struct ac_agecsv csv;
    char err[256] = "";
    int rc = ac_agecsv_parse(text, strlen(text), &csv, err, sizeof err);
    if (rc == 0) {
        fprintf(stderr, "accepted malformed csv: %s\n", text);
        failures++;
        ac_agecsv_free(&csv);
        return;
    }
    if (!strstr(err, want)) {
        fprintf(stderr, "message '%s' does not mention '%s'\n", err, want);
        failures++;
    }
    CHECK(csv.rows == NULL && csv.text == NULL);
}

static void test_malformed(void)
{
    refuse("", "empty file");
    refuse("\n\r\n", "no header line");
    refuse("\"path,age\n", "line 1: bad quoting");
    refuse("path,gender\na.jpg,0\n", "lacks the 'age' column");
    refuse("age,race\n10,0\n", "lacks the 'path' column");
    refuse("path,age\n", "no data rows");
    refuse("path,age,path\na,1,b\n", "appears twice");
    refuse("path,age\na.jpg,ten\n", "line 2: bad age 'ten'");
    refuse("path,age\na.jpg,10\nb.jpg,-3\n", "line 3: bad age '-3'");
    refuse("path,age\na.jpg,151\n", "bad age '151'");
    refuse("path,age\na.jpg,1e2\n", "bad age");
    refuse("path,age\na.jpg,\n", "bad age ''");
    refuse("path,age\na.jpg,nan\n", "bad age");
    refuse("path,age,race\na.jpg,10\n", "line 2: 2 fields, the header needs at least 3");
    refuse("path,age\n\"a.jpg,10\n", "bad quoting");
    refuse("path,age\n,10\n", "line 2: empty path");
    /* a column used for grouping cannot have a label per row */
    char big[4096] = "path,age,race\n";
    for (int i = 0; i <= AC_AGECSV_MAX_GROUPS; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "f%d.jpg,20,r%d\n", i, i);
    refuse(big, "more than 32 distinct values");
}

static void test_load_missing(void)
{
    struct ac_agecsv csv;
    char err[256] = "";
    int rc = ac_agecsv_load("/nonexistent/agecam/labels.csv", &csv, err, sizeof err);
    CHECK(rc < 0);
    CHECK(strstr(err, "/nonexistent/agecam/labels.csv") != NULL);
}

int main(void)
{
    test_toy();
    test_bands();
    test_malformed();
    test_load_missing();
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("agemetrics: all checks passed\n");
    return failures ? 1 : 0;
}
