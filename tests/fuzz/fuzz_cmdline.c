/* Fuzz target: agecamd's command line (ac_args_parse, then ac_config_build
 * applying the overrides). The input is split at NUL bytes into argv[1..].
 * Any argv must give 0 or a clean -EINVAL with a message; settings that build
 * must print (ac_config_write) as a file that parses back to the same. Config
 * files named by --config are replaced by /dev/null: the file parser has its
 * own target, and a fuzzer must not read /dev/stdin or wander the disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ac_cmdline.h"
#include "config_same.h"
#include "fuzz_main.h"

#define MAX_ARGS 80

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "agecamd";
    for (size_t i = 0; i < size && argc < MAX_ARGS;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    struct ac_args a;
    char err[512] = "";
    int rc = ac_args_parse(argc, argv, &a, err, sizeof err);
    if (rc > 0 || (rc < 0 && !err[0]))
        abort();
    if (rc == 0) {
        /* overrides must point at text in argv (or the demo buffer) */
        for (int i = 0; i < a.nov; i++)
            if (!a.ov[i].opt || !a.ov[i].value)
                abort();
        a.config_path = "/dev/null";
        struct ac_config c;
        err[0] = 0;
        rc = ac_config_build(&a, &c, err, sizeof err);
        if (rc > 0 || (rc < 0 && !err[0]))
            abort();
        if (rc == 0)
            config_roundtrip(&c);
    }
    free(buf);
    return 0;
}
