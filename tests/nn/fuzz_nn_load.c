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
#include "nn/ac_nn_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Work of one run: multiply-adds plus element writes. Under libFuzzer a
 * mutated input size or upsample factor makes a small seed a valid but large
 * network (the first long run found a 1792x2048 input: >10 s per input under
 * ASan, a libFuzzer timeout), so there only models up to this budget are
 * run; every model is still loaded. The corpus runner (the 'fuzz' meson
 * suite, the shipped models among its inputs) runs everything. */
#ifdef AC_NN_LIBFUZZER
#define RUN_BUDGET 1e5
#else
#define RUN_BUDGET 1e30
#endif

static double run_cost(const struct ac_nn_model *m)
{
    /* the input (the harness clears it) and the whole arena are touched
     * even where the ops are cheap (a GAP straight off a huge input) */
    double cost = (double)m->info.input_w * m->info.input_h * m->info.input_c +
                  (double)m->arena_bytes / sizeof(float);
    for (int i = 0; i < m->n_ops; i++) {
        const struct ac_nn_op *op = &m->ops[i];
        double out = (double)op->y.h * op->y.w * op->y.c, k = 1;
        if (op->type == AC_OP_CONV)
            k = (double)op->kh * op->kw * (op->x.c / op->groups);
        else if (op->type == AC_OP_FC)
            k = (double)op->x.h * op->x.w * op->x.c;
        else if (op->type == AC_OP_MAXPOOL)
            k = (double)op->kh * op->kw;
        else if (op->type == AC_OP_SE || op->type == AC_OP_GAP)
            k = 2;
        cost += out * k;
    }
    return cost;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ac_nn_model *m;
    char err[256];
    if (ac_nn_model_load_mem(data, size, &m, err, sizeof(err)))
        return 0;
    const struct ac_nn_info *in = ac_nn_model_info(m);
    if (run_cost(m) > RUN_BUDGET) {
        ac_nn_model_destroy(m);
        return 0;
    }
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
