/* Malformed model files are rejected with the right errno and a message
 * naming the problem; randomly mutated files never crash the loader, and
 * whatever the loader accepts runs without touching memory it does not own
 * (run this under ASan to see the latter).
 * usage: test_nn_malformed [REAL_MODEL] */
#include <errno.h>

#include "nn_build.h"

static int fails, checks;

/* valid base model: conv, depthwise, SE, add, gap, fc (kind = age) */
static size_t base(uint8_t **out, const char *second_name)
{
    struct nb b;
    nb_init(&b, 9, 8, 3, 42);
    int a = nb_conv(&b, 0, 8, 3, 3, 2, 1, 1, 1, AC_ACT_LEAKY, 0.1f);
    int d = nb_conv(&b, a, 8, 3, 3, 1, 1, 8, 1, AC_ACT_RELU, 0);
    uint32_t n = 2 * 2 * 8 + 2 + 8, off = nb_weights(&b, n, 0.5f);
    uint32_t se[16] = {AC_OP_SE, (uint32_t)d, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, off, n, 1};
    int s = nb_raw(&b, se);
    memcpy(b.t[s].shape, b.t[d].shape, sizeof(b.t[0].shape));
    int ad = nb_simple(&b, AC_OP_ADD, a, s, 0, 0, 4, 5, 8);
    int g = nb_simple(&b, AC_OP_GAP, ad, 0, 0, 0, 1, 1, 8);
    uint32_t fo = nb_weights(&b, 5 * 8 + 5, 0.3f);
    uint32_t fc[16] = {AC_OP_FC, (uint32_t)g, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, fo, 5 * 8 + 5, 1};
    int y = nb_raw(&b, fc);
    nb_output(&b, y, "logits");
    nb_output(&b, ad, second_name);
    b.kind = AC_NN_KIND_AGE;
    b.ncls = 5;
    size_t len = nb_finish(&b, out);
    nb_free(&b);
    return len;
}

enum { FIX_CRC = 1 };

static void expect(const char *what, const uint8_t *f, size_t len, int want, const char *needle)
{
    char err[256] = "";
    struct ac_nn_model *m = NULL;
    int rc = ac_nn_model_load_mem(f, len, &m, err, sizeof(err));
    checks++;
    int ok = rc == want && (!needle || strstr(err, needle)) && (rc != 0) == (m == NULL);
    printf("%s %-40s rc %d (want %d): %s\n", ok ? "ok  " : "FAIL", what, rc, want, err);
    if (!ok)
        fails++;
    ac_nn_model_destroy(m);
}

/* Copies the base, lets mutate() edit it (offsets of the sections given),
 * optionally re-seals the CRC, and checks the verdict. */
struct secs {
    size_t info, meta, grph, outs, wght;
};

#define CASE(what, want, needle, crc, len_expr, body)                                              \
    do {                                                                                            \
        uint8_t *f = malloc(blen + 64);                                                             \
        memcpy(f, bfile, blen);                                                                     \
        memset(f + blen, 0, 64);                                                                    \
        size_t len = blen;                                                                          \
        body;                                                                                       \
        len = (len_expr);                                                                           \
        if (crc)                                                                                    \
            nb_fix_crc(f, len);                                                                     \
        expect(what, f, len, want, needle);                                                         \
        free(f);                                                                                    \
    } while (0)

#define OPF(i, k) (s.grph + 4 + 64 * (i) + 4 * (k)) /* field k of op i */

static void put(uint8_t *f, size_t off, uint32_t v)
{
    nb_put32(f + off, v);
}

static void fuzz(const uint8_t *bfile, size_t blen, int iters, uint32_t seed, size_t lo, size_t hi)
{
    uint8_t *f = malloc(blen);
    int accepted = 0;
    for (int it = 0; it < iters; it++) {
        memcpy(f, bfile, blen);
        size_t len = blen;
        int nmut = 1 + (int)((nb_rand(&seed) + 1) * 4);
        for (int k = 0; k < nmut; k++) {
            size_t pos = lo + (size_t)((nb_rand(&seed) + 1) * 0.5 * (double)(hi - lo));
            if (pos >= blen)
                pos = blen - 1;
            int kind = (int)((nb_rand(&seed) + 1) * 2);
            if (kind == 0)
                f[pos] ^= (uint8_t)(1u << ((unsigned)((nb_rand(&seed) + 1) * 4) & 7));
            else if (kind == 1)
                f[pos] = (uint8_t)((nb_rand(&seed) + 1) * 128);
            else if (kind == 2 && pos + 4 <= blen) /* plausible small/huge integers */
                nb_put32(f + pos, (uint32_t)((nb_rand(&seed) + 1) * 8) * (nb_rand(&seed) > 0.5f ? 1u : 0x10001u));
            else
                f[pos] = 0;
        }
        if (nb_rand(&seed) > 0.9f)
            len = (size_t)((nb_rand(&seed) + 1) * 0.5 * (double)blen);
        if (nb_rand(&seed) > -0.8f && len >= 64)
            nb_fix_crc(f, len);
        struct ac_nn_model *m = NULL;
        char err[256];
        if (ac_nn_model_load_mem(f, len, &m, err, sizeof(err)) == 0) {
            accepted++;
            struct ac_nn_ctx *c;
            struct ac_nn_ctx_opts o = {it % 2 ? AC_NN_FAST : AC_NN_SCALAR, 1};
            if (ac_nn_ctx_create(m, &o, &c) == 0) {
                const struct ac_nn_info *in = ac_nn_model_info(m);
                memset(ac_nn_input(c), 0, (size_t)in->input_w * in->input_h * in->input_c * 4);
                ac_nn_run(c);
                ac_nn_ctx_destroy(c);
            }
            ac_nn_model_destroy(m);
        }
    }
    printf("fuzz: %d mutated files, %d accepted and run, no crash\n", iters, accepted);
    free(f);
}

int main(int argc, char **argv)
{
    uint8_t *bfile;
    size_t blen = base(&bfile, "feat");
    struct secs s = {nb_find(bfile, blen, "INFO"), nb_find(bfile, blen, "META"),
                     nb_find(bfile, blen, "GRPH"), nb_find(bfile, blen, "OUTS"),
                     nb_find(bfile, blen, "WGHT")};
    size_t wfloats = ((size_t)bfile[s.wght - 12] | (size_t)bfile[s.wght - 11] << 8) / 4;

    CASE("valid base model", 0, NULL, 0, len, {});
    CASE("truncated header", -EINVAL, "too short", 0, 40, {});
    CASE("empty file", -EINVAL, "too short", 0, 0, {});
    CASE("wrong magic", -EINVAL, "magic", 0, len, { f[0] = 'X'; });
    CASE("wrong version", -EINVAL, "version", 0, len, { put(f, 8, 2); });
    CASE("header size", -EINVAL, "header size", 0, len, { put(f, 12, 128); });
    CASE("bad CRC", -EINVAL, "CRC", 0, len, { f[s.wght + 3] ^= 1; });
    CASE("payload size > file", -EINVAL, "larger than the file", 0, len, { put(f, 16, (uint32_t)(blen - 64 + 16)); });
    CASE("file truncated mid-payload", -EINVAL, "larger than the file", 0, len - 20, {});
    CASE("trailing garbage", -EINVAL, "trailing", 0, len + 16, {});
    CASE("reserved header bytes", -EINVAL, "reserved", 0, len, { f[40] = 1; });
    CASE("section past end", -EINVAL, "runs past the end", FIX_CRC, len, { put(f, s.grph - 12, 1u << 30); });
    CASE("section header truncated", -EINVAL, "truncated", 0, len + 8,
         { put(f, 16, (uint32_t)(blen - 64 + 8)); nb_fix_crc(f, len + 8); });
    CASE("unknown critical section", -EINVAL, "unknown critical", FIX_CRC, len, { memcpy(f + s.meta - 16, "XTRA", 4); });
    CASE("ancillary section skipped", 0, NULL, FIX_CRC, len, { memcpy(f + s.meta - 16, "xtra", 4); });
    CASE("missing WGHT", -EINVAL, "'WGHT' missing", FIX_CRC, len, { memcpy(f + s.wght - 16, "wght", 4); });
    CASE("duplicate section", -EINVAL, "twice", FIX_CRC, len, { memcpy(f + s.meta - 16, "OUTS", 4); });
    CASE("INFO wrong size", -EINVAL, "INFO section", FIX_CRC, len, { put(f, s.info - 12, 40); });
    CASE("zero input dimension", -EINVAL, "zero dimension", FIX_CRC, len, { put(f, s.info, 0); });
    CASE("huge input (alloc bomb)", -E2BIG, "exceeds", FIX_CRC, len,
         { put(f, s.info, 4096); put(f, s.info + 4, 4096); put(f, s.info + 8, 65536); });
    CASE("NaN mean", -EINVAL, "finite", FIX_CRC, len, { put(f, s.info + 12, 0x7fc00000); });
    CASE("unknown kind", -EINVAL, "kind", FIX_CRC, len, { put(f, s.info + 40, 7); });
    CASE("age classes != output", -EINVAL, "num_classes", FIX_CRC, len, { put(f, s.info + 36, 6); });
    CASE("verifier with 5 outputs", -EINVAL, "verifier model", FIX_CRC, len, { put(f, s.info + 40, 3); });
    CASE("META line without =", -EINVAL, "key=value", FIX_CRC, len, { f[s.meta + 7] = 'x'; });
    CASE("META with NUL", -EINVAL, "NUL", FIX_CRC, len, { f[s.meta + 2] = 0; });
    CASE("zero ops", -EINVAL, "ops", FIX_CRC, len, { put(f, s.grph, 0); });
    CASE("op count vs GRPH size", -EINVAL, "GRPH is", FIX_CRC, len, { put(f, s.grph, 5); });
    CASE("unknown op", -EINVAL, "unknown op type", FIX_CRC, len, { put(f, OPF(2, 0), 99); });
    CASE("forward reference", -EINVAL, "not an earlier tensor", FIX_CRC, len, { put(f, OPF(1, 1), 2); });
    CASE("tensor id out of range", -EINVAL, "not an earlier tensor", FIX_CRC, len, { put(f, OPF(3, 2), 1000); });
    CASE("unused field set", -EINVAL, "unused field", FIX_CRC, len, { put(f, OPF(4, 6), 3); });
    CASE("unknown activation", -EINVAL, "activation", FIX_CRC, len, { put(f, OPF(0, 3), 9); });
    CASE("alpha without leaky", -EINVAL, "alpha", FIX_CRC, len, { put(f, OPF(1, 4), nb_fbits(0.5f)); });
    CASE("weights outside blob", -EINVAL, "outside", FIX_CRC, len, { put(f, OPF(5, 13), (uint32_t)wfloats - 3); });
    CASE("weight offset overflow", -EINVAL, "outside", FIX_CRC, len, { put(f, OPF(0, 13), 0xFFFFFFF0u); });
    CASE("w_count mismatch", -EINVAL, "w_count", FIX_CRC, len, { put(f, OPF(0, 14), 100); });
    CASE("groups do not divide channels", -EINVAL, "groups", FIX_CRC, len, { put(f, OPF(1, 12), 3); });
    CASE("groups zero", -EINVAL, "groups", FIX_CRC, len, { put(f, OPF(1, 12), 0); });
    CASE("zero kernel", -EINVAL, "kernel", FIX_CRC, len, { put(f, OPF(0, 6), 0); });
    CASE("zero stride", -EINVAL, "stride", FIX_CRC, len, { put(f, OPF(0, 8), 0); });
    CASE("kernel larger than input", -EINVAL, "larger than padded", FIX_CRC, len,
         { put(f, OPF(1, 6), 11); put(f, OPF(1, 7), 11); });
    CASE("out_c zero", -EINVAL, "out_c", FIX_CRC, len, { put(f, OPF(5, 5), 0); });
    CASE("out_c huge", -E2BIG, "out_c", FIX_CRC, len, { put(f, OPF(5, 5), 1u << 20); });
    CASE("ADD shape mismatch", -EINVAL, "differ", FIX_CRC, len, { put(f, OPF(3, 2), 0); });
    CASE("bad flags", -EINVAL, "flags", FIX_CRC, len, { put(f, OPF(0, 15), 8); });
    CASE("BN flag without bias", -EINVAL, "flags", FIX_CRC, len, { put(f, OPF(0, 15), 4); });
    CASE("no outputs", -EINVAL, "outputs", FIX_CRC, len, { put(f, s.outs, 0); });
    CASE("output id out of range", -EINVAL, "out of range", FIX_CRC, len, { put(f, s.outs + 4, 77); });
    CASE("output name bad char", -EINVAL, "bad character", FIX_CRC, len, { f[s.outs + 12] = ' '; });
    CASE("output name too long", -EINVAL, "name", FIX_CRC, len, { put(f, s.outs + 8, 200); });
    free(bfile);

    /* allocation bombs that pass every per-field check: a tensor of 64 Mi+
     * floats, and an arena over 256 MiB built from legal tensors */
    {
        struct nb b;
        nb_init(&b, 2048, 2048, 1, 1);
        int t = nb_conv(&b, 0, 17, 1, 1, 1, 0, 1, 0, 0, 0);
        nb_output(&b, t, "y");
        uint8_t *f;
        size_t len = nb_finish(&b, &f);
        expect("tensor bomb (2048x2048x17)", f, len, -E2BIG, "exceeds");
        free(f);
        nb_free(&b);
        nb_init(&b, 2048, 2048, 3, 1);
        t = nb_simple(&b, AC_OP_ACT, 0, 0, AC_ACT_RELU, 0, 2048, 2048, 3);
        t = nb_simple(&b, AC_OP_CONCAT, 0, t, 0, 0, 2048, 2048, 6);
        t = nb_simple(&b, AC_OP_CONCAT, t, 0, 0, 0, 2048, 2048, 9);
        nb_output(&b, t, "y");
        len = nb_finish(&b, &f);
        expect("arena bomb (legal tensors, > 256 MiB)", f, len, -E2BIG, "arena");
        free(f);
        nb_free(&b);
    }
    {
        struct ac_nn_model *m = NULL;
        char err[256];
        int rc = ac_nn_model_load("/nonexistent/model.acnn", &m, err, sizeof(err));
        checks++;
        /* the reason only: callers name the file (no "path: path: ...") */
        int ok = rc == -ENOENT && m == NULL && strstr(err, "No such file") && !strstr(err, "nonexistent");
        printf("%s missing file: rc %d: %s\n", ok ? "ok  " : "FAIL", rc, err);
        fails += !ok;
    }

    blen = base(&bfile, "logits");
    expect("duplicate output name", bfile, blen, -EINVAL, "twice");
    free(bfile);
    blen = base(&bfile, "feat");
    fuzz(bfile, blen, 10000, 7, 0, blen);
    free(bfile);
    if (argc > 1) { /* the shipped model: mutate the header, INFO, GRPH and OUTS */
        FILE *fp = fopen(argv[1], "rb");
        if (fp) {
            fseek(fp, 0, SEEK_END);
            long n = ftell(fp);
            fseek(fp, 0, SEEK_SET);
            uint8_t *mf = malloc((size_t)n);
            if (fread(mf, 1, (size_t)n, fp) == (size_t)n) {
                size_t w = nb_find(mf, (size_t)n, "WGHT");
                fuzz(mf, (size_t)n, 300, 11, 0, w ? w : (size_t)n);
            }
            free(mf);
            fclose(fp);
        } else {
            printf("FAIL cannot open %s\n", argv[1]);
            fails++;
        }
    }
    printf("%d checks, %d failed\n", checks, fails);
    return fails ? 1 : 0;
}
