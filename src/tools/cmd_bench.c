/* agecam bench: latency and memory of the pieces of the pipeline. Each case
 * runs in a forked child (warm-up, then timed runs) so that its peak RSS,
 * read with wait4, belongs to it alone. Rows come from the case tables
 * listed in AC_BENCH_TABLES (see ac_bench.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/ac_agecli.h"
#include "tools/ac_bench.h"

/* One line per module that contributes rows. */
#define AC_BENCH_TABLES(X) X(ac_bench_age) X(ac_bench_detect) X(ac_bench_capture)

#define AC_BENCH_DECLARE(t) extern const struct ac_bench_case t[];
AC_BENCH_TABLES(AC_BENCH_DECLARE)

static const struct ac_bench_case *const tables[] = {
#define AC_BENCH_ROW(t) t,
    AC_BENCH_TABLES(AC_BENCH_ROW)
};

#define WARMUP_RUNS 3

/* What a child sends back through its pipe. */
struct bench_result {
    int status; /* 0 ok, -ENOENT skipped, other failed */
    char err[256];
    int runs;
    double median_ms, p90_ms, mean_ms, min_ms;
    int n_fig;
    struct ac_bench_figure fig[AC_BENCH_MAX_FIGURES];
};

struct bench_cli {
    struct ac_bench_opts o;
    const char *filter;
    int json, list;
};

void ac_bench_figure_add(struct ac_bench_figure *f, int max, int *n, const char *key, double value)
{
    if (*n >= max)
        return;
    snprintf(f[*n].key, sizeof f[*n].key, "%s", key);
    f[*n].value = value;
    (*n)++;
}

int ac_bench_load_model(const char *path, struct ac_nn_model **m, long long *file_bytes, char *err,
                        size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    *file_bytes = sb.st_size;
    char msg[256] = "";
    int rc = ac_nn_model_load(path, m, msg, sizeof msg);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, msg);
    return rc;
}

int ac_bench_net_ctx(const struct ac_nn_model *m, const char *path, enum ac_nn_backend backend, int threads,
                     struct ac_nn_ctx **ctx, char *err, size_t errlen)
{
    struct ac_nn_ctx_opts co = {.backend = backend, .threads = threads};
    int rc = ac_nn_ctx_create(m, &co, ctx);
    if (rc) {
        snprintf(err, errlen, "%s: cannot create a context: %s", path, strerror(-rc));
        return rc;
    }
    const struct ac_nn_info *info = ac_nn_model_info(m);
    float *in = ac_nn_input(*ctx);
    size_t n = (size_t)info->input_w * info->input_h * info->input_c;
    for (size_t i = 0; i < n; i++)
        in[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    return 0;
}

void ac_bench_fill_rgb(uint8_t *rgb, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)((x * (c + 1) + y * 3 + (x ^ y)) & 255);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam bench [options]\n"
            "Per-run latency (median and 90th percentile), peak memory and size figures of\n"
            "the age nets and other pipeline parts. A benchmark: run it on an idle machine.\n"
            "  --runs N          timed runs per case (default 100, after %d warm-up runs)\n"
            "  --threads N       threads per case (default 1)\n"
            "  --model-dir DIR   where smlf-full.acnn / smlf-small.acnn are (default: the\n"
            "                    usual lookup, see agecam estimate --help)\n"
            "  --filter TEXT     only cases whose name contains TEXT\n"
            "  --list            list the cases and exit\n"
            "  --json            one JSON object\n"
            "  -h, --help\n"
            "peak RSS is that of the case's own process, which starts as a fork of this one\n"
            "(baseline shown).\n",
            WARMUP_RUNS);
}

static int parse(struct bench_cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"runs", required_argument, 0, 'n'},  {"threads", required_argument, 0, 't'},
        {"model-dir", required_argument, 0, 'd'}, {"filter", required_argument, 0, 'f'},
        {"list", no_argument, 0, 'l'},        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    *c = (struct bench_cli){.o = {.runs = 100, .threads = 1}};
    optind = 1;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            c->o.runs = (int)strtol(optarg, &end, 10);
            if (*end || c->o.runs < 1 || c->o.runs > 1000000) {
                fprintf(stderr, "agecam bench: bad --runs '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            c->o.threads = (int)strtol(optarg, &end, 10);
            if (*end || c->o.threads < 1 || c->o.threads > 256) {
                fprintf(stderr, "agecam bench: bad --threads '%s'\n", optarg);
                return 2;
            }
            break;
        case 'd': c->o.model_dir = optarg; break;
        case 'f': c->filter = optarg; break;
        case 'l': c->list = 1; break;
        case 'j': c->json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agecam bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *v, int n, double q)
{
    int k = (int)(q * n + 0.999999) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void run_case(const struct ac_bench_case *bc, const struct ac_bench_opts *o,
                     struct bench_result *r)
{
    void *state = NULL;
    memset(r, 0, sizeof *r);
    r->status = bc->setup(o, bc->param, &state, r->err, sizeof r->err);
    if (r->status)
        return;
    double *t = malloc((size_t)o->runs * sizeof *t);
    if (!t) {
        r->status = -ENOMEM;
        snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    for (int i = 0; i < WARMUP_RUNS + o->runs; i++) {
        double t0 = now_ms();
        int rc = bc->run(state);
        double dt = now_ms() - t0;
        if (rc) {
            r->status = rc;
            snprintf(r->err, sizeof r->err, "run %d failed: %s", i, strerror(-rc));
            goto out;
        }
        if (i >= WARMUP_RUNS)
            t[i - WARMUP_RUNS] = dt;
    }
    double sum = 0;
    for (int i = 0; i < o->runs; i++)
        sum += t[i];
    qsort(t, (size_t)o->runs, sizeof *t, cmp_double);
    r->runs = o->runs;
    r->min_ms = t[0];
    r->median_ms = percentile(t, o->runs, 0.5);
    r->p90_ms = percentile(t, o->runs, 0.9);
    r->mean_ms = sum / o->runs;
    if (bc->figures)
        r->n_fig = bc->figures(state, r->fig, AC_BENCH_MAX_FIGURES);
out:
    free(t);
    if (bc->teardown)
        bc->teardown(state);
}

/* Runs fn in a child; returns its peak RSS in KiB, or -1 if it died. */
static long in_child(const struct ac_bench_case *bc, const struct ac_bench_opts *o,
                     struct bench_result *r)
{
    int fd[2];
    memset(r, 0, sizeof *r);
    fflush(NULL);
    if (pipe(fd)) {
        r->status = -errno;
        snprintf(r->err, sizeof r->err, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        r->status = -errno;
        snprintf(r->err, sizeof r->err, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        struct bench_result cr = {0};
        if (bc)
            run_case(bc, o, &cr);
        ssize_t w = write(fd[1], &cr, sizeof cr);
        _exit(w == (ssize_t)sizeof cr ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fd[0], (char *)r + got, sizeof *r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        r->status = -EIO;
        snprintf(r->err, sizeof r->err, "case process died (%s %d)",
                 WIFSIGNALED(st) ? "signal" : "status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        return -1;
    }
    return ru.ru_maxrss;
}

static void print_figures_text(const struct bench_result *r)
{
    for (int i = 0; i < r->n_fig; i++) {
        double v = r->fig[i].value;
        if (v >= 1e6)
            printf(" %s=%.3fM", r->fig[i].key, v / 1e6);
        else
            printf(" %s=%.6g", r->fig[i].key, v);
    }
}

int ac_cmd_bench(int argc, char **argv)
{
    struct bench_cli c;
    int ret = parse(&c, argc, argv);
    if (ret >= 0)
        return ret;
    if (c.list) {
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
            for (const struct ac_bench_case *bc = tables[t]; bc->name; bc++)
                printf("%-28s %s\n", bc->name, bc->what);
        return 0;
    }
    struct bench_result r;
    long base_kb = in_child(NULL, &c.o, &r);
    if (c.json)
        printf("{\"runs\": %d, \"threads\": %d, \"baseline_rss_kb\": %ld, \"cases\": [", c.o.runs,
               c.o.threads, base_kb);
    else
        printf("%d timed runs per case after %d warm-up, %d thread(s); baseline RSS %ld KiB\n"
               "%-26s %10s %10s %10s %12s  figures\n",
               c.o.runs, WARMUP_RUNS, c.o.threads, base_kb, "case", "median ms", "p90 ms",
               "min ms", "peak RSS KiB");
    int first = 1, failed = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const struct ac_bench_case *bc = tables[t]; bc->name; bc++) {
            if (c.filter && !strstr(bc->name, c.filter))
                continue;
            long kb = in_child(bc, &c.o, &r);
            failed += r.status && r.status != -ENOENT;
            if (c.json) {
                printf("%s{\"name\": ", first ? "" : ", ");
                ac_agecli_json_str(stdout, bc->name);
                printf(", \"what\": ");
                ac_agecli_json_str(stdout, bc->what);
                if (r.status) {
                    printf(", \"%s\": ", r.status == -ENOENT ? "skipped" : "error");
                    ac_agecli_json_str(stdout, r.err);
                } else {
                    printf(", \"runs\": %d, \"median_ms\": %.4f, \"p90_ms\": %.4f, \"mean_ms\": %.4f, "
                           "\"min_ms\": %.4f, \"peak_rss_kb\": %ld",
                           r.runs, r.median_ms, r.p90_ms, r.mean_ms, r.min_ms, kb);
                    for (int i = 0; i < r.n_fig; i++)
                        printf(", \"%s\": %.17g", r.fig[i].key, r.fig[i].value);
                }
                printf("}");
            } else if (r.status) {
                printf("%-26s %s: %s\n", bc->name, r.status == -ENOENT ? "skipped" : "FAILED", r.err);
            } else {
                printf("%-26s %10.3f %10.3f %10.3f %12ld ", bc->name, r.median_ms, r.p90_ms, r.min_ms,
                       kb);
                print_figures_text(&r);
                printf("\n");
            }
            fflush(stdout);
            first = 0;
        }
    }
    if (c.json)
        printf("]}\n");
    return failed ? 1 : 0;
}
