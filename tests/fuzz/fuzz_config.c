/* Fuzz target: the agecamd config file parser (ac_config_parse and the file
 * reader ac_config_load). Any bytes must give 0 or a clean -errno with a
 * message; a file that parses must also survive ac_config_validate, and
 * what ac_config_write prints for it must parse back to the same values
 * (the contract --print-config relies on). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/ac_config.h"
#include "config_same.h"
#include "fuzz_main.h"

static void check_err(int rc, const char *err)
{
    if (rc > 0 || (rc < 0 && !err[0]))
        abort(); /* errors are negative and always explained */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct ac_config c;
    /* in memory: the text up to the first NUL, as a C string */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    ac_config_defaults(&c);
    err[0] = 0;
    int rc = ac_config_parse(&c, "fuzz", text, err, sizeof err);
    check_err(rc, err);
    if (rc == 0) {
        err[0] = 0;
        rc = ac_config_validate(&c, err, sizeof err);
        check_err(rc, err);
        config_roundtrip(&c);
    }
    free(text);

    /* as a file: the reader's size and NUL checks in front of the parser;
     * one memfd for the whole run, rewritten per input (creating one per
     * input cost more than the rest of the target) */
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("agecam-fuzz-config", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ac_config_defaults(&c);
    err[0] = 0;
    rc = ac_config_load(&c, path, err, sizeof err);
    check_err(rc, err);
    if (rc == 0 && memchr(data, 0, size))
        abort(); /* a file with NUL bytes is not a config file */
    return 0;
}
