/* Stats building blocks: band and duration parsing, once-per-track visit
 * counting with the dwell filter, dedup, window statistics, and the state
 * file's CRC lines, torn-tail replay and disk-full retry (RLIMIT_FSIZE). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats/ac_agestats.h"
#include "stats/ac_prom.h"
#include "stats/ac_statefile.h"
#include "stats/ac_visits.h"

#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

#define S 1000000000LL

static struct agecam_record rec(unsigned kind, uint64_t track, int64_t t_s, float age, int64_t first_s)
{
    struct agecam_record r;
    memset(&r, 0, sizeof(r));
    r.kind = (uint16_t)kind;
    r.track_id = track;
    r.t_real_ns = t_s * S;
    r.flags = age > 0 ? AGECAM_REC_AGE_VALID : 0;
    r.u.face.age = age;
    r.u.face.age_std = 2;
    r.u.face.quality = 0.5f;
    r.u.face.first_seen_real_ns = first_s * S;
    return r;
}

static void test_parsing(void)
{
    struct ac_bands b;
    CHECK(ac_bands_parse(&b, AC_DEFAULT_BANDS) == 0 && b.n == 8);
    CHECK(!strcmp(b.label[7], "65+") && !strcmp(b.label[1], "13-17"));
    CHECK(ac_bands_index(&b, 0) == 0 && ac_bands_index(&b, 12.9f) == 0 && ac_bands_index(&b, 13) == 1);
    CHECK(ac_bands_index(&b, 17.99f) == 1 && ac_bands_index(&b, 18) == 2 && ac_bands_index(&b, 64.9f) == 6);
    CHECK(ac_bands_index(&b, 65) == 7 && ac_bands_index(&b, 300) == 7 && ac_bands_index(&b, -3) == 0);
    CHECK(ac_bands_parse(&b, "0-17,18-64,65+") == 0 && b.n == 3);
    CHECK(ac_bands_parse(&b, "0-17,20-64") == -EINVAL);  /* gap */
    CHECK(ac_bands_parse(&b, "0-17,10-64") == -EINVAL);  /* overlap */
    CHECK(ac_bands_parse(&b, "65+,70+") == -EINVAL);
    CHECK(ac_bands_parse(&b, "") == -EINVAL);
    CHECK(ac_bands_parse(&b, "a-b") == -EINVAL);
    CHECK(ac_bands_parse(&b, "10-5") == -EINVAL);
    int64_t s;
    CHECK(ac_parse_duration("15m", &s) == 0 && s == 900);
    CHECK(ac_parse_duration("1h", &s) == 0 && s == 3600);
    CHECK(ac_parse_duration("2", &s) == 0 && s == 2);
    CHECK(ac_parse_duration("1.5d", &s) == 0 && s == 129600);
    CHECK(ac_parse_duration("5x", &s) == -EINVAL && ac_parse_duration("-1", &s) == -EINVAL);
}

static void test_visits(void)
{
    struct ac_visits *v;
    struct ac_visits_settings vs = {.min_dwell_ns = 5 * S, .max_tracks = 4};
    CHECK(ac_visits_create(&v, &vs) == 0);
    struct ac_visit out, many[8];
    struct agecam_record r;
    /* track 1 stays 20 s with updates: exactly one visit, final age, at END */
    r = rec(AGECAM_EV_NEW, 1, 100, 30, 100);
    CHECK(ac_visits_feed(v, 7, &r, &out) == 0);
    for (int t = 101; t < 120; t++) {
        r = rec(AGECAM_EV_UPDATE, 1, t, 30 + (float)(t - 100) * 0.1f, 100);
        CHECK(ac_visits_feed(v, 7, &r, &out) == 0);
    }
    CHECK(ac_visits_open_count(v) == 1);
    r = rec(AGECAM_EV_END, 1, 120, 33, 100);
    CHECK(ac_visits_feed(v, 7, &r, &out) == 1);
    CHECK(out.track == 1 && out.instance == 7 && out.first_ns == 100 * S && out.last_ns == 120 * S);
    CHECK(out.age == 33 && ac_visits_open_count(v) == 0);
    /* passer-by: 3 s < 5 s */
    r = rec(AGECAM_EV_NEW, 2, 200, 40, 200);
    ac_visits_feed(v, 7, &r, &out);
    r = rec(AGECAM_EV_END, 2, 203, 40, 200);
    CHECK(ac_visits_feed(v, 7, &r, &out) == 0);
    /* no age ever: not a visit */
    r = rec(AGECAM_EV_NEW, 3, 200, 0, 200);
    ac_visits_feed(v, 7, &r, &out);
    r = rec(AGECAM_EV_END, 3, 260, 0, 200);
    CHECK(ac_visits_feed(v, 7, &r, &out) == 0);
    /* joined mid-track: first_seen comes from the record, not from us */
    r = rec(AGECAM_EV_UPDATE, 4, 300, 50, 250);
    ac_visits_feed(v, 7, &r, &out);
    /* table of 4: the 5th and 6th open tracks are dropped, counted */
    for (uint64_t t = 10; t < 15; t++) {
        r = rec(AGECAM_EV_NEW, t, 300, 20, 300);
        ac_visits_feed(v, 7, &r, &out);
    }
    struct ac_visits_counters c = ac_visits_counters(v);
    CHECK(c.passersby == 1 && c.no_age == 1 && c.dropped == 2);
    /* writer died at 400: open tracks finish from their last sighting */
    r = rec(AGECAM_EV_UPDATE, 10, 310, 21, 300);
    ac_visits_feed(v, 7, &r, &out);
    int n = ac_visits_finish_all(v, many, 8);
    CHECK(n == 2); /* track 4 (50 s) and track 10 (10 s); 11, 12 stayed 0 s */
    CHECK(ac_visits_open_count(v) == 0);
    int saw4 = 0;
    for (int i = 0; i < n; i++)
        if (many[i].track == 4)
            saw4 = many[i].first_ns == 250 * S && many[i].last_ns == 300 * S;
    CHECK(saw4);
    /* health */
    memset(&r, 0, sizeof(r));
    r.kind = AGECAM_EV_HEALTH;
    r.camera_id = 2;
    r.u.health.fps = 12.5f;
    CHECK(ac_visits_feed(v, 7, &r, &out) == 0);
    CHECK(ac_visits_health(v, 2) && ac_visits_health(v, 2)->h.fps == 12.5f && !ac_visits_health(v, 1));
    ac_visits_destroy(v);
}

static void test_agestats(void)
{
    struct ac_bands b;
    ac_bands_parse(&b, AC_DEFAULT_BANDS);
    struct ac_agestats *a;
    CHECK(ac_agestats_create(&a, &b) == 0);
    /* window [0, 900): ages 10, 20, 30, 41 ; window [900,1800): age 70 */
    float ages[] = {10, 20, 30, 41, 70};
    int64_t at[] = {0, 100, 200, 899, 900};
    for (int i = 0; i < 5; i++) {
        struct ac_visit v = {.instance = 1, .track = (uint64_t)i, .first_ns = at[i] * S,
                             .last_ns = (at[i] + 10 * (i + 1)) * S, .age = ages[i]};
        CHECK(ac_agestats_add(a, &v) == 1);
        CHECK(ac_agestats_add(a, &v) == 0); /* same track again: not a new visitor */
    }
    struct ac_visit other = {.instance = 2, .track = 0, .first_ns = 0, .last_ns = 5 * S, .age = 10};
    CHECK(ac_agestats_add(a, &other) == 1); /* same track id, new ring instance: a new person */
    /* many visits: hash set growth keeps dedup exact */
    for (uint64_t t = 100; t < 5000; t++) {
        struct ac_visit v = {.instance = 3, .track = t, .first_ns = 5000 * S, .last_ns = 5001 * S, .age = 50};
        CHECK(ac_agestats_add(a, &v) == 1);
    }
    for (uint64_t t = 100; t < 5000; t++) {
        struct ac_visit v = {.instance = 3, .track = t, .age = 50};
        CHECK(ac_agestats_add(a, &v) == 0);
    }
    CHECK(ac_agestats_count(a) == 6 + 4900);
    CHECK(ac_agestats_band_total(a, 0) == 2 && ac_agestats_band_total(a, 5) == 4900);
    struct ac_report_settings rs = {.nwindows = 1, .window_s = {900}, .last = 2, .now_s = 1000,
                                    .format = AC_REPORT_CSV};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(ac_agestats_report(a, &rs, f) == 0);
    fclose(f);
    /* window 0: 10, 20, 30, 41, 10(instance 2): median 20, mean 22.2 */
    CHECK(strstr(buf, "900,1970-01-01T00:00:00Z,1970-01-01T00:15:00Z,all,5,22.20,20.00,"));
    CHECK(strstr(buf, "900,1970-01-01T00:00:00Z,1970-01-01T00:15:00Z,0-12,2,10.00,10.00,"));
    CHECK(strstr(buf, "900,1970-01-01T00:00:00Z,1970-01-01T00:15:00Z,35-44,1,41.00,41.00,40.0\n"));
    CHECK(strstr(buf, "900,1970-01-01T00:15:00Z,1970-01-01T00:30:00Z,65+,1,70.00,70.00,50.0\n"));
    CHECK(strstr(buf, "900,1970-01-01T00:15:00Z,1970-01-01T00:30:00Z,all,1,"));
    free(buf);

    struct ac_visits *v;
    struct ac_visits_settings vs = {.min_dwell_ns = 0};
    CHECK(ac_visits_create(&v, &vs) == 0);
    struct ac_prom_input in = {.stats = a, .visits = v, .ring_missed = 3, .heartbeat_age_s = -1,
                               .mqtt_dropped = -1};
    CHECK(ac_prom_render(&in, &buf, &len) == 0);
    CHECK(strstr(buf, "agecam_visitors_total{band=\"45-54\"} 4900\n"));
    CHECK(strstr(buf, "agecam_ring_missed_records_total 3\n"));
    free(buf);
    ac_visits_destroy(v);
    ac_agestats_destroy(a);
}

static int collect(void *ctx, const struct ac_visit *v)
{
    struct ac_visit *arr = ctx;
    arr[v->track] = *v;
    return 0;
}

static void test_statefile(const char *dir)
{
    char path[512], line[256];
    snprintf(path, sizeof(path), "%s/visits.log", dir);
    unlink(path);
    struct ac_visit v = {.instance = 0xabcdef0123456789ULL, .camera = 3, .track = 1, .first_ns = 123 * S,
                         .last_ns = 456 * S, .age = 33.25f, .std = 2.5f, .quality = 0.875f}, back;
    int len = ac_statefile_format(line, sizeof(line), &v);
    CHECK(len > 0 && line[len - 1] == '\n');
    CHECK(ac_statefile_parse(line, (size_t)len, &back) == 0);
    CHECK(back.instance == v.instance && back.camera == 3 && back.track == 1 && back.first_ns == v.first_ns &&
          back.last_ns == v.last_ns && back.age == v.age && back.std == v.std && back.quality == v.quality);
    for (int i = 0; i < len - 1; i++) { /* every single-byte corruption is caught */
        char bad[256];
        memcpy(bad, line, (size_t)len);
        bad[i] ^= 0x04;
        CHECK(ac_statefile_parse(bad, (size_t)len, &back) != 0);
    }
    CHECK(ac_statefile_parse(line, (size_t)len - 1, &back) != 0); /* no newline: torn */
    CHECK(ac_crc32("123456789", 9) == 0xcbf43926u);               /* the standard check value */

    struct ac_visit got[16];
    struct ac_statefile *sf;
    struct ac_statefile_replay rep;
    CHECK(ac_statefile_open(&sf, path, collect, got, &rep) == 0 && rep.records == 0);
    for (uint64_t t = 0; t < 10; t++) {
        v.track = t;
        CHECK(ac_statefile_append(sf, &v) == 0);
    }
    CHECK(ac_statefile_flush(sf) == 0 && ac_statefile_pending(sf) == 0);
    ac_statefile_close(sf);
    /* crash mid-write: half a line at the end; a flipped byte in line 4 */
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    v.track = 10;
    len = ac_statefile_format(line, sizeof(line), &v);
    CHECK(pwrite(fd, line, (size_t)len / 2, st.st_size) == len / 2);
    char c;
    CHECK(pread(fd, &c, 1, 3 * (st.st_size / 10) + 20) == 1);
    c ^= 1;
    CHECK(pwrite(fd, &c, 1, 3 * (st.st_size / 10) + 20) == 1);
    close(fd);
    memset(got, 0, sizeof(got));
    CHECK(ac_statefile_open(&sf, path, collect, got, &rep) == 0);
    CHECK(rep.records == 9 && rep.corrupt == 1 && rep.torn == (uint64_t)len / 2);
    CHECK(got[9].age == 33.25f && got[3].age == 0);
    /* the torn bytes were trimmed, so the next line lands cleanly */
    v.track = 11;
    CHECK(ac_statefile_append(sf, &v) == 0 && ac_statefile_flush(sf) == 0);
    ac_statefile_close(sf);
    CHECK(ac_statefile_open(&sf, path, collect, got, &rep) == 0);
    CHECK(rep.records == 10 && rep.corrupt == 1 && rep.torn == 0 && got[11].track == 11);

    /* Disk full: the file may not grow (RLIMIT_FSIZE -> EFBIG, like ENOSPC).
     * Nothing partial may stay behind, visits stay queued, retry succeeds. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    fstat(open(path, O_RDONLY), &st);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 100; /* room for less than two lines */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    for (uint64_t t = 12; t < 15; t++) {
        v.track = t;
        CHECK(ac_statefile_append(sf, &v) == 0);
    }
    int ret = ac_statefile_flush(sf);
    CHECK(ret == -EFBIG || ret == -ENOSPC);
    CHECK(ac_statefile_pending(sf) == 3);
    struct stat st2;
    CHECK(stat(path, &st2) == 0 && st2.st_size == st.st_size);
    CHECK(ac_statefile_flush(sf) != 0 && ac_statefile_pending(sf) == 3);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0); /* space freed */
    CHECK(ac_statefile_flush(sf) == 0 && ac_statefile_pending(sf) == 0);
    ac_statefile_close(sf);
    memset(got, 0, sizeof(got));
    CHECK(ac_statefile_open(&sf, path, collect, got, &rep) == 0);
    CHECK(rep.records == 13 && rep.corrupt == 1 && rep.torn == 0 && got[14].track == 14);
    ac_statefile_close(sf);
    /* not a regular file */
    CHECK(ac_statefile_open(&sf, dir, collect, got, &rep) != 0);
    unlink(path);
}

int main(void)
{
    char dir[] = "/tmp/agecam-stats-unit-XXXXXX";
    CHECK(mkdtemp(dir));
    test_parsing();
    test_visits();
    test_agestats();
    test_statefile(dir);
    rmdir(dir);
    printf("stats unit: ok\n");
    return 0;
}
