/* dir: source through the public capture API: name order, non-images
 * ignored, a truncated JPEG skipped and counted, end of stream, looping,
 * and the capture loop feeding a frame slot. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/ac_capture.h"
#include "../common/check.h"
#include "common/ac_image.h"

static char dir[] = "/tmp/agecam-test-capdir-XXXXXX";

static void write_gray(const char *name, int level, int w, int h)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    memset(rgb, level, (size_t)w * h * 3);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_EQ(ac_image_save_jpeg(path, rgb, w, h, 3 * w, 95), 0);
    free(rgb);
}

static void truncate_copy(const char *from, const char *to)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", dir, from);
    snprintf(b, sizeof b, "%s/%s", dir, to);
    FILE *f = fopen(a, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(b, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
}

/* level of the frame's centre pixel, in steps of 40 */
static int frame_index(const struct ac_frame *f)
{
    int v = f->rgb[(size_t)(f->h / 2) * f->stride + 3 * (f->w / 2)];
    return (v + 20) / 40 - 1;
}

static struct ac_capture *open_dir(int loop)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.width = 320;
    s.height = 240;
    s.realtime = 0;
    s.loop = loop;
    struct ac_capture *c = NULL;
    char uri[600];
    snprintf(uri, sizeof uri, "dir:%s", dir);
    CHECK_EQ(ac_capture_open(uri, &s, &c), 0);
    if (c) {
        CHECK_EQ(ac_capture_init(c), 0);
        CHECK_EQ(ac_capture_start(c), 0);
    }
    return c;
}

/* reads until a frame or the end; returns the frame index, -1 at end */
static int next_index(struct ac_capture *c, int *skipped)
{
    for (;;) {
        struct ac_frame *f;
        int rc = ac_capture_read(c, 1000, &f);
        if (rc == -EAGAIN) {
            (*skipped)++;
            continue;
        }
        if (rc == -ENODATA)
            return -1;
        CHECK_EQ(rc, 0);
        if (rc)
            return -2;
        CHECK_EQ(f->w, 320);
        CHECK_EQ(f->h, 240);
        int i = frame_index(f);
        ac_frame_unref(f);
        return i;
    }
}

static void *run_loop(void *arg)
{
    void **a = arg;
    return (void *)(intptr_t)ac_capture_loop(a[0], a[1], a[2]);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    /* names out of creation order; one image of another size */
    write_gray("frame_002.jpg", 120, 160, 120);
    write_gray("frame_000.jpg", 40, 160, 120);
    write_gray("frame_001.jpg", 80, 640, 480);
    write_gray("frame_003.jpg", 160, 160, 120);
    truncate_copy("frame_003.jpg", "frame_0025.jpg"); /* sorts between 002 and 003 */
    char p[512];
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    FILE *f = fopen(p, "w");
    fputs("not an image\n", f);
    fclose(f);

    struct ac_capture *c = open_dir(0);
    int skipped = 0;
    int order[6];
    for (int i = 0; i < 6; i++)
        order[i] = c ? next_index(c, &skipped) : -3;
    CHECK_EQ(order[0], 0);
    CHECK_EQ(order[1], 1);
    CHECK_EQ(order[2], 2);
    CHECK_EQ(order[3], 3);
    CHECK_EQ(order[4], -1);
    CHECK_EQ(order[5], -1); /* stays ended */
    CHECK_EQ(skipped, 1);
    struct ac_capture_stats st;
    if (c) {
        ac_capture_get_stats(c, &st);
        CHECK_EQ(st.frames, 4);
        CHECK_EQ(st.corrupt, 1);
        CHECK_EQ(st.src_w, 160);
    }
    ac_capture_close(c); /* without stop/uninit: close cleans up */

    /* looping wraps to the first image again */
    c = open_dir(1);
    skipped = 0;
    for (int i = 0; i < 9 && c; i++) {
        int idx = next_index(c, &skipped);
        CHECK_EQ(idx, i % 4);
    }
    CHECK_EQ(skipped, 2);
    if (c) {
        /* capture loop into a slot, stopped from outside */
        struct ac_frameslot *slot;
        CHECK_EQ(ac_frameslot_create(&slot), 0);
        ac_atomic_int stop;
        atomic_init(&stop, 0);
        void *args[3] = {c, slot, &stop};
        pthread_t th;
        pthread_create(&th, NULL, run_loop, args);
        int got = 0;
        uint64_t last_seq = 0;
        while (got < 20) {
            struct ac_frame *fr;
            int rc = ac_frameslot_take(slot, 2000, &fr);
            CHECK_EQ(rc, 0);
            if (rc)
                break;
            CHECK(got == 0 || fr->seq > last_seq);
            last_seq = fr->seq;
            ac_frame_unref(fr);
            got++;
        }
        atomic_store(&stop, 1);
        void *ret;
        pthread_join(th, &ret);
        CHECK_EQ((intptr_t)ret, 0);
        struct ac_frame *fr;
        while (ac_frameslot_take(slot, 0, &fr) == 0)
            ac_frame_unref(fr);
        CHECK_EQ(ac_frameslot_take(slot, 0, &fr), -EPIPE);
        ac_frameslot_destroy(slot);
        ac_capture_stop(c);
        ac_capture_uninit(c);
    }
    ac_capture_close(c);

    /* missing or image-less directories fail at open */
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    CHECK_EQ(ac_capture_open("dir:/nonexistent/agecam", &s, &c), -ENOENT);
    char empty[] = "/tmp/agecam-test-capdir-empty-XXXXXX";
    CHECK(mkdtemp(empty) != NULL);
    char uri[600];
    snprintf(uri, sizeof uri, "dir:%s", empty);
    CHECK_EQ(ac_capture_open(uri, &s, &c), -ENOENT);
    rmdir(empty);
    CHECK_EQ(ac_capture_open("bogus:thing", &s, &c), -EPROTONOSUPPORT);

    const char *names[] = {"frame_000.jpg", "frame_001.jpg", "frame_002.jpg", "frame_0025.jpg",
                           "frame_003.jpg", "notes.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return check_done("test_capdir");
}
