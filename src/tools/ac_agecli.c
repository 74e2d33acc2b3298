#include "tools/ac_agecli.h"

#include <string.h>

#include "age/ac_age.h"

int ac_agecli_model(const char *cmd, const char *opt_model, int small, char *path, size_t pathlen)
{
    if (opt_model) {
        snprintf(path, pathlen, "%s", opt_model);
        return 0;
    }
    char err[768];
    if (ac_age_find_model(small ? "small" : "full", path, pathlen, err, sizeof err)) {
        fprintf(stderr, "agecam %s: %s\n", cmd, err);
        return -1;
    }
    return 0;
}

int ac_agecli_backend(const char *cmd, const char *name)
{
    if (!strcmp(name, "scalar"))
        return AC_NN_SCALAR;
    if (!strcmp(name, "fast"))
        return AC_NN_FAST;
    fprintf(stderr, "agecam %s: unknown backend '%s' (scalar or fast)\n", cmd, name);
    return -1;
}

const char *ac_agecli_backend_name(enum ac_nn_backend b)
{
    return b == AC_NN_SCALAR ? "scalar" : "fast";
}

void ac_agecli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void ac_agecli_csv_str(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void ac_agecli_warn_untrained(const char *cmd, const struct ac_age *est, const char *path)
{
    const char *init = ac_nn_model_meta(ac_age_model(est), "init");
    if (init && !strncmp(init, "random", 6))
        fprintf(stderr, "agecam %s: warning: %s is untrained (random weights); its ages mean nothing\n",
                cmd, path);
}

void ac_agecli_image_path(const char *root, const char *row_path, char *out, size_t len)
{
    if (row_path[0] == '/')
        snprintf(out, len, "%s", row_path);
    else
        snprintf(out, len, "%s/%s", root, row_path);
}
