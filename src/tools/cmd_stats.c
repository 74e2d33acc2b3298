/* agecam stats: crowd-age statistics from the ring. Counts each track once
 * (after a minimum dwell), keeps the counted visits in a crash-safe state
 * file, reports per time window and age band, and optionally serves
 * Prometheus metrics on a loopback address. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agecam/ring.h"
#include "stats/ac_agestats.h"
#include "stats/ac_httpd.h"
#include "stats/ac_mqtt.h"
#include "stats/ac_prom.h"
#include "stats/ac_statefile.h"
#include "stats/ac_visits.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct stats_opts {
    const char *ring, *state, *listen, *port_file, *mqtt, *mqtt_prefix;
    int follow, use_ring;
    struct ac_bands bands;
    struct ac_report_settings rep;
    int64_t min_dwell_s, report_every_s, retry_s, mqtt_every_s;
    double idle_exit;
    int now_given;
};

struct stats_ctx {
    struct stats_opts o;
    struct ac_agestats *stats;
    struct ac_visits *visits;
    struct ac_statefile *sf;
    struct ac_mqtt *mqtt;
    agecam_reader *r;
    uint64_t instance, missed, save_errors;
    int writer_up, save_failing;
    double last_save_try;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam stats [options]\n"
            "Crowd-age statistics from the agecam ring: unique visitors per time window and age band.\n"
            "  --ring NAME          ring to read (default \"agecam\")\n"
            "  --no-ring            only report what the state file holds\n"
            "  --state FILE         crash-safe visit log (default $STATE_DIRECTORY/visits.log,\n"
            "                       else ./agecam-visits.log)\n"
            "  --follow             keep consuming until SIGINT/SIGTERM (default: read the ring once)\n"
            "  --listen ADDR:PORT   serve Prometheus /metrics on a loopback address (implies --follow)\n"
            "  --port-file FILE     write the bound port there (useful with port 0)\n"
            "  --window LIST        window lengths, e.g. 15m,1h (default)\n"
            "  --last N             windows per length, ending with the current one (default 4)\n"
            "  --bands LIST         age bands (default %s)\n"
            "  --min-dwell D        seconds a track must stay to count (default 2s)\n"
            "  --format F           table (default), csv or json;  --json = --format json\n"
            "  --report-every D     with --follow: print a report every D\n"
            "  --exit-on-idle S     with --follow: exit after S seconds without ring records\n"
            "  --now EPOCH          report windows as of this UNIX time (default: now)\n"
            "  --retry D            retry interval when the state file cannot be written (default 5s)\n"
            "  --mqtt HOST[:PORT]   with --follow: publish each visit and periodic totals over MQTT\n"
            "  --mqtt-prefix P      topic prefix (default \"agecam\"): P/visit, P/stats, P/online\n"
            "  --mqtt-every D       period of P/stats (default 60s)\n"
            "  -h, --help\n",
            AC_DEFAULT_BANDS);
}

static int bad(const char *what, const char *v)
{
    fprintf(stderr, "agecam stats: bad %s '%s'\n", what, v);
    return 2;
}

static int parse(struct stats_opts *o, int argc, char **argv)
{
    enum { O_RING = 256, O_NORING, O_STATE, O_FOLLOW, O_LISTEN, O_PORTFILE, O_WINDOW, O_LAST, O_BANDS,
           O_DWELL, O_FORMAT, O_JSON, O_EVERY, O_IDLE, O_NOW, O_RETRY, O_MQTT, O_MQTT_PREFIX,
           O_MQTT_EVERY };
    static const struct option longopts[] = {
        {"ring", required_argument, 0, O_RING},       {"no-ring", no_argument, 0, O_NORING},
        {"state", required_argument, 0, O_STATE},     {"follow", no_argument, 0, O_FOLLOW},
        {"listen", required_argument, 0, O_LISTEN},   {"port-file", required_argument, 0, O_PORTFILE},
        {"window", required_argument, 0, O_WINDOW},   {"last", required_argument, 0, O_LAST},
        {"bands", required_argument, 0, O_BANDS},     {"min-dwell", required_argument, 0, O_DWELL},
        {"format", required_argument, 0, O_FORMAT},   {"json", no_argument, 0, O_JSON},
        {"report-every", required_argument, 0, O_EVERY}, {"exit-on-idle", required_argument, 0, O_IDLE},
        {"now", required_argument, 0, O_NOW},         {"retry", required_argument, 0, O_RETRY},
        {"mqtt", required_argument, 0, O_MQTT},       {"mqtt-prefix", required_argument, 0, O_MQTT_PREFIX},
        {"mqtt-every", required_argument, 0, O_MQTT_EVERY},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0},
    };
    memset(o, 0, sizeof(*o));
    o->ring = AGECAM_RING_DEFAULT_NAME;
    o->use_ring = 1;
    o->min_dwell_s = 2;
    o->retry_s = 5;
    o->mqtt_prefix = "agecam";
    o->mqtt_every_s = 60;
    o->idle_exit = -1;
    o->rep.last = 4;
    o->rep.nwindows = 2;
    o->rep.window_s[0] = 900;
    o->rep.window_s[1] = 3600;
    ac_bands_parse(&o->bands, AC_DEFAULT_BANDS);
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_RING: o->ring = optarg; break;
        case O_NORING: o->use_ring = 0; break;
        case O_STATE: o->state = optarg; break;
        case O_FOLLOW: o->follow = 1; break;
        case O_LISTEN: o->listen = optarg, o->follow = 1; break;
        case O_PORTFILE: o->port_file = optarg; break;
        case O_WINDOW: {
            char buf[256];
            snprintf(buf, sizeof(buf), "%s", optarg);
            o->rep.nwindows = 0;
            for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                int64_t s;
                if (o->rep.nwindows == AC_MAX_WINDOWS || ac_parse_duration(tok, &s) || s <= 0)
                    return bad("--window", optarg);
                o->rep.window_s[o->rep.nwindows++] = s;
            }
            if (!o->rep.nwindows)
                return bad("--window", optarg);
            break;
        }
        case O_LAST:
            o->rep.last = (int)strtol(optarg, &end, 10);
            if (*end || o->rep.last < 1 || o->rep.last > 10000)
                return bad("--last", optarg);
            break;
        case O_BANDS:
            if (ac_bands_parse(&o->bands, optarg))
                return bad("--bands (want e.g. 0-17,18-64,65+)", optarg);
            break;
        case O_DWELL:
            if (ac_parse_duration(optarg, &o->min_dwell_s))
                return bad("--min-dwell", optarg);
            break;
        case O_FORMAT:
            if (!strcmp(optarg, "table"))
                o->rep.format = AC_REPORT_TABLE;
            else if (!strcmp(optarg, "csv"))
                o->rep.format = AC_REPORT_CSV;
            else if (!strcmp(optarg, "json"))
                o->rep.format = AC_REPORT_JSON;
            else
                return bad("--format", optarg);
            break;
        case O_JSON: o->rep.format = AC_REPORT_JSON; break;
        case O_EVERY:
            if (ac_parse_duration(optarg, &o->report_every_s))
                return bad("--report-every", optarg);
            break;
        case O_IDLE:
            o->idle_exit = strtod(optarg, &end);
            if (*end || !(o->idle_exit >= 0))
                return bad("--exit-on-idle", optarg);
            break;
        case O_NOW:
            o->rep.now_s = strtoll(optarg, &end, 10);
            if (*end)
                return bad("--now", optarg);
            o->now_given = 1;
            break;
        case O_RETRY:
            if (ac_parse_duration(optarg, &o->retry_s) || o->retry_s < 1)
                return bad("--retry", optarg);
            break;
        case O_MQTT: o->mqtt = optarg, o->follow = 1; break;
        case O_MQTT_PREFIX: o->mqtt_prefix = optarg; break;
        case O_MQTT_EVERY:
            if (ac_parse_duration(optarg, &o->mqtt_every_s) || o->mqtt_every_s < 1)
                return bad("--mqtt-every", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agecam stats: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

static int replay_visit(void *ctx, const struct ac_visit *v)
{
    int ret = ac_agestats_add(ctx, v);
    return ret < 0 ? ret : 0;
}

static void fmt_utc(char *buf, size_t n, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void mqtt_visit(struct stats_ctx *s, const struct ac_visit *v)
{
    char msg[512], first[32];
    const struct ac_bands *b = ac_agestats_bands(s->stats);
    fmt_utc(first, sizeof(first), v->first_ns);
    snprintf(msg, sizeof(msg),
             "{\"instance\":\"%016llx\",\"camera\":%u,\"track\":%llu,\"first_seen\":\"%s\","
             "\"dwell_s\":%.1f,\"age\":%.2f,\"std\":%.2f,\"band\":\"%s\"}",
             (unsigned long long)v->instance, v->camera, (unsigned long long)v->track, first,
             (double)(v->last_ns - v->first_ns) * 1e-9, v->age, v->std, b->label[ac_bands_index(b, v->age)]);
    ac_mqtt_publish(s->mqtt, "visit", msg, 0);
}

static void mqtt_totals(struct stats_ctx *s)
{
    char msg[2048];
    const struct ac_bands *b = ac_agestats_bands(s->stats);
    struct ac_visits_counters c = ac_visits_counters(s->visits);
    int k = snprintf(msg, sizeof(msg), "{\"visitors_total\":%llu,\"bands\":{",
                     (unsigned long long)ac_agestats_count(s->stats));
    for (int i = 0; i < b->n && k < (int)sizeof(msg); i++)
        k += snprintf(msg + k, sizeof(msg) - (size_t)k, "%s\"%s\":%llu", i ? "," : "", b->label[i],
                      (unsigned long long)ac_agestats_band_total(s->stats, i));
    if (k < (int)sizeof(msg))
        k += snprintf(msg + k, sizeof(msg) - (size_t)k,
                      "},\"passersby\":%llu,\"tracks_active\":%u,\"writer_up\":%d,\"ring_missed\":%llu,\"cameras\":[",
                      (unsigned long long)c.passersby, ac_visits_open_count(s->visits), s->writer_up,
                      (unsigned long long)s->missed);
    for (unsigned cam = 0, first = 1; cam < AC_VISITS_MAX_CAMERAS && k < (int)sizeof(msg); cam++) {
        const struct ac_camera_health *h = ac_visits_health(s->visits, cam);
        if (!h)
            continue;
        k += snprintf(msg + k, sizeof(msg) - (size_t)k,
                      "%s{\"camera\":%u,\"fps\":%.2f,\"faces\":%u,\"drops\":%llu,\"online\":%s}", first ? "" : ",",
                      cam, (double)h->h.fps, h->h.faces, (unsigned long long)h->h.drops,
                      h->h.camera_online ? "true" : "false");
        first = 0;
    }
    if (k < (int)sizeof(msg) - 3) {
        strcat(msg, "]}");
        ac_mqtt_publish(s->mqtt, "stats", msg, 1);
    }
}

static void count_visit(struct stats_ctx *s, const struct ac_visit *v)
{
    if (ac_agestats_add(s->stats, v) != 1)
        return;
    if (ac_statefile_append(s->sf, v))
        fprintf(stderr, "agecam stats: out of memory queueing a visit for the state file\n");
    if (s->mqtt)
        mqtt_visit(s, v);
}

static void save(struct stats_ctx *s, int force)
{
    double now = mono_s();
    if (!ac_statefile_pending(s->sf) || (s->save_failing && !force && now - s->last_save_try < (double)s->o.retry_s))
        return;
    s->last_save_try = now;
    int ret = ac_statefile_flush(s->sf);
    if (ret) {
        s->save_errors++;
        if (!s->save_failing)
            fprintf(stderr, "agecam stats: cannot save visits to %s: %s; counting on in memory, "
                    "retrying every %llds\n", s->o.state, strerror(-ret), (long long)s->o.retry_s);
        s->save_failing = 1;
    } else if (s->save_failing) {
        fprintf(stderr, "agecam stats: state file %s writable again, all visits saved\n", s->o.state);
        s->save_failing = 0;
    }
}

/* The writer is gone: its open tracks will never see an END. */
static void finish_open_tracks(struct stats_ctx *s)
{
    struct ac_visit done[64];
    int n;
    while ((n = ac_visits_finish_all(s->visits, done, 64)) > 0)
        for (int i = 0; i < n; i++)
            count_visit(s, &done[i]);
}

static int read_batch(struct stats_ctx *s)
{
    int got = 0;
    for (int calls = 0; got < 4096 && calls < 8192; calls++) {
        struct agecam_record rec;
        int ret = agecam_reader_next(s->r, &rec, &s->missed);
        if (ret == -EAGAIN)
            continue;
        if (ret < 0) {
            fprintf(stderr, "agecam stats: corrupt ring record skipped\n");
            break;
        }
        if (ret == 0)
            break;
        got++;
        struct ac_visit v;
        if (ac_visits_feed(s->visits, s->instance, &rec, &v) == 1)
            count_visit(s, &v);
    }
    return got;
}

static int render_metrics(void *ctx, char **buf, size_t *len)
{
    struct stats_ctx *s = ctx;
    struct ac_prom_input in = {.stats = s->stats, .visits = s->visits, .ring_missed = s->missed,
                               .writer_up = s->writer_up, .save_errors = s->save_errors,
                               .pending = ac_statefile_pending(s->sf), .heartbeat_age_s = -1,
                               .mqtt_dropped = s->mqtt ? (int64_t)ac_mqtt_dropped(s->mqtt) : -1};
    struct agecam_ring_info info;
    if (s->r && agecam_reader_info(s->r, &info) == 0 && info.heartbeat_mono_ns) {
        /* same machine, same CLOCK_MONOTONIC as the writer */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        in.heartbeat_age_s = (double)(now - (int64_t)info.heartbeat_mono_ns) * 1e-9;
    }
    return ac_prom_render(&in, buf, len);
}

static void report(struct stats_ctx *s)
{
    struct ac_report_settings rs = s->o.rep;
    if (!s->o.now_given)
        rs.now_s = (int64_t)time(NULL);
    ac_agestats_report(s->stats, &rs, stdout);
    if (ac_statefile_pending(s->sf))
        fprintf(stderr, "agecam stats: %zu visits not yet saved to %s\n", ac_statefile_pending(s->sf), s->o.state);
    fflush(stdout);
}

/* Checks liveness and restarts while idle. */
static void check_writer(struct stats_ctx *s)
{
    struct agecam_ring_info info;
    agecam_reader_info(s->r, &info);
    int changed = agecam_reader_changed(s->r);
    int alive = info.writer_alive && info.state == AGECAM_RING_LIVE;
    if (!alive || changed)
        finish_open_tracks(s);
    s->writer_up = alive && changed == 0;
    if (changed == 1) {
        agecam_reader_close(s->r);
        s->r = NULL;
    }
}

static int run(struct stats_ctx *s)
{
    struct ac_httpd *httpd = NULL;
    int ret;
    if (s->o.listen) {
        ret = ac_httpd_start(&httpd, s->o.listen, render_metrics, s);
        if (ret) {
            fprintf(stderr, "agecam stats: cannot serve metrics on %s: %s\n", s->o.listen,
                    ret == -EACCES ? "not a loopback address" :
                    ret == -ENOTSUP ? "built without libmicrohttpd" : strerror(-ret));
            return 1;
        }
        fprintf(stderr, "agecam stats: metrics on http://%s (port %u)/metrics\n", s->o.listen, ac_httpd_port(httpd));
        if (s->o.port_file) {
            FILE *f = fopen(s->o.port_file, "w");
            if (!f || fprintf(f, "%u\n", ac_httpd_port(httpd)) < 0 || fclose(f)) {
                fprintf(stderr, "agecam stats: cannot write %s\n", s->o.port_file);
                ac_httpd_stop(httpd);
                return 1;
            }
        }
    }
    if (s->o.mqtt) {
        char host[256];
        struct ac_mqtt_settings ms = {.prefix = s->o.mqtt_prefix};
        ret = ac_mqtt_parse_address(s->o.mqtt, host, sizeof(host), &ms);
        if (!ret)
            ret = ac_mqtt_start(&s->mqtt, &ms);
        if (ret) {
            fprintf(stderr, "agecam stats: MQTT %s (prefix %s): %s\n", s->o.mqtt, s->o.mqtt_prefix,
                    ret == -ENOTSUP ? "built without libmosquitto" : strerror(-ret));
            ac_httpd_stop(httpd);
            return 1;
        }
    }
    int waiting_said = 0, status = 0, reattach = 0;
    double last_activity = mono_s(), last_check = 0, last_report = mono_s(), last_mqtt = 0;
    while (!stop_flag) {
        double now = mono_s();
        if (s->o.use_ring && !s->r) {
            ret = agecam_reader_open(&s->r, s->o.ring);
            if (ret == 0) {
                struct agecam_ring_info info;
                agecam_reader_info(s->r, &info);
                /* Reading starts at the oldest record; visits seen by an earlier
                 * run are known to the dedup set and not counted twice. */
                s->instance = info.instance;
                s->writer_up = info.writer_alive && info.state == AGECAM_RING_LIVE;
                if (reattach)
                    s->missed += info.next_seq - 1; /* overwritten before we switched over */
                reattach = 1;
                waiting_said = 0;
            } else if (ret == -EINVAL) {
                fprintf(stderr, "agecam stats: bad ring name '%s'\n", s->o.ring);
                status = 2;
                break;
            } else if (!s->o.follow) {
                fprintf(stderr, "agecam stats: ring '%s': %s; reporting saved visits only\n", s->o.ring,
                        strerror(-ret));
                break;
            } else if (!waiting_said) {
                fprintf(stderr, "agecam stats: waiting for ring '%s' (%s)\n", s->o.ring, strerror(-ret));
                waiting_said = 1;
            }
        }
        int got = s->r ? read_batch(s) : 0;
        if (got)
            last_activity = now;
        save(s, 0);
        if (!s->o.follow) {
            if (got == 4096)
                continue;
            if (s->r)
                check_writer(s); /* a dead writer's open tracks count now */
            break;
        }
        if (s->mqtt)
            ac_mqtt_poll(s->mqtt);
        if (s->mqtt && now - last_mqtt >= (double)s->o.mqtt_every_s) {
            mqtt_totals(s);
            last_mqtt = now;
        }
        if (s->o.report_every_s && now - last_report >= (double)s->o.report_every_s) {
            report(s);
            last_report = now;
        }
        if (got)
            continue;
        if (s->o.idle_exit >= 0 && now - last_activity >= s->o.idle_exit)
            break;
        if (s->r && now - last_check >= 0.25) {
            last_check = now;
            check_writer(s);
            if (!s->r)
                continue;
        }
        ac_httpd_wait(httpd, 20);
    }
    save(s, 1);
    if (status)
        goto out;
    if (ac_statefile_pending(s->sf))
        status = 1;
    report(s);
out:
    if (s->mqtt) {
        mqtt_totals(s);
        ac_mqtt_stop(s->mqtt);
        s->mqtt = NULL;
    }
    ac_httpd_stop(httpd);
    return status;
}

int ac_cmd_stats(int argc, char **argv)
{
    struct stats_ctx s;
    memset(&s, 0, sizeof(s));
    int ret = parse(&s.o, argc, argv);
    if (ret >= 0)
        return ret;
    char state_buf[4096];
    if (!s.o.state) {
        /* systemd StateDirectory= exports a ':'-separated list; the first is ours */
        const char *dir = getenv("STATE_DIRECTORY");
        int len = dir && *dir ? (int)strcspn(dir, ":") : 0;
        snprintf(state_buf, sizeof(state_buf), "%.*s%s", len, dir ? dir : "",
                 len ? "/visits.log" : "agecam-visits.log");
        s.o.state = state_buf;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct ac_visits_settings vs = {.min_dwell_ns = s.o.min_dwell_s * 1000000000LL};
    int status = 1;
    if ((ret = ac_agestats_create(&s.stats, &s.o.bands)) || (ret = ac_visits_create(&s.visits, &vs))) {
        fprintf(stderr, "agecam stats: %s\n", strerror(-ret));
        goto out;
    }
    struct ac_statefile_replay rep;
    ret = ac_statefile_open(&s.sf, s.o.state, replay_visit, s.stats, &rep);
    if (ret) {
        fprintf(stderr, "agecam stats: cannot open state file %s: %s\n", s.o.state, strerror(-ret));
        goto out;
    }
    if (rep.corrupt || rep.torn)
        fprintf(stderr, "agecam stats: %s: %llu visits restored, %llu corrupt lines skipped, "
                "%llu bytes of a torn last record dropped\n", s.o.state, (unsigned long long)rep.records,
                (unsigned long long)rep.corrupt, (unsigned long long)rep.torn);
    status = run(&s);
out:
    agecam_reader_close(s.r);
    ac_statefile_close(s.sf);
    ac_visits_destroy(s.visits);
    ac_agestats_destroy(s.stats);
    return status;
}
