/* A reader facing a segment it cannot trust: truncated, half-created, foreign
 * or inconsistent headers must be refused with the documented errors, and
 * garbage slots or a garbage write_seq must yield errors or valid-looking
 * records, never a crash, a read outside the mapping or an endless loop. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ring/ac_ring.h"
#include "ring_test_util.h"

static char name[64], shm[80];

/* Writes a segment of `size` bytes holding `h` followed by `fill` bytes. */
static void make_segment(const struct agecam_ring_header *h, size_t size, int fill)
{
    shm_unlink(shm);
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)size) == 0);
    if (size) {
        unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(p != MAP_FAILED);
        memset(p, fill, size);
        memcpy(p, h, size < sizeof(*h) ? size : sizeof(*h));
        munmap(p, size);
    }
    close(fd);
}

static struct agecam_ring_header good(uint32_t cap)
{
    struct agecam_ring_header h;
    memset(&h, 0, sizeof(h));
    h.magic = AGECAM_RING_MAGIC;
    h.abi = AGECAM_RING_ABI;
    h.header_size = sizeof(h);
    h.record_size = sizeof(struct agecam_record);
    h.capacity = cap;
    h.instance = 42;
    h.state = AGECAM_RING_LIVE;
    return h;
}

static int try_open(const struct agecam_ring_header *h, size_t size, int fill)
{
    make_segment(h, size, fill);
    agecam_reader *r = NULL;
    int ret = agecam_reader_open(&r, name);
    if (ret == 0)
        agecam_reader_close(r);
    return ret;
}

/* Reads until the reader reports nothing new; bounded by `calls`. */
static void drain(agecam_reader *r, int calls, int *records, int *errors)
{
    struct agecam_record rec;
    uint64_t missed = 0, prev = 0;
    for (int i = 0; i < calls; i++) {
        int ret = agecam_reader_next(r, &rec, &missed);
        if (ret == 0)
            break;
        if (ret < 0) {
            CHECK(ret == -EBADMSG || ret == -EAGAIN);
            (*errors)++;
            continue;
        }
        CHECK(rec.seq > prev); /* even from garbage: never backwards */
        prev = rec.seq;
        (*records)++;
    }
}

int main(void)
{
    test_ring_name(name, sizeof(name), "hostile");
    snprintf(shm, sizeof(shm), "/%s", name);
    const size_t full = 128 + 16 * 128;
    struct agecam_ring_header h = good(16);
    CHECK(try_open(&h, full, 0) == 0);
    CHECK(try_open(&h, 0, 0) == -EAGAIN);    /* created, not sized yet */
    CHECK(try_open(&h, 64, 0) == -EAGAIN);
    CHECK(try_open(&h, full - 1, 0) == -EBADMSG);
    h.magic = 0;
    CHECK(try_open(&h, full, 0) == -EAGAIN); /* header not published yet */
    h = good(16), h.magic ^= 1;
    CHECK(try_open(&h, full, 0) == -EPROTO);
    h = good(16), h.abi = 2;
    CHECK(try_open(&h, full, 0) == -EPROTO);
    h = good(16), h.record_size = 64;
    CHECK(try_open(&h, full, 0) == -EPROTO);
    uint32_t caps[] = {0, 1, 3, 24, 1u << 30, 0xffffffffu};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        h = good(caps[i]);
        CHECK(try_open(&h, full, 0) == -EBADMSG);
    }
    uint32_t hsizes[] = {0, 64, 130, 1u << 20, 0xffffffc0u};
    for (size_t i = 0; i < sizeof(hsizes) / sizeof(hsizes[0]); i++) {
        h = good(16), h.header_size = hsizes[i];
        CHECK(try_open(&h, full, 0) == -EBADMSG);
    }
    h = good(1u << 20);                       /* claims more slots than the segment has */
    CHECK(try_open(&h, full, 0) == -EBADMSG);

    /* Valid header, slots full of 0xff / random bytes, absurd write_seq. */
    int records = 0, errors = 0;
    uint64_t seqs[] = {1, 5, 16, 17, 1000, 1ull << 62, ~0ull, ~0ull >> 1};
    for (int fill = 0; fill < 3; fill++)
        for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
            h = good(16), h.write_seq = seqs[i];
            make_segment(&h, full, fill == 0 ? 0 : fill == 1 ? 0xff : 0x5a);
            agecam_reader *r;
            CHECK(agecam_reader_open(&r, name) == 0);
            drain(r, 1000, &records, &errors);
            agecam_reader_close(r);
        }
    CHECK(errors > 0);
    printf("garbage slots: %d records, %d errors\n", records, errors);

    /* Random slot contents and a write_seq that jumps around while reading. */
    srand(1234);
    h = good(16);
    make_segment(&h, full, 0);
    int fd = shm_open(shm, O_RDWR, 0);
    CHECK(fd >= 0);
    unsigned char *p = mmap(NULL, full, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    close(fd);
    agecam_reader *r;
    CHECK(agecam_reader_open(&r, name) == 0);
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 128; i < full; i++)
            if (rand() % 8 == 0)
                p[i] = (unsigned char)rand();
        uint64_t ws = (uint64_t)rand() % 64;
        if (rand() % 3 == 0) /* make some slots look consistent with write_seq */
            for (uint64_t s = ws > 16 ? ws - 15 : 1; s <= ws; s++) {
                uint64_t word = s << 1;
                memcpy(p + 128 + ((s - 1) & 15) * 128, &word, 8);
            }
        memcpy(p + offsetof(struct agecam_ring_header, write_seq), &ws, 8);
        drain(r, 64, &records, &errors);
        if (round % 100 == 0)
            agecam_reader_seek_last(r, (uint64_t)rand() % 40);
    }
    agecam_reader_close(r);
    munmap(p, full);
    /* Attached to a sane ring, then write_seq jumps to the top of the
     * 64-bit range with slot words that agree (s << 1 wraps): following it,
     * sequence numbers wrapped and records came back out of order and
     * twice. No real writer gets past 2^63 (found by fuzz_ring). */
    h = good(16);
    make_segment(&h, full, 0);
    CHECK(agecam_reader_open(&r, name) == 0);
    fd = shm_open(shm, O_RDWR, 0);
    p = mmap(NULL, full, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(p != MAP_FAILED);
    uint64_t top = ~0ull - 1;
    for (uint64_t s = top - 15; s != top + 1; s++) {
        uint64_t word = s << 1;
        memcpy(p + 128 + ((s - 1) & 15) * 128, &word, 8);
    }
    memcpy(p + offsetof(struct agecam_ring_header, write_seq), &top, 8);
    int wrap_records = 0, wrap_errors = 0;
    drain(r, 100, &wrap_records, &wrap_errors);
    CHECK(wrap_records == 0 && wrap_errors == 100);
    agecam_reader_seek_end(r);
    agecam_reader_seek_last(r, 4);
    struct agecam_ring_info winfo;
    CHECK(agecam_reader_info(r, &winfo) == 0 && winfo.next_seq == 1);
    agecam_reader_close(r);
    munmap(p, full);

    /* Header corrupted after attach: geometry was copied at open, so reading
     * stays inside the original mapping. */
    h = good(16);
    make_segment(&h, full, 0);
    CHECK(agecam_reader_open(&r, name) == 0);
    fd = shm_open(shm, O_RDWR, 0);
    p = mmap(NULL, full, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(p != MAP_FAILED);
    memset(p, 0xff, 64);
    drain(r, 100, &records, &errors);
    struct agecam_ring_info info;
    CHECK(agecam_reader_info(r, &info) == 0 && info.capacity == 16);
    agecam_reader_close(r);
    munmap(p, full);
    shm_unlink(shm);
    printf("ring hostile: ok (%d records, %d errors)\n", records, errors);
    return 0;
}
