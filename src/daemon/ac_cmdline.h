/* agecamd command line. Long options come from the config table (every
 * option with a `cli` name), plus --set section.key=value for any option.
 * Precedence: table defaults < config file < command line, re-applied in
 * that order on every SIGHUP reload so the command line always wins. */
#ifndef AC_CMDLINE_H
#define AC_CMDLINE_H

#include <stdio.h>

#include "daemon/ac_config.h"

#define AC_ARGS_MAX_OVERRIDES 64

struct ac_override {
    const struct ac_option *opt;
    const char *value; /* points into argv (or the demo buffer) */
};

struct ac_args {
    const char *config_path; /* NULL: the default file, if it exists */
    struct ac_override ov[AC_ARGS_MAX_OVERRIDES];
    int nov;
    int help, version, check, print;
    char demo_source[AC_CFG_STR];
};

/* 0, or -EINVAL with a message (unknown option, bad --set syntax). Values
 * are checked later by ac_config_build, with the option named. */
int ac_args_parse(int argc, char **argv, struct ac_args *a, char *err, size_t errlen);

/* defaults -> file -> overrides -> cross-option validation. */
int ac_config_build(const struct ac_args *a, struct ac_config *out, char *err, size_t errlen);

/* Path of the config file actually used ("" when none). */
const char *ac_config_path(const struct ac_args *a);

void ac_args_usage(FILE *f, const char *prog);

#endif
