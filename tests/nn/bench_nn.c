/* Latency of one ac_nn_run (batch 1, 1 thread), median of N runs.
 * Not a test: speed is measured here, never asserted.
 * usage: bench_nn MODEL [RUNS [THREADS [profile|raw]]]
 * profile: also the median time per op kind (conv split in 1x1 / depthwise /
 * other) on the fast backend.
 * raw: fast backend only, one line "raw_ms t1 t2 ..." with every run's time
 * (bench/compare.py pools these with the other engines' in one run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/ac_nn_internal.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    if (runs < 1 || runs > 100000)
        runs = 50;
    char err[256];
    struct ac_nn_model *m;
    if (ac_nn_model_load(argv[1], &m, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct ac_nn_info *in = ac_nn_model_info(m);
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    double *t = malloc(sizeof(double) * (size_t)runs);
    int raw = argc > 4 && !strcmp(argv[4], "raw");
    for (int be = raw; be < 2 && t; be++) {
        struct ac_nn_ctx_opts o = {be ? AC_NN_FAST : AC_NN_SCALAR, be ? threads : 1};
        struct ac_nn_ctx *c;
        if (ac_nn_ctx_create(m, &o, &c))
            return 1;
        float *x = ac_nn_input(c);
        size_t n = (size_t)in->input_w * in->input_h * in->input_c;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((i * 7919) % 255) / 127.5f - 1.f;
        ac_nn_run(c); /* warm-up */
        for (int r = 0; r < runs; r++) {
            double t0 = now_ms();
            ac_nn_run(c);
            t[r] = now_ms() - t0;
        }
        if (raw) {
            printf("macs %lld\nraw_ms", in->macs);
            for (int r = 0; r < runs; r++)
                printf(" %.4f", t[r]);
            printf("\n");
        }
        qsort(t, (size_t)runs, sizeof(double), cmp);
        printf("%s backend %-6s x%d: median %.3f ms, min %.3f ms over %d runs (%.2f GMAC/s), arena %zu KiB\n",
               argv[1], be ? "fast" : "scalar", be ? threads : 1, t[runs / 2], t[0], runs,
               in->macs / (t[runs / 2] * 1e6), ac_nn_ctx_arena_bytes(c) >> 10);
        ac_nn_ctx_destroy(c);
    }
    if (argc > 4 && !raw && t) {
        static const char *kinds[] = {"conv1x1", "conv-dw", "conv-other", "fc", "se", "add", "other"};
        double sum[7] = {0}, macs[7] = {0}, *opt = calloc((size_t)m->n_ops * runs, sizeof(double));
        struct ac_nn_ctx *c;
        if (!opt || ac_nn_ctx_create(m, NULL, &c))
            return 1;
        for (int r = 0; r < runs; r++)
            for (int i = 0; i < m->n_ops; i++) {
                double t0 = now_ms();
                ac_nn_run_op(c, i);
                opt[(size_t)i * runs + r] = now_ms() - t0;
            }
        for (int i = 0; i < m->n_ops; i++) {
            const struct ac_nn_op *op = &m->ops[i];
            qsort(opt + (size_t)i * runs, (size_t)runs, sizeof(double), cmp);
            int k = op->type == AC_OP_CONV ? (op->groups == op->x.c && op->out_c == op->x.c ? 1
                                              : op->kh == 1 && op->kw == 1 ? 0 : 2)
                  : op->type == AC_OP_FC ? 3 : op->type == AC_OP_SE ? 4 : op->type == AC_OP_ADD ? 5 : 6;
            sum[k] += opt[(size_t)i * runs + runs / 2];
            if (op->type == AC_OP_CONV)
                macs[k] += (double)op->y.h * op->y.w * op->y.c * op->kh * op->kw * (op->x.c / op->groups);
        }
        for (int k = 0; k < 7; k++)
            printf("  %-10s %8.3f ms %7.1f MMAC %6.2f GMAC/s\n", kinds[k], sum[k], macs[k] / 1e6,
                   sum[k] > 0 ? macs[k] / sum[k] / 1e6 : 0);
        ac_nn_ctx_destroy(c);
        free(opt);
    }
    free(t);
    ac_nn_model_destroy(m);
    return 0;
}
