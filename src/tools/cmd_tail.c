/* agecam tail: print ring events as they are published, like tail -f.
 * Waits for the ring to appear, reports every gap instead of hiding it, and
 * reattaches when the daemon restarts and recreates the ring. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agecam/ring.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct tail_opts {
    const char *ring;
    long n;
    int follow, json, health;
    double idle_exit; /* seconds, < 0 = never */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL); /* EINTR on SIGINT is what we want */
}

static void fmt_time(char *buf, size_t n, int64_t ns)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%03dZ", (int)((ns % 1000000000) / 1000000));
}

/* JSON has no NaN/Inf */
static void jnum(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ",\"%s\":%.2f", key, v);
    else
        fprintf(f, ",\"%s\":null", key);
}

static void print_json(FILE *f, const struct agecam_record *r)
{
    char t[40];
    fmt_time(t, sizeof(t), r->t_real_ns);
    fprintf(f, "{\"seq\":%llu,\"time\":\"%s\",\"t_real_ns\":%lld,\"t_mono_ns\":%lld,\"camera\":%u,"
            "\"kind\":\"%s\"", (unsigned long long)r->seq, t, (long long)r->t_real_ns,
            (long long)r->t_mono_ns, r->camera_id, agecam_event_kind_name(r->kind));
    if (r->kind == AGECAM_EV_HEALTH) {
        const struct agecam_health *h = &r->u.health;
        jnum(f, "fps", h->fps);
        jnum(f, "latency_ms", h->latency_ms);
        fprintf(f, ",\"faces\":%u,\"tracks\":%u,\"frames\":%llu,\"drops\":%llu,\"camera_online\":%s}\n",
                h->faces, h->tracks, (unsigned long long)h->frames, (unsigned long long)h->drops,
                h->camera_online ? "true" : "false");
        return;
    }
    const struct agecam_face *fc = &r->u.face;
    fprintf(f, ",\"track\":%llu", (unsigned long long)r->track_id);
    if (r->flags & AGECAM_REC_AGE_VALID) {
        jnum(f, "age", fc->age);
        jnum(f, "std", fc->age_std);
        jnum(f, "low", fc->age_low);
        jnum(f, "high", fc->age_high);
    } else {
        fprintf(f, ",\"age\":null");
    }
    jnum(f, "quality", fc->quality);
    fprintf(f, ",\"frames\":%u,\"box\":[%.1f,%.1f,%.1f,%.1f]", fc->frames, fc->x, fc->y, fc->w, fc->h);
    if (fc->first_seen_real_ns) {
        fmt_time(t, sizeof(t), fc->first_seen_real_ns);
        fprintf(f, ",\"first_seen\":\"%s\"", t);
        jnum(f, "dwell_s", (double)(r->t_real_ns - fc->first_seen_real_ns) * 1e-9);
    }
    fprintf(f, "}\n");
}

static void print_text(FILE *f, const struct agecam_record *r)
{
    char t[40];
    fmt_time(t, sizeof(t), r->t_real_ns);
    if (r->kind == AGECAM_EV_HEALTH) {
        const struct agecam_health *h = &r->u.health;
        fprintf(f, "%s cam%u health fps %.1f latency %.1fms faces %u tracks %u frames %llu drops %llu camera %s\n",
                t, r->camera_id, h->fps, h->latency_ms, h->faces, h->tracks,
                (unsigned long long)h->frames, (unsigned long long)h->drops,
                h->camera_online ? "online" : "offline");
        return;
    }
    const struct agecam_face *fc = &r->u.face;
    fprintf(f, "%s cam%u track %llu %-6s ", t, r->camera_id, (unsigned long long)r->track_id,
            agecam_event_kind_name(r->kind));
    if (r->flags & AGECAM_REC_AGE_VALID)
        fprintf(f, "age %.1f std %.1f range %.0f-%.0f", fc->age, fc->age_std, fc->age_low, fc->age_high);
    else
        fprintf(f, "age ?");
    fprintf(f, " q %.2f", fc->quality);
    if (r->kind == AGECAM_EV_END && fc->first_seen_real_ns)
        fprintf(f, " dwell %.1fs", (double)(r->t_real_ns - fc->first_seen_real_ns) * 1e-9);
    fputc('\n', f);
}

/* Stream events besides records. `text` is a printf format taking the value once. */
static void notice(const struct tail_opts *o, const char *event, const char *key, const char *text, long long v)
{
    if (o->json) {
        printf("{\"event\":\"%s\",\"%s\":%lld}\n", event, key, v);
    } else {
        fputs("-- ", stdout);
        printf(text, v);
        fputc('\n', stdout);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agecam tail [options]\n"
            "Print face-track events from the agecam ring, one line each.\n"
            "  --ring NAME          ring to read (default \"agecam\")\n"
            "  -n, --lines N        start with the last N records still in the ring (default 10)\n"
            "  -f, --follow         keep following new records (default)\n"
            "      --once           print what the ring holds now and exit\n"
            "      --exit-on-idle S exit after S seconds without a new record\n"
            "      --no-health      hide health records\n"
            "      --json           one JSON object per line\n"
            "  -h, --help\n"
            "Gaps are reported as \"-- missed N records\"; a restarted daemon is followed.\n");
}

static int parse(struct tail_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ring", required_argument, 0, 'r'},   {"lines", required_argument, 0, 'n'},
        {"follow", no_argument, 0, 'f'},       {"once", no_argument, 0, 'o'},
        {"exit-on-idle", required_argument, 0, 'i'}, {"no-health", no_argument, 0, 'H'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (struct tail_opts){.ring = AGECAM_RING_DEFAULT_NAME, .n = 10, .follow = 1, .health = 1,
                            .idle_exit = -1};
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "n:fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': o->ring = optarg; break;
        case 'n':
            o->n = strtol(optarg, &end, 10);
            if (*end || o->n < 0) {
                fprintf(stderr, "agecam tail: bad -n '%s'\n", optarg);
                return 2;
            }
            break;
        case 'f': o->follow = 1; break;
        case 'o': o->follow = 0; break;
        case 'i':
            o->idle_exit = strtod(optarg, &end);
            if (*end || !(o->idle_exit >= 0)) {
                fprintf(stderr, "agecam tail: bad --exit-on-idle '%s'\n", optarg);
                return 2;
            }
            break;
        case 'H': o->health = 0; break;
        case 'j': o->json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agecam tail: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

int ac_cmd_tail(int argc, char **argv)
{
    struct tail_opts o;
    int ret = parse(&o, argc, argv);
    if (ret >= 0)
        return ret;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    agecam_reader *r = NULL;
    int waiting_said = 0, closed_said = 0, bad_said = 0, from_start = 0, status = 0;
    double last_activity = mono_s(), last_check = 0;
    while (!stop_flag) {
        double now = mono_s();
        if (!r) {
            ret = agecam_reader_open(&r, o.ring);
            if (ret == 0) {
                struct agecam_ring_info info;
                agecam_reader_info(r, &info);
                /* A ring we waited for or that was recreated is new to us: read all of it. */
                if (from_start) {
                    notice(&o, "attached", "writer_pid", "attached to the ring (writer pid %lld)", info.writer_pid);
                    /* records of this ring overwritten before we got here */
                    if (info.next_seq > 1)
                        notice(&o, "missed", "count", "missed %lld records", (long long)(info.next_seq - 1));
                } else
                    agecam_reader_seek_last(r, (uint64_t)o.n);
                waiting_said = closed_said = 0;
                last_check = now;
            } else if (!o.follow || ret == -EINVAL) {
                fprintf(stderr, "agecam tail: ring '%s': %s\n", o.ring, strerror(-ret));
                return ret == -EINVAL ? 2 : 1;
            } else if (!waiting_said) {
                fprintf(stderr, "agecam tail: waiting for ring '%s' (%s)\n", o.ring, strerror(-ret));
                waiting_said = from_start = 1;
            }
        }
        int got = 0;
        for (int calls = 0; r && got < 4096 && calls < 8192 && !stop_flag; calls++) {
            struct agecam_record rec;
            uint64_t missed = 0;
            ret = agecam_reader_next(r, &rec, &missed);
            if (missed)
                notice(&o, "missed", "count", "missed %lld records", (long long)missed);
            if (ret == -EAGAIN)
                continue; /* writer lapped us repeatedly; the loss is already reported */
            if (ret < 0) {
                if (!bad_said)
                    fprintf(stderr, "agecam tail: corrupt ring record skipped (%s)\n", strerror(-ret));
                bad_said = 1;
                status = 1;
                break;
            }
            if (ret == 0)
                break;
            got++;
            if (rec.kind == AGECAM_EV_HEALTH && !o.health)
                continue;
            if (o.json)
                print_json(stdout, &rec);
            else
                print_text(stdout, &rec);
        }
        if (fflush(stdout) || ferror(stdout))
            return errno == EPIPE ? 0 : 1;
        if (got) {
            last_activity = now;
            continue;
        }
        if (r && !o.follow)
            break;
        if (o.idle_exit >= 0 && now - last_activity >= o.idle_exit)
            break;
        if (r && now - last_check >= 0.2) {
            last_check = now;
            struct agecam_ring_info info;
            agecam_reader_info(r, &info);
            if (info.state == AGECAM_RING_CLOSED && !closed_said) {
                notice(&o, "closed", "writer_pid", "writer closed the ring (pid %lld)", info.writer_pid);
                closed_said = 1;
            }
            if (agecam_reader_changed(r) == 1) {
                agecam_reader_close(r);
                r = NULL;
                notice(&o, "recreated", "old_writer_pid", "ring recreated by a restarted writer (old pid %lld), reattaching", info.writer_pid);
                from_start = 1;
                continue;
            }
        }
        sleep_ms(10);
    }
    fflush(stdout);
    agecam_reader_close(r);
    return status;
}
