/* Labelled face lists for evaluation: a CSV with a header naming at least
 * "path" and "age" columns, optionally "gender" and "race" (any other
 * columns are ignored). Group columns hold free-form labels; each distinct
 * label becomes a small integer id so metrics can be split by it. The same
 * rules are implemented by train/eval_age.py. */
#ifndef AC_AGECSV_H
#define AC_AGECSV_H

#include <stddef.h>

#define AC_AGECSV_MAX_GROUPS 32 /* distinct labels per group column */
#define AC_AGECSV_MAX_AGE 150.0
#define AC_AGECSV_MAX_BYTES (256u << 20)

enum { AC_AGECSV_GENDER, AC_AGECSV_RACE, AC_AGECSV_NGROUPCOLS };

struct ac_agecsv_row {
    const char *path;                  /* as written; relative to the caller's root */
    double age;                        /* true age in years, 0..AC_AGECSV_MAX_AGE */
    int group[AC_AGECSV_NGROUPCOLS];   /* label id, or -1 when the column is absent/empty */
};

struct ac_agecsv_groups {
    int present;                       /* the header has this column */
    int n;
    const char *label[AC_AGECSV_MAX_GROUPS]; /* sorted by strcmp, ids index this */
};

struct ac_agecsv {
    struct ac_agecsv_row *rows;
    size_t n;
    struct ac_agecsv_groups groups[AC_AGECSV_NGROUPCOLS];
    char *text; /* owned copy of the file; row strings point into it */
};

extern const char *const ac_agecsv_group_names[AC_AGECSV_NGROUPCOLS]; /* "gender", "race" */

/* Both return 0 or -errno and, on error, a message naming the line and
 * column in err. text need not be NUL-terminated; it is copied. */
int ac_agecsv_parse(const char *text, size_t len, struct ac_agecsv *csv, char *err, size_t errlen);
int ac_agecsv_load(const char *path, struct ac_agecsv *csv, char *err, size_t errlen);
/* The same rules with another column in the role of "age" (e.g. "pred" for
 * a file of predictions written by agecam eval --predictions). */
int ac_agecsv_load_column(const char *path, const char *value_col, struct ac_agecsv *csv, char *err,
                          size_t errlen);
void ac_agecsv_free(struct ac_agecsv *csv);

#endif
