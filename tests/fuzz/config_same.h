/* Shared by the config and command-line targets: the --print-config
 * contract. ac_config_write's text must parse back to exactly the same value
 * of every visible option (bit-identical numbers, identical strings). */
#ifndef FUZZ_CONFIG_SAME_H
#define FUZZ_CONFIG_SAME_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ac_config.h"

static void config_roundtrip(const struct ac_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    ac_config_write(f, c);
    fclose(f);
    struct ac_config back;
    char err[512];
    ac_config_defaults(&back);
    if (ac_config_parse(&back, "printed", buf, err, sizeof err)) {
        fprintf(stderr, "printed settings do not parse: %s\n%s", err, buf);
        abort();
    }
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        if (o->hidden)
            continue;
        const char *a = (const char *)c + o->offset, *b = (const char *)&back + o->offset;
        int same = o->type == AC_OPT_STRING ? !strcmp(a, b) : !memcmp(a, b, sizeof(int));
        if (!same) {
            char x[AC_CFG_STR + 8], y[AC_CFG_STR + 8];
            ac_config_format(c, o, x, sizeof x);
            ac_config_format(&back, o, y, sizeof y);
            fprintf(stderr, "%s.%s: '%s' printed, read back as '%s'\n%s", o->section, o->key, x, y,
                    buf);
            abort();
        }
    }
    free(buf);
}

#endif
