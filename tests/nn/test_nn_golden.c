/* The shipped model's logits equal PyTorch's (tests/golden, written by
 * train/export.py together with the model) on both backends.
 * usage: test_nn_golden MODEL GOLDEN [MIN_PARAMS MAX_PARAMS] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ac_nn_internal.h"

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: %s MODEL GOLDEN [MIN_PARAMS MAX_PARAMS]\n", argv[0]);
        return 2;
    }
    char err[256];
    struct ac_nn_model *m;
    int rc = ac_nn_model_load(argv[1], &m, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "load failed (%d): %s\n", rc, err);
        return 1;
    }
    const struct ac_nn_info *info = ac_nn_model_info(m);
    printf("%s: %dx%dx%d kind %d classes %d params %lld macs %lld init=%s\n", argv[1], info->input_w,
           info->input_h, info->input_c, info->kind, info->num_classes, info->param_count,
           info->macs, ac_nn_model_meta(m, "init") ? ac_nn_model_meta(m, "init") : "?");
    int fails = 0;
    if (argc == 5) {
        long long lo = atoll(argv[3]), hi = atoll(argv[4]);
        if (info->param_count < lo || info->param_count > hi) {
            printf("FAIL: param_count %lld outside [%lld, %lld]\n", info->param_count, lo, hi);
            fails++;
        }
    }
    size_t glen;
    unsigned char *g = slurp(argv[2], &glen);
    if (!g || glen < 32 || memcmp(g, "ACGOLD1\0", 8)) {
        fprintf(stderr, "%s: not a golden file\n", argv[2]);
        return 1;
    }
    uint32_t crc = rd32(g + 8), n = rd32(g + 12), gh = rd32(g + 16), gw = rd32(g + 20),
             gc = rd32(g + 24), no = rd32(g + 28);
    size_t mlen;
    unsigned char *mb = slurp(argv[1], &mlen);
    if (!mb || mlen < 64 || rd32(mb + 24) != crc) {
        printf("FAIL: golden file belongs to another model (crc %08x); re-export both with "
               "train/export.py --golden\n", crc);
        return 1;
    }
    free(mb);
    size_t in_n = (size_t)gh * gw * gc;
    if (gh != (uint32_t)info->input_h || gw != (uint32_t)info->input_w ||
        gc != (uint32_t)info->input_c || glen != 32 + (size_t)n * (in_n + no) * 4) {
        printf("FAIL: golden file shape does not match the model\n");
        return 1;
    }
    /* scalar, the fast kernels' ISA copy (AVX2/NEON, if any), the same on 3
     * threads, and the fast baseline copy */
    static const char *const bname[] = {"scalar", "fast", "fast-3-threads", "fast-baseline"};
    int nbe = *ac_nn_simd_available() ? 4 : 3;
    /* under qemu the scalar pass over the full model takes a minute; the
     * cross CI job skips it (the kernel tests still hold scalar to the
     * reference there, and the native build runs it) */
    const char *skip = getenv("AGECAM_NN_GOLDEN_SKIP_SCALAR");
    int be0 = skip && *skip == '1';
    if (be0)
        printf("scalar backend skipped (AGECAM_NN_GOLDEN_SKIP_SCALAR=1)\n");
    for (int be = be0; be < nbe; be++) {
        struct ac_nn_ctx_opts o = {be ? AC_NN_FAST : AC_NN_SCALAR, be == 2 ? 3 : 1};
        struct ac_nn_ctx *c;
        if (ac_nn_ctx_create(m, &o, &c)) {
            printf("FAIL: ctx_create\n");
            return 1;
        }
        ac_nn_ctx_set_simd(c, be != 3);
        for (uint32_t k = 0; k < n; k++) {
            const unsigned char *p = g + 32 + (size_t)k * (in_n + no) * 4;
            memcpy(ac_nn_input(c), p, in_n * 4); /* little-endian host assumed, as the runtime */
            float *refv = malloc(no * sizeof(float)), *got = malloc(no * sizeof(float));
            memcpy(refv, p + in_n * 4, no * sizeof(float));
            ac_nn_run(c);
            /* every output, flattened NHWC, concatenated in OUTS order */
            size_t at = 0;
            for (int o = 0; o < info->n_outputs; o++) {
                const float *y;
                int h, w, ch;
                const char *name;
                ac_nn_output(c, o, &y, &h, &w, &ch, &name);
                size_t n1 = (size_t)h * w * ch;
                if (at + n1 > no || (o == 0 && info->kind == AC_NN_KIND_AGE && strcmp(name, "logits"))) {
                    printf("FAIL: outputs do not match the golden layout (%s %dx%dx%d)\n", name, h, w, ch);
                    return 1;
                }
                memcpy(got + at, y, n1 * sizeof(float));
                at += n1;
            }
            if (at != no) {
                printf("FAIL: outputs hold %zu values, golden has %u\n", at, no);
                return 1;
            }
            const float *y = got;
            double worst = 0, refmax = 0;
            for (uint32_t i = 0; i < no; i++) {
                double d = fabs((double)y[i] - refv[i]) / fmax(1.0, fabs(refv[i]));
                worst = fmax(worst, d);
                refmax = fmax(refmax, fabs(refv[i]));
            }
            int ok = worst <= 1e-4;
            printf("%s case %u backend %s%s%s: max rel diff %.3g (|ref| max %.3f) %s\n",
                   ok ? "ok  " : "FAIL", k, bname[be], *ac_nn_ctx_simd(c) ? "-" : "",
                   ac_nn_ctx_simd(c), worst, refmax, ok ? "" : "<--");
            fails += !ok;
            free(refv);
            free(got);
        }
        ac_nn_ctx_destroy(c);
    }
    free(g);
    ac_nn_model_destroy(m);
    return fails ? 1 : 0;
}
