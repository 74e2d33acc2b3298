/* Ring writer/reader semantics in one process: order, positioning, exact
 * miss accounting, header info, permissions, recreation and clean close. */
#include <errno.h>
#include <sys/stat.h>

#include "ring/ac_ring.h"
#include "ring_test_util.h"

static void publish_n(struct ac_ring *w, uint64_t from, uint64_t n)
{
    for (uint64_t s = from; s < from + n; s++) {
        struct agecam_record r;
        fill_pattern(&r, s);
        CHECK(ac_ring_publish(w, &r) == s);
    }
}

int main(void)
{
    char name[64], path[80];
    test_ring_name(name, sizeof(name), "basic");
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    agecam_reader *r = NULL;
    CHECK(agecam_reader_open(&r, name) == -ENOENT);

    struct ac_ring *w = NULL;
    struct ac_ring_settings bad = {.name = name, .capacity = 12, .mode = 0640, .gid = (gid_t)-1};
    CHECK(ac_ring_create(&w, &bad) == -EINVAL);
    struct ac_ring_settings s = {.name = name, .capacity = 8, .mode = 0640, .gid = getgid()};
    CHECK(ac_ring_create(&w, &s) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(st.st_gid == getgid());
    CHECK(st.st_size == 128 + 8 * 128);

    CHECK(agecam_reader_open(&r, "/" /* leading slash accepted */ "") == -EINVAL);
    CHECK(agecam_reader_open(&r, name) == 0);
    struct agecam_record rec;
    uint64_t missed = 0;
    CHECK(agecam_reader_next(r, &rec, &missed) == 0);

    /* In order, nothing missed while within capacity. */
    publish_n(w, 1, 5);
    for (uint64_t s2 = 1; s2 <= 5; s2++) {
        CHECK(agecam_reader_next(r, &rec, &missed) == 1);
        CHECK(rec.seq == s2 && check_pattern(&rec));
    }
    CHECK(agecam_reader_next(r, &rec, &missed) == 0 && missed == 0);

    /* Lapped: 20 more into 8 slots, the reader gets the newest 8 and counts 12. */
    publish_n(w, 6, 20);
    CHECK(agecam_reader_next(r, &rec, &missed) == 1);
    CHECK(rec.seq == 18 && missed == 12 && check_pattern(&rec));
    for (uint64_t s2 = 19; s2 <= 25; s2++)
        CHECK(agecam_reader_next(r, &rec, &missed) == 1 && rec.seq == s2);
    CHECK(agecam_reader_next(r, &rec, &missed) == 0 && missed == 12);

    /* tail -n positioning */
    agecam_reader_seek_last(r, 3);
    CHECK(agecam_reader_next(r, &rec, NULL) == 1 && rec.seq == 23);
    agecam_reader_seek_last(r, 100);
    CHECK(agecam_reader_next(r, &rec, NULL) == 1 && rec.seq == 18);
    agecam_reader_seek_end(r);
    CHECK(agecam_reader_next(r, &rec, NULL) == 0);

    /* A fresh reader starts at the oldest record still present. */
    agecam_reader *r2 = NULL;
    CHECK(agecam_reader_open(&r2, name) == 0);
    CHECK(agecam_reader_next(r2, &rec, NULL) == 1 && rec.seq == 18);

    struct agecam_ring_info info;
    CHECK(agecam_reader_info(r, &info) == 0);
    CHECK(info.capacity == 8 && info.write_seq == 25 && info.writer_pid == getpid());
    CHECK(info.writer_alive == 1 && info.state == AGECAM_RING_LIVE);
    CHECK(info.instance == ac_ring_instance(w) && info.heartbeat_mono_ns > 0);
    CHECK(agecam_reader_changed(r) == 0);

    ac_ring_mark_closed(w);
    CHECK(agecam_reader_info(r, &info) == 0 && info.state == AGECAM_RING_CLOSED);
    uint64_t old_instance = info.instance;
    ac_ring_destroy(w);
    /* Still readable after the writer is gone. */
    CHECK(agecam_reader_next(r2, &rec, NULL) == 1 && rec.seq == 19);

    /* Writer restart: same name, new segment and instance. */
    CHECK(ac_ring_create(&w, &s) == 0);
    CHECK(agecam_reader_changed(r) == 1);
    CHECK(ac_ring_instance(w) != old_instance);
    agecam_reader_close(r);
    CHECK(agecam_reader_open(&r, name) == 0);
    CHECK(agecam_reader_changed(r) == 0);
    publish_n(w, 1, 2);
    CHECK(agecam_reader_next(r, &rec, NULL) == 1 && rec.seq == 1);

    CHECK(ac_ring_unlink(name) == 0);
    CHECK(agecam_reader_changed(r) == -ENOENT);
    ac_ring_destroy(w);
    agecam_reader_close(r);
    agecam_reader_close(r2);

    mode_t m;
    gid_t g;
    CHECK(ac_ring_parse_mode("0640", &m) == 0 && m == 0640);
    CHECK(ac_ring_parse_mode("0999", &m) == -EINVAL);
    CHECK(ac_ring_parse_mode("1777", &m) == -EINVAL);
    CHECK(ac_ring_parse_group("0", &g) == 0 && g == 0);
    CHECK(ac_ring_parse_group("root", &g) == 0 && g == 0);
    CHECK(ac_ring_parse_group("no-such-group-agecam", &g) == -ENOENT);
    CHECK(strcmp(agecam_event_kind_name(AGECAM_EV_END), "end") == 0);
    CHECK(strcmp(agecam_event_kind_name(99), "?") == 0);
    printf("ring basic: ok\n");
    return 0;
}
