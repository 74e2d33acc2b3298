#include "age/ac_agecsv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ac_agecsv_group_names[AC_AGECSV_NGROUPCOLS] = {"gender", "race"};

#define MAX_FIELDS 256

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Splits one record starting at *pos into NUL-terminated fields, unquoting
 * in place (RFC 4180 quoting; unquoting only ever shrinks the text). Returns
 * the field count, 0 for a blank line, -1 on a quoting error. *line counts
 * physical lines, so quoted newlines keep error messages accurate. */
static int split_record(char *buf, size_t len, size_t *pos, char **fields, int *line)
{
    size_t i = *pos;
    if (i < len && (buf[i] == '\n' || buf[i] == '\r')) {
        if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
            i++;
        *pos = i + 1;
        (*line)++;
        return 0;
    }
    int nf = 0;
    for (;;) {
        char *out = buf + i;
        if (nf == MAX_FIELDS)
            return -1;
        fields[nf++] = out;
        if (i < len && buf[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    return -1; /* unterminated quote */
                if (buf[i] == '"') {
                    if (i + 1 < len && buf[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (buf[i] == '\n')
                    (*line)++;
                *out++ = buf[i++];
            }
            if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
                return -1; /* text after a closing quote */
        } else {
            while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
                if (buf[i] == '"')
                    return -1;
                *out++ = buf[i++];
            }
        }
        char sep = i < len ? buf[i] : '\n';
        *out = '\0'; /* may overwrite sep, which is already saved */
        if (sep == ',') {
            i++;
            continue;
        }
        if (sep == '\r' && i + 1 < len && buf[i + 1] == '\n')
            i++;
        *pos = i < len ? i + 1 : len;
        (*line)++;
        return nf;
    }
}

static char *strip(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Digits with an optional fraction: the only spelling of an age accepted,
 * so C and Python cannot disagree about exotic number syntax. */
static int parse_age(const char *s, double *age)
{
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (!digits)
        return -1;
    if (*p == '.') {
        p++;
        int frac = 0;
        while (*p >= '0' && *p <= '9')
            p++, frac++;
        if (!frac)
            return -1;
    }
    if (*p)
        return -1;
    *age = strtod(s, NULL);
    return *age <= AC_AGECSV_MAX_AGE ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Records the label (if new) and returns 0, or -1 when the column has too
 * many distinct labels to be a grouping. */
static int note_label(struct ac_agecsv_groups *g, const char *label)
{
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->label[i], label))
            return 0;
    if (g->n == AC_AGECSV_MAX_GROUPS)
        return -1;
    g->label[g->n++] = label;
    return 0;
}

static int label_id(const struct ac_agecsv_groups *g, const char *label)
{
    const char **hit = bsearch(&label, g->label, (size_t)g->n, sizeof g->label[0], cmp_str);
    return hit ? (int)(hit - g->label) : -1;
}

static int parse_csv(const char *text, size_t len, const char *value_col, struct ac_agecsv *csv,
                     char *err, size_t errlen)
{
    memset(csv, 0, sizeof *csv);
    if (len > AC_AGECSV_MAX_BYTES) {
        set_err(err, errlen, "file larger than %u bytes", AC_AGECSV_MAX_BYTES);
        return -E2BIG;
    }
    /* group labels are kept as strings until all rows are read, then sorted
     * and turned into ids */
    const char **labels = NULL;
    char *fields[MAX_FIELDS];
    int rc = -EINVAL, line = 1;
    csv->text = malloc(len + 1);
    if (!csv->text) {
        rc = -ENOMEM;
        goto fail;
    }
    memcpy(csv->text, text, len);
    csv->text[len] = '\0';
    size_t pos = 0;
    if (len >= 3 && !memcmp(csv->text, "\xef\xbb\xbf", 3))
        pos = 3;
    if (pos == len) {
        set_err(err, errlen, "empty file");
        goto fail;
    }

    int nf, hdr_line;
    do {
        hdr_line = line;
        nf = split_record(csv->text, len, &pos, fields, &line);
    } while (nf == 0 && pos < len);
    if (nf < 0) {
        set_err(err, errlen, "line %d: bad quoting or more than %d fields", hdr_line, MAX_FIELDS);
        goto fail;
    }
    if (nf == 0) {
        set_err(err, errlen, "no header line");
        goto fail;
    }
    int col_path = -1, col_age = -1, col_group[AC_AGECSV_NGROUPCOLS] = {-1, -1};
    int need = 0;
    for (int i = 0; i < nf; i++) {
        const char *name = strip(fields[i]);
        int *col = !strcmp(name, "path") ? &col_path : !strcmp(name, value_col) ? &col_age : NULL;
        for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++)
            if (!strcmp(name, ac_agecsv_group_names[g]))
                col = &col_group[g];
        if (col && *col >= 0) {
            set_err(err, errlen, "line %d: column '%s' appears twice", hdr_line, name);
            goto fail;
        }
        if (col)
            *col = i;
    }
    if (col_path < 0 || col_age < 0) {
        set_err(err, errlen, "line %d: header lacks the '%s' column", hdr_line,
                col_path < 0 ? "path" : value_col);
        goto fail;
    }
    need = (col_path > col_age ? col_path : col_age) + 1;
    for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++) {
        csv->groups[g].present = col_group[g] >= 0;
        if (col_group[g] + 1 > need)
            need = col_group[g] + 1;
    }

    size_t cap = 0;
    while (pos < len) {
        int rec_line = line;
        nf = split_record(csv->text, len, &pos, fields, &line);
        if (nf == 0)
            continue;
        if (nf < 0) {
            set_err(err, errlen, "line %d: bad quoting or more than %d fields", rec_line, MAX_FIELDS);
            goto fail;
        }
        if (nf < need) {
            set_err(err, errlen, "line %d: %d fields, the header needs at least %d", rec_line, nf, need);
            goto fail;
        }
        if (csv->n == cap) {
            cap = cap ? cap * 2 : 1024;
            void *r = realloc(csv->rows, cap * sizeof *csv->rows);
            void *l = r ? realloc(labels, cap * AC_AGECSV_NGROUPCOLS * sizeof *labels) : NULL;
            if (r)
                csv->rows = r;
            if (l)
                labels = l;
            if (!r || !l) {
                rc = -ENOMEM;
                goto fail;
            }
        }
        struct ac_agecsv_row *row = &csv->rows[csv->n];
        row->path = fields[col_path];
        if (!row->path[0]) {
            set_err(err, errlen, "line %d: empty path", rec_line);
            goto fail;
        }
        const char *age = strip(fields[col_age]);
        if (parse_age(age, &row->age)) {
            set_err(err, errlen, "line %d: bad %s '%s' (want a number of years, 0..%.0f)", rec_line,
                    value_col, age, AC_AGECSV_MAX_AGE);
            goto fail;
        }
        for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++) {
            const char *l = col_group[g] >= 0 ? strip(fields[col_group[g]]) : "";
            labels[csv->n * AC_AGECSV_NGROUPCOLS + g] = l;
            if (l[0] && note_label(&csv->groups[g], l)) {
                set_err(err, errlen, "line %d: column '%s' has more than %d distinct values", rec_line,
                        ac_agecsv_group_names[g], AC_AGECSV_MAX_GROUPS);
                goto fail;
            }
        }
        csv->n++;
    }
    if (!csv->n) {
        set_err(err, errlen, "no data rows after the header");
        goto fail;
    }
    for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++) {
        struct ac_agecsv_groups *gr = &csv->groups[g];
        qsort(gr->label, (size_t)gr->n, sizeof gr->label[0], cmp_str);
        for (size_t i = 0; i < csv->n; i++) {
            const char *l = labels[i * AC_AGECSV_NGROUPCOLS + g];
            csv->rows[i].group[g] = l[0] ? label_id(gr, l) : -1;
        }
    }
    free(labels);
    return 0;
fail:
    if (rc == -ENOMEM)
        set_err(err, errlen, "out of memory");
    free(labels);
    ac_agecsv_free(csv);
    return rc;
}

int ac_agecsv_parse(const char *text, size_t len, struct ac_agecsv *csv, char *err, size_t errlen)
{
    return parse_csv(text, len, "age", csv, err, errlen);
}

int ac_agecsv_load(const char *path, struct ac_agecsv *csv, char *err, size_t errlen)
{
    return ac_agecsv_load_column(path, "age", csv, err, errlen);
}

int ac_agecsv_load_column(const char *path, const char *value_col, struct ac_agecsv *csv, char *err,
                          size_t errlen)
{
    memset(csv, 0, sizeof *csv);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        set_err(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap > AC_AGECSV_MAX_BYTES) {
                rc = -E2BIG;
                break;
            }
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                rc = -ENOMEM;
                break;
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = -EIO;
            break;
        }
    }
    fclose(f);
    if (!rc) {
        char msg[256];
        rc = parse_csv(buf, len, value_col, csv, msg, sizeof msg);
        if (rc)
            set_err(err, errlen, "%s: %s", path, msg);
    } else {
        set_err(err, errlen, "%s: %s", path, rc == -E2BIG ? "file too large" : strerror(-rc));
    }
    free(buf);
    return rc;
}

void ac_agecsv_free(struct ac_agecsv *csv)
{
    free(csv->rows);
    free(csv->text);
    memset(csv, 0, sizeof *csv);
}
