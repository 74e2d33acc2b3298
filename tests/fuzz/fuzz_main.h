/* Shared main() of the fuzz targets when they are not built for libFuzzer:
 * a corpus runner. Each argument is a file or a folder of files; every file
 * is fed to LLVMFuzzerTestOneInput as it is, then as a handful of
 * truncations and single-byte corruptions, so the normal test suite (gcc,
 * no libFuzzer) replays the committed seeds plus cheap variants of them.
 * Built with -DAC_LIBFUZZER the file only declares the entry point. */
#ifndef AC_FUZZ_MAIN_H
#define AC_FUZZ_MAIN_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef AC_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long ac_fuzz_inputs;

static void ac_fuzz_variants(const uint8_t *b, size_t n)
{
    LLVMFuzzerTestOneInput(b, n);
    ac_fuzz_inputs++;
    uint8_t *c = malloc(n ? n : 1);
    if (!c)
        abort();
    /* truncations: 16 cut points spread over the file */
    for (int k = 0; k < 16 && n > 1; k++) {
        size_t cut = n * (size_t)k / 16;
        memcpy(c, b, cut);
        LLVMFuzzerTestOneInput(c, cut);
        ac_fuzz_inputs++;
    }
    /* corruptions: a few bytes set to extremes, positions from a fixed LCG */
    uint32_t s = 12345u + (uint32_t)n;
    for (int k = 0; k < 32 && n > 0; k++) {
        memcpy(c, b, n);
        s = s * 1103515245u + 12345u;
        size_t at = (s >> 8) % n;
        static const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80, '\n', '=', '[', '0'};
        c[at] = vals[(s >> 4) % 8];
        LLVMFuzzerTestOneInput(c, n);
        ac_fuzz_inputs++;
    }
    free(c);
}

static int ac_fuzz_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(b, cap);
            if (!nb)
                abort();
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (!got)
            break;
        n += got;
    }
    fclose(f);
    ac_fuzz_variants(b, n);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            fprintf(stderr, "%s: missing\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (ac_fuzz_file(argv[i]))
                return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            if (ac_fuzz_file(p))
                return 1;
            files++;
        }
        if (d)
            closedir(d);
    }
    if (!files) {
        fprintf(stderr, "no corpus files: nothing was tested\n");
        return 1;
    }
    printf("%d files, %ld inputs, no crash\n", files, ac_fuzz_inputs);
    return 0;
}
#endif
#endif
