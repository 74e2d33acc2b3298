/* Scrapes `agecam stats --listen 127.0.0.1:0` over loopback while a writer
 * publishes visits and health, validates the text exposition format with a
 * small parser, checks the values and that the socket listens on loopback
 * only. usage: test_prom AGECAM */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring/ac_ring.h"

#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whole HTTP response of one request, malloc'd. */
static char *http(unsigned port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    CHECK(buf);
    ssize_t k;
    while ((k = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(fd);
    return buf;
}

static int is_name(const char *s, size_t n, int allow_colon)
{
    if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (allow_colon && s[0] == ':')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (allow_colon && s[i] == ':')))
            return 0;
    return 1;
}

/* Exposition format 0.0.4: HELP/TYPE comments, samples `name{l="v",...} value [ts]`,
 * TYPE before a metric's samples, each metric's samples contiguous. Returns
 * the number of samples or -line number of the first bad line. */
static int validate(const char *body)
{
    char typed[64][96], ended[64][96], last[96] = "";
    int ntyped = 0, nended = 0, samples = 0, lineno = 0;
    size_t blen = strlen(body);
    if (!blen || body[blen - 1] != '\n')
        return -1;
    for (const char *p = body; *p; p = strchr(p, '\n') + 1) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t len = (size_t)(eol - p);
        char line[512];
        if (len >= sizeof(line))
            return -lineno;
        memcpy(line, p, len);
        line[len] = 0;
        if (!len)
            continue;
        if (line[0] == '#') {
            char kw[8], name[96], rest[400];
            if (sscanf(line, "# %7s %95s %399[^\n]", kw, name, rest) < 2)
                continue; /* plain comment */
            if (!strcmp(kw, "TYPE")) {
                if (!is_name(name, strlen(name), 1))
                    return -lineno;
                if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
                    strcmp(rest, "summary") && strcmp(rest, "untyped"))
                    return -lineno;
                for (int i = 0; i < ntyped; i++)
                    if (!strcmp(typed[i], name))
                        return -lineno; /* TYPE twice */
                if (ntyped == 64)
                    return -lineno;
                strcpy(typed[ntyped++], name);
            } else if (!strcmp(kw, "HELP")) {
                if (!is_name(name, strlen(name), 1))
                    return -lineno;
            }
            continue;
        }
        const char *q = line;
        while (*q && *q != '{' && *q != ' ')
            q++;
        size_t nlen = (size_t)(q - line);
        if (!is_name(line, nlen, 1) || nlen >= sizeof(last))
            return -lineno;
        char name[96];
        memcpy(name, line, nlen);
        name[nlen] = 0;
        int known = 0;
        for (int i = 0; i < ntyped; i++)
            known |= !strcmp(typed[i], name);
        if (!known)
            return -lineno; /* sample before (or without) its TYPE */
        if (strcmp(name, last)) {
            for (int i = 0; i < nended; i++) /* its group ended earlier: not contiguous */
                if (!strcmp(ended[i], name))
                    return -lineno;
            if (last[0] && nended < 64)
                strcpy(ended[nended++], last);
            strcpy(last, name);
        }
        if (*q == '{') {
            q++;
            while (*q != '}') {
                const char *ls = q;
                while (*q && *q != '=')
                    q++;
                if (!is_name(ls, (size_t)(q - ls), 0) || q[0] != '=' || q[1] != '"')
                    return -lineno;
                q += 2;
                while (*q && *q != '"') {
                    if (*q == '\\') {
                        if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                            return -lineno;
                        q++;
                    }
                    q++;
                }
                if (*q != '"')
                    return -lineno;
                q++;
                if (*q == ',')
                    q++;
                else if (*q != '}')
                    return -lineno;
            }
            q++;
        }
        if (*q != ' ')
            return -lineno;
        q++;
        char *end;
        double v = strtod(q, &end);
        (void)v;
        if (end == q)
            return -lineno;
        if (*end == ' ') { /* optional integer timestamp */
            const char *ts = end + 1;
            strtoll(ts, &end, 10);
            if (end == ts)
                return -lineno;
        }
        if (*end)
            return -lineno;
        samples++;
    }
    return samples;
}

static double sample(const char *body, const char *series)
{
    char key[200];
    snprintf(key, sizeof(key), "\n%s ", series);
    const char *p = strstr(body, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

static void publish(struct ac_ring *w, unsigned kind, uint64_t track, float age, int64_t t_s, int64_t first_s)
{
    struct agecam_record r;
    memset(&r, 0, sizeof(r));
    r.kind = (uint16_t)kind;
    r.track_id = track;
    r.t_real_ns = t_s * 1000000000LL;
    r.t_mono_ns = 1;
    r.flags = AGECAM_REC_AGE_VALID;
    r.u.face.age = age;
    r.u.face.age_std = 2;
    r.u.face.first_seen_real_ns = first_s * 1000000000LL;
    ac_ring_publish(w, &r);
}

/* 1 if 127.0.0.1:port is a listening socket and no other address listens on it. */
static int loopback_only(unsigned port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return -1;
    char line[512];
    int lo = 0, other = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned addr, p, st;
        if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &addr, &p, &st) == 3 && p == port && st == 0x0a) {
            if (addr == htonl(INADDR_LOOPBACK))
                lo++;
            else
                other++;
        }
    }
    fclose(f);
    return lo == 1 && other == 0;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    char name[64], dir[] = "/tmp/agecam-prom-XXXXXX", state[128], portfile[128];
    snprintf(name, sizeof(name), "agecam-test-prom-%d", (int)getpid());
    CHECK(mkdtemp(dir));
    snprintf(state, sizeof(state), "%s/visits.log", dir);
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    struct ac_ring *w;
    struct ac_ring_settings s = {.name = name, .capacity = 64, .mode = 0600, .gid = (gid_t)-1};
    CHECK(ac_ring_create(&w, &s) == 0);
    int64_t t0 = 1700000000;
    publish(w, AGECAM_EV_NEW, 1, 30, t0, t0);
    publish(w, AGECAM_EV_END, 1, 30, t0 + 10, t0);
    publish(w, AGECAM_EV_NEW, 2, 70, t0, t0);
    publish(w, AGECAM_EV_END, 2, 70, t0, t0); /* 0 s: passer-by */
    publish(w, AGECAM_EV_NEW, 3, 8, t0, t0);  /* still in view */
    struct agecam_record h;
    memset(&h, 0, sizeof(h));
    h.kind = AGECAM_EV_HEALTH;
    h.u.health = (struct agecam_health){.fps = 14.5f, .faces = 1, .tracks = 1, .frames = 5000, .drops = 7,
                                        .camera_online = 1};
    ac_ring_publish(w, &h);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(argv[1], argv[1], "stats", "--follow", "--ring", name, "--state", state, "--listen",
              "127.0.0.1:0", "--port-file", portfile, "--min-dwell", "1s", (char *)NULL);
        _exit(127);
    }
    unsigned port = 0;
    for (int i = 0; i < 400 && !port; i++) {
        FILE *f = fopen(portfile, "r");
        if (!f || fscanf(f, "%u", &port) != 1)
            port = 0;
        if (f)
            fclose(f);
        if (!port)
            sleep_ms(25);
    }
    CHECK(port > 0 && port < 65536);
    CHECK(loopback_only(port) == 1);

    char *resp = NULL, *body = NULL;
    for (int i = 0; i < 200; i++) { /* until the consumer has read the ring */
        free(resp);
        resp = http(port, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
        body = strstr(resp, "\r\n\r\n");
        if (body && sample(body + 3, "agecam_pipeline_fps{camera=\"0\"}") == 14.5)
            break;
        sleep_ms(25);
    }
    CHECK(!strncmp(resp, "HTTP/1.0 200", 12) || !strncmp(resp, "HTTP/1.1 200", 12));
    CHECK(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
    CHECK(body);
    body += 3; /* keep the "\n" in front of the first line for sample() */
    int n = validate(body + 1);
    if (n <= 0)
        fprintf(stderr, "invalid exposition at line %d:\n%s", -n, body + 1);
    CHECK(n > 10);
    CHECK(sample(body, "agecam_visitors_total{band=\"25-34\"}") == 1);
    CHECK(sample(body, "agecam_visitors_total{band=\"65+\"}") == 0);
    CHECK(sample(body, "agecam_passersby_total") == 1);
    CHECK(sample(body, "agecam_tracks_active") == 1);
    CHECK(sample(body, "agecam_faces_current{camera=\"0\"}") == 1);
    CHECK(sample(body, "agecam_frames_dropped_total{camera=\"0\"}") == 7);
    CHECK(sample(body, "agecam_camera_online{camera=\"0\"}") == 1);
    CHECK(sample(body, "agecam_writer_up") == 1);
    double hb = sample(body, "agecam_writer_heartbeat_age_seconds");
    CHECK(hb >= 0 && hb < 30);
    CHECK(sample(body, "agecam_ring_missed_records_total") == 0);

    /* The child leaves after 20 s: the counter moves on the next scrape. */
    publish(w, AGECAM_EV_END, 3, 9, t0 + 20, t0);
    double v = 0;
    for (int i = 0; i < 200 && v != 1; i++) {
        free(resp);
        resp = http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        body = strstr(resp, "\r\n\r\n");
        v = body ? sample(body + 3, "agecam_visitors_total{band=\"0-12\"}") : 0;
        if (v != 1)
            sleep_ms(25);
    }
    CHECK(v == 1);
    CHECK(validate(body + 4) > 10);
    free(resp);
    resp = http(port, "GET /nope HTTP/1.0\r\n\r\n");
    CHECK(strstr(resp, " 404 "));
    free(resp);
    resp = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    CHECK(strstr(resp, " 405 "));
    free(resp);

    /* The validator itself must reject broken text. */
    CHECK(validate("# TYPE a counter\na 1\n") == 1);
    CHECK(validate("a 1\n") < 0);                                   /* no TYPE */
    CHECK(validate("# TYPE a counter\na{b=\"c\"} x\n") < 0);        /* bad value */
    CHECK(validate("# TYPE a counter\na{b=c} 1\n") < 0);            /* unquoted label */
    CHECK(validate("# TYPE a bogus\na 1\n") < 0);
    CHECK(validate("# TYPE a counter\na 1") < 0);                   /* no final newline */
    CHECK(validate("# TYPE 1a counter\n") < 0);
    CHECK(validate("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 2\n") < 0); /* split group */
    CHECK(validate("# TYPE a gauge\na{x=\"q\\\"\\n\"} 1 1700000000000\n") == 1); /* escapes, timestamp */

    kill(pid, SIGTERM);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ac_ring_unlink(name);
    ac_ring_destroy(w);
    unlink(state);
    unlink(portfile);
    rmdir(dir);
    printf("prometheus endpoint: ok (port %u, %d samples)\n", port, n);
    return 0;
}
