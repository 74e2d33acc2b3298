/* Fuzz target for the model loader: any bytes must give 0 or a clean error,
 * and a model that loads must run. Built for libFuzzer with
 *   clang -fsanitize=fuzzer,address -DAC_NN_LIBFUZZER -DAC_NN_FUZZING_SKIP_CRC -Wno-psabi \
 *     -Isrc tests/nn/fuzz_nn_load.c src/nn/ac_nn*.c -lm -lpthread
 * (ac_nn_fast.c compiles with clang too); without AC_NN_LIBFUZZER it is a
 * corpus runner: each argument is a file fed to the target, which the
 * 'fuzz' meson suite uses on the shipped models and the ops golden model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ac_nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ac_nn_model *m;
    char err[256];
    if (ac_nn_model_load_mem(data, size, &m, err, sizeof(err)))
        return 0;
    const struct ac_nn_info *in = ac_nn_model_info(m);
    struct ac_nn_ctx *c;
    for (int be = 0; be < 2; be++) {
        struct ac_nn_ctx_opts o = {be ? AC_NN_FAST : AC_NN_SCALAR, 1};
        if (ac_nn_ctx_create(m, &o, &c))
            continue;
        memset(ac_nn_input(c), 0, (size_t)in->input_w * in->input_h * in->input_c * sizeof(float));
        ac_nn_run(c);
        for (int i = 0; i < in->n_outputs; i++) {
            const float *d;
            int h, w, ch;
            const char *name;
            if (ac_nn_output(c, i, &d, &h, &w, &ch, &name) || !d || !name)
                abort();
        }
        ac_nn_ctx_destroy(c);
    }
    ac_nn_model_destroy(m);
    return 0;
}

#ifndef AC_NN_LIBFUZZER
int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open\n", argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *b = malloc(len > 0 ? (size_t)len : 1);
        size_t got = b ? fread(b, 1, (size_t)len, f) : 0;
        fclose(f);
        /* the file itself, then every truncation at a section-ish boundary */
        LLVMFuzzerTestOneInput(b, got);
        for (size_t cut = 0; cut < got && cut < 4096; cut += 7, n++)
            LLVMFuzzerTestOneInput(b, cut);
        free(b);
        n++;
    }
    printf("%d inputs, no crash\n", n);
    return 0;
}
#endif
