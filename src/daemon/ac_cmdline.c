#include "daemon/ac_cmdline.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AGECAM_SYSCONFDIR
#define AGECAM_SYSCONFDIR "/etc"
#endif
#ifndef AGECAM_DATADIR
#define AGECAM_DATADIR "/usr/share/agecam"
#endif

#define DEFAULT_CONFIG AGECAM_SYSCONFDIR "/agecam/agecamd.conf"

enum { OPT_SET = 's', OPT_CONFIG = 'c', OPT_HELP = 'h', OPT_VERSION = 'V',
       OPT_CHECK = 1000, OPT_PRINT, OPT_DEMO, OPT_TABLE = 2000 };

static int add(struct ac_args *a, const struct ac_option *o, const char *v, char *err, size_t errlen)
{
    if (a->nov == AC_ARGS_MAX_OVERRIDES) {
        snprintf(err, errlen, "more than %d overrides", AC_ARGS_MAX_OVERRIDES);
        return -EINVAL;
    }
    a->ov[a->nov++] = (struct ac_override){o, v};
    return 0;
}

int ac_args_parse(int argc, char **argv, struct ac_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    struct option lo[AC_ARGS_MAX_OVERRIDES + 8];
    int n = 0;
    lo[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    lo[n++] = (struct option){"set", required_argument, NULL, OPT_SET};
    lo[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    lo[n++] = (struct option){"check-config", no_argument, NULL, OPT_CHECK};
    lo[n++] = (struct option){"print-config", no_argument, NULL, OPT_PRINT};
    lo[n++] = (struct option){"demo", no_argument, NULL, OPT_DEMO};
    for (int i = 0; i < ac_option_count && n < AC_ARGS_MAX_OVERRIDES + 7; i++)
        if (ac_options[i].cli)
            lo[n++] = (struct option){ac_options[i].cli, required_argument, NULL, OPT_TABLE + i};
    lo[n] = (struct option){0, 0, 0, 0};

    optind = 0; /* glibc: full re-initialisation, so tests may parse again */
    opterr = 0;
    int c, rc = 0;
    while (!rc && (c = getopt_long(argc, argv, "c:s:hV", lo, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            a->config_path = optarg;
            break;
        case OPT_SET: {
            const char *eq = strchr(optarg, '=');
            char key[128];
            if (!eq || (size_t)(eq - optarg) >= sizeof key) {
                snprintf(err, errlen, "--set %s: expected section.key=value", optarg);
                return -EINVAL;
            }
            memcpy(key, optarg, (size_t)(eq - optarg));
            key[eq - optarg] = 0;
            const struct ac_option *o = ac_config_find(key);
            if (!o) {
                snprintf(err, errlen, "--set: unknown option '%s' (see --help)", key);
                return -EINVAL;
            }
            rc = add(a, o, eq + 1, err, errlen);
            break;
        }
        case OPT_HELP:
            a->help = 1;
            break;
        case OPT_VERSION:
            a->version = 1;
            break;
        case OPT_CHECK:
            a->check = 1;
            break;
        case OPT_PRINT:
            a->print = 1;
            break;
        case OPT_DEMO: {
            const char *dir = getenv("AGECAM_DEMO_DIR");
            snprintf(a->demo_source, sizeof a->demo_source, "dir:%s",
                     dir && *dir ? dir : AGECAM_DATADIR "/demo");
            rc = add(a, ac_config_find("camera.source"), a->demo_source, err, errlen);
            if (!rc)
                rc = add(a, ac_config_find("camera.loop"), "true", err, errlen);
            break;
        }
        case '?':
            if (optopt)
                snprintf(err, errlen, "unknown option -%c (see --help)", optopt);
            else
                snprintf(err, errlen, "unknown option or missing value: %s (see --help)",
                         argv[optind - 1]);
            return -EINVAL;
        default:
            rc = add(a, &ac_options[c - OPT_TABLE], optarg, err, errlen);
        }
    }
    if (!rc && optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -EINVAL;
    }
    return rc;
}

const char *ac_config_path(const struct ac_args *a)
{
    if (a->config_path)
        return a->config_path;
    return access(DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : "";
}

int ac_config_build(const struct ac_args *a, struct ac_config *out, char *err, size_t errlen)
{
    struct ac_config c;
    ac_config_defaults(&c);
    const char *path = ac_config_path(a);
    int rc;
    if (*path && (rc = ac_config_load(&c, path, err, errlen)))
        return rc;
    for (int i = 0; i < a->nov; i++) {
        char why[384];
        if ((rc = ac_config_set(&c, a->ov[i].opt, a->ov[i].value, why, sizeof why))) {
            snprintf(err, errlen, "command line: %s", why);
            return rc;
        }
    }
    if ((rc = ac_config_validate(&c, err, errlen)))
        return rc;
    *out = c;
    return 0;
}

void ac_args_usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [OPTIONS]\n"
            "Real-time face-age daemon: camera -> face detector -> age net -> tracker ->\n"
            "shared-memory ring (read it with `agecam tail`).\n\n"
            "  -c, --config FILE      settings file (default %s, if present)\n"
            "  -s, --set SEC.KEY=VAL  override any setting below (repeatable)\n"
            "      --demo             run on the bundled demo frames (looped), no camera needed\n"
            "      --check-config     parse the settings, report errors, exit\n"
            "      --print-config     print the effective settings as a config file, exit\n"
            "  -V, --version          print the version\n"
            "  -h, --help             this help\n"
            "Signals: SIGHUP reloads the settings (a bad file is rejected, the running\n"
            "pipeline keeps going), SIGTERM/SIGINT stop cleanly.\n\n"
            "Settings (file section [SEC], key = value; or --set SEC.KEY=VAL):\n",
            prog, DEFAULT_CONFIG);
    ac_config_help(f);
}
