/* agecam eval: the C runtime over a labelled folder, with the metrics of
 * src/age/ac_agemetrics.h. train/eval_age.py prints the same report from
 * PyTorch, so the two can be compared line by line. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "age/ac_age.h"
#include "age/ac_agecsv.h"
#include "age/ac_agemetrics.h"
#include "common/ac_image.h"
#include "tools/ac_agecli.h"

struct eval_opts {
    const char *labels, *root, *model, *predictions, *from_predictions;
    int small, json, mirror, backend, jobs;
    long limit;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam eval --labels FILE.csv [--root DIR] [options]\n"
            "Estimate the age of every image in a labelled list and report the error.\n"
            "  --labels FILE.csv        header with path,age (optional gender, race; other\n"
            "                           columns ignored); relative paths are under --root\n"
            "  --root DIR               folder of the images (default .)\n"
            "  --model PATH             age model (default: smlf-full.acnn, see estimate --help)\n"
            "  --small                  default to smlf-small.acnn\n"
            "  --no-mirror              no mirror test-time averaging\n"
            "  --backend scalar|fast    inference kernels (default fast)\n"
            "  --limit N                only the first N rows\n"
            "  --jobs N                 images estimated in parallel (default 1)\n"
            "  --predictions OUT.csv    write path,age,pred per image\n"
            "  --from-predictions IN.csv  metrics only, from a csv with path,pred\n"
            "  --json                   one JSON object instead of the table\n"
            "  -h, --help\n"
            "Figures: MAE against the raw true age, MAE65 with the truth clipped to 65,\n"
            "CS(j) = share with |error| <= j years, MAE per age band and per group.\n"
            "Unreadable images are reported on stderr and counted as failed.\n");
}

static int parse(struct eval_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"labels", required_argument, 0, 'l'},  {"root", required_argument, 0, 'r'},
        {"model", required_argument, 0, 'm'},   {"small", no_argument, 0, 's'},
        {"no-mirror", no_argument, 0, 'M'},     {"backend", required_argument, 0, 'b'},
        {"limit", required_argument, 0, 'n'},   {"jobs", required_argument, 0, 'J'},   {"predictions", required_argument, 0, 'p'},
        {"from-predictions", required_argument, 0, 'P'},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (struct eval_opts){.root = ".", .mirror = 1, .backend = AC_NN_FAST, .limit = -1, .jobs = 1};
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': o->labels = optarg; break;
        case 'r': o->root = optarg; break;
        case 'm': o->model = optarg; break;
        case 's': o->small = 1; break;
        case 'M': o->mirror = 0; break;
        case 'b':
            if ((o->backend = ac_agecli_backend("eval", optarg)) < 0)
                return 2;
            break;
        case 'n':
            o->limit = strtol(optarg, &end, 10);
            if (*end || o->limit < 0) {
                fprintf(stderr, "agecam eval: bad --limit '%s'\n", optarg);
                return 2;
            }
            break;
        case 'J':
            o->jobs = (int)strtol(optarg, &end, 10);
            if (*end || o->jobs < 1 || o->jobs > 64) {
                fprintf(stderr, "agecam eval: bad --jobs '%s' (1..64)\n", optarg);
                return 2;
            }
            break;
        case 'p': o->predictions = optarg; break;
        case 'P': o->from_predictions = optarg; break;
        case 'j': o->json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agecam eval: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->labels) {
        fprintf(stderr, "agecam eval: --labels is required\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Predictions from a file of path,pred rows, sorted by path for lookup. */
static int cmp_row_path(const void *a, const void *b)
{
    return strcmp(((const struct ac_agecsv_row *)a)->path, ((const struct ac_agecsv_row *)b)->path);
}

static int load_given(const char *path, struct ac_agecsv *given)
{
    char err[768];
    if (ac_agecsv_load_column(path, "pred", given, err, sizeof err)) {
        fprintf(stderr, "agecam eval: %s\n", err);
        return -1;
    }
    qsort(given->rows, given->n, sizeof *given->rows, cmp_row_path);
    return 0;
}

static int given_pred(const struct ac_agecsv *given, const char *path, double *pred)
{
    struct ac_agecsv_row key = {.path = path};
    const struct ac_agecsv_row *hit =
        bsearch(&key, given->rows, given->n, sizeof *given->rows, cmp_row_path);
    if (!hit)
        return -1;
    *pred = hit->age;
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static const char *image_error(int rc)
{
    return rc == -EINVAL ? "not a decodable JPEG/PNG image"
           : rc == -E2BIG ? "image too large"
                          : strerror(-rc);
}

static void report_text(const struct eval_opts *o, const char *model, const struct ac_agecsv *csv,
                        const struct ac_agemetrics *m, size_t failed, double ips)
{
    printf("model      %s\n", model);
    printf("labels     %s\n", o->labels);
    printf("images     %zu evaluated, %zu failed, mirror %s\n", m->n, failed,
           o->from_predictions ? "n/a" : o->mirror ? "on" : "off");
    printf("MAE        %.4f   (raw true age)\n", ac_agemetrics_mae(m));
    printf("MAE65      %.4f   (true age clipped to 65)\n", ac_agemetrics_mae_clip(m));
    printf("bias       %+.4f   (mean predicted - true)\n", ac_agemetrics_bias(m));
    printf("CS(j) %%   ");
    for (int j = 0; j <= AC_AGEMETRICS_CS_MAX; j++)
        printf(" %d:%.1f", j, 100 * ac_agemetrics_cs(m, j));
    printf("\n");
    for (int b = 0; b < AC_AGEMETRICS_BANDS; b++)
        printf("band %-6s%6zu faces  MAE %.4f\n", ac_agemetrics_band_names[b], m->band[b].n,
               ac_agemetrics_cell_mae(&m->band[b]));
    for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++) {
        const char *name = ac_agecsv_group_names[g];
        for (int i = 0; i < csv->groups[g].n; i++)
            printf("%s %-*s%6zu faces  MAE %.4f\n", name, (int)(10 - strlen(name)),
                   csv->groups[g].label[i], m->group[g][i].n,
                   ac_agemetrics_cell_mae(&m->group[g][i]));
    }
    printf("speed      %.1f images/s\n", ips);
}

static void report_json(const struct eval_opts *o, const char *model, const struct ac_agecsv *csv,
                        const struct ac_agemetrics *m, size_t failed, double ips)
{
    printf("{\"model\": ");
    ac_agecli_json_str(stdout, model);
    printf(", \"labels\": ");
    ac_agecli_json_str(stdout, o->labels);
    printf(", \"mirror\": %s, \"failed\": %zu, \"images_per_s\": %.3f, \"count\": %zu",
           o->from_predictions ? "null" : o->mirror ? "true" : "false", failed, ips, m->n);
    printf(", \"mae\": %.9g, \"mae_clip65\": %.9g, \"bias\": %.9g, \"cs\": [", ac_agemetrics_mae(m),
           ac_agemetrics_mae_clip(m), ac_agemetrics_bias(m));
    for (int j = 0; j <= AC_AGEMETRICS_CS_MAX; j++)
        printf("%s%.9g", j ? ", " : "", ac_agemetrics_cs(m, j));
    printf("], \"bands\": [");
    for (int b = 0; b < AC_AGEMETRICS_BANDS; b++)
        printf("%s{\"band\": \"%s\", \"count\": %zu, \"mae\": %.9g}", b ? ", " : "",
               ac_agemetrics_band_names[b], m->band[b].n, ac_agemetrics_cell_mae(&m->band[b]));
    printf("]");
    for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++) {
        if (!csv->groups[g].present)
            continue;
        printf(", \"%s\": [", ac_agecsv_group_names[g]);
        for (int i = 0; i < csv->groups[g].n; i++) {
            printf("%s{\"label\": ", i ? ", " : "");
            ac_agecli_json_str(stdout, csv->groups[g].label[i]);
            printf(", \"count\": %zu, \"mae\": %.9g}", m->group[g][i].n,
                   ac_agemetrics_cell_mae(&m->group[g][i]));
        }
        printf("]");
    }
    printf("}\n");
}

/* Workers take every jobs-th row; results land in per-row slots so the
 * metrics are summed afterwards in csv order, whatever the job count. */
struct eval_work {
    const struct eval_opts *o;
    const struct ac_agecsv *csv;
    const struct ac_agecsv *given;
    struct ac_age *est; /* this worker's own */
    size_t first, step, n;
    double *pred;       /* NAN: failed */
    pthread_t thread;
};

static double predict_row(struct eval_work *w, const struct ac_agecsv_row *row)
{
    double pred;
    if (w->given) {
        if (given_pred(w->given, row->path, &pred)) {
            fprintf(stderr, "agecam eval: %s: no prediction\n", row->path);
            return NAN;
        }
        return pred;
    }
    char path[4096];
    ac_agecli_image_path(w->o->root, row->path, path, sizeof path);
    struct ac_image img;
    int rc = ac_image_load(path, &img);
    if (rc) {
        fprintf(stderr, "agecam eval: %s: %s\n", path, image_error(rc));
        return NAN;
    }
    struct ac_age_result r;
    rc = ac_age_estimate(w->est, img.rgb, img.w, img.h, img.stride, &r);
    if (rc)
        fprintf(stderr, "agecam eval: %s: cannot estimate a %dx%d crop: %s\n", path, img.w, img.h,
                strerror(-rc));
    ac_image_free(&img);
    return rc ? NAN : r.age;
}

static void *eval_worker(void *arg)
{
    struct eval_work *w = arg;
    for (size_t i = w->first; i < w->n; i += w->step)
        w->pred[i] = predict_row(w, &w->csv->rows[i]);
    return NULL;
}

int ac_cmd_eval(int argc, char **argv)
{
    struct eval_opts o;
    int ret = parse(&o, argc, argv);
    if (ret >= 0)
        return ret;

    struct ac_agecsv csv;
    char err[768];
    if (ac_agecsv_load(o.labels, &csv, err, sizeof err)) {
        fprintf(stderr, "agecam eval: %s\n", err);
        return 1;
    }
    struct ac_agecsv given = {0};
    struct ac_nn_model *nn = NULL;
    struct eval_work *work = calloc((size_t)o.jobs, sizeof *work);
    size_t n = csv.n;
    if (o.limit >= 0 && (size_t)o.limit < n)
        n = (size_t)o.limit;
    double *pred = calloc(n, sizeof *pred);
    FILE *pf = NULL;
    char model[1024];
    int jobs = o.from_predictions ? 1 : o.jobs;
    ret = 1;
    if (!work || !pred) {
        fprintf(stderr, "agecam eval: out of memory\n");
        goto out;
    }
    if (o.from_predictions) {
        if (load_given(o.from_predictions, &given))
            goto out;
        snprintf(model, sizeof model, "%s", o.from_predictions);
    } else {
        if (ac_agecli_model("eval", o.model, o.small, model, sizeof model))
            goto out;
        char msg[512] = "";
        int rc = ac_nn_model_load(model, &nn, msg, sizeof msg);
        if (rc) {
            fprintf(stderr, "agecam eval: %s: %s\n", model, msg[0] ? msg : strerror(-rc));
            goto out;
        }
        struct ac_age_settings s;
        ac_age_settings_default(&s);
        s.backend = o.backend;
        s.mirror = o.mirror;
        for (int j = 0; j < jobs; j++)
            if (ac_age_create_shared(&s, nn, &work[j].est, err, sizeof err)) {
                fprintf(stderr, "agecam eval: %s: %s\n", model, err);
                goto out;
            }
        ac_agecli_warn_untrained("eval", work[0].est, model);
    }
    if (o.predictions) {
        if (!(pf = fopen(o.predictions, "w"))) {
            fprintf(stderr, "agecam eval: %s: %s\n", o.predictions, strerror(errno));
            goto out;
        }
        fprintf(pf, "path,age,pred\n");
    }

    double t0 = now_s();
    int started = 0;
    for (int j = 0; j < jobs; j++) {
        work[j] = (struct eval_work){.o = &o, .csv = &csv, .given = o.from_predictions ? &given : NULL,
                                     .est = work[j].est, .first = (size_t)j, .step = (size_t)jobs,
                                     .n = n, .pred = pred};
        if (j == 0)
            continue;
        int rc = pthread_create(&work[j].thread, NULL, eval_worker, &work[j]);
        if (rc) {
            fprintf(stderr, "agecam eval: cannot start a worker: %s\n", strerror(rc));
            for (int k = 1; k < j; k++)
                pthread_join(work[k].thread, NULL);
            goto out;
        }
        started = j;
    }
    eval_worker(&work[0]);
    for (int j = 1; j <= started; j++)
        pthread_join(work[j].thread, NULL);
    double dt = now_s() - t0;

    struct ac_agemetrics m;
    ac_agemetrics_init(&m);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ac_agecsv_row *row = &csv.rows[i];
        if (isnan(pred[i])) {
            failed++;
            continue;
        }
        ac_agemetrics_add(&m, row->age, pred[i], row->group);
        if (pf) {
            ac_agecli_csv_str(pf, row->path);
            fprintf(pf, ",%g,%.6f\n", row->age, pred[i]);
        }
    }
    double ips = dt > 0 ? (double)n / dt : 0;
    if (o.json)
        report_json(&o, model, &csv, &m, failed, ips);
    else
        report_text(&o, model, &csv, &m, failed, ips);
    ret = m.n ? 0 : 1;
out:
    if (pf && fclose(pf)) {
        fprintf(stderr, "agecam eval: %s: %s\n", o.predictions, strerror(errno));
        ret = 1;
    }
    for (int j = 0; work && j < o.jobs; j++)
        ac_age_destroy(work[j].est);
    free(work);
    free(pred);
    ac_nn_model_destroy(nn);
    ac_agecsv_free(&given);
    ac_agecsv_free(&csv);
    return ret;
}
