/* Fuzz target: the ring reader (libagecam) facing a hostile shared-memory
 * segment. The input is the segment itself (header, then slots; its length is
 * the segment size). The reader attaches, then a bounded script of reads,
 * seeks and info calls runs while the target keeps rewriting write_seq and
 * slot words through its own writable mapping, the way a broken or malicious
 * writer could. Checked on every call:
 *   - only the documented results (1, 0, -EBADMSG, -EAGAIN);
 *   - exact accounting: the reader's position moves by exactly the records
 *     returned plus the records counted as missed (every sequence number is
 *     returned once or counted once);
 *   - returned sequence numbers strictly increase between seeks;
 *   - geometry reported by info is what was validated at attach.
 * A call that does not return is caught by libFuzzer's -timeout. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agecam/ring.h"
#include "fuzz_main.h"

static char name[64];

static void cleanup(void)
{
    char p[80];
    snprintf(p, sizeof p, "/%s", name);
    shm_unlink(p);
}

/* xorshift, seeded from the input: the script is part of the test case */
static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!name[0]) {
        snprintf(name, sizeof name, "agecam-fuzz-ring-%d", (int)getpid());
        atexit(cleanup);
    }
    char shm[80];
    snprintf(shm, sizeof shm, "/%s", name);
    shm_unlink(shm);
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    if (ftruncate(fd, (off_t)size))
        abort();
    unsigned char *seg = NULL;
    if (size) {
        seg = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (seg == MAP_FAILED)
            abort();
        memcpy(seg, data, size);
    }
    close(fd);

    agecam_reader *r;
    int rc = agecam_reader_open(&r, name);
    if (rc) {
        if (rc != -EAGAIN && rc != -EPROTO && rc != -EBADMSG)
            abort();
        goto out;
    }
    struct agecam_ring_info info;
    if (agecam_reader_info(r, &info))
        abort();
    const uint32_t cap = info.capacity;
    struct agecam_ring_header hd; /* the input need not be aligned: copy */
    if (size < sizeof hd)
        abort();
    memcpy(&hd, data, sizeof hd);
    const struct agecam_ring_header *h = &hd;
    if (cap != h->capacity || cap < 2 || (cap & (cap - 1)) ||
        (uint64_t)h->header_size + (uint64_t)cap * 128 > size)
        abort(); /* attached to a segment that fails the documented checks */

    uint64_t seed = 0x9e3779b97f4a7c15ull ^ size;
    for (size_t i = 0; i < size && i < 256; i++)
        seed = (seed ^ data[size - 1 - i]) * 0x100000001b3ull;
    if (!seed)
        seed = 1;
    uint64_t prev = 0, missed = 0;
    const int calls = 3 * (int)(cap < 256 ? cap : 256) + 64;
    for (int i = 0; i < calls; i++) {
        uint64_t x = rng(&seed);
        switch (x % 16) {
        case 0: /* the "writer" moves write_seq somewhere near the reader */
            if (info.next_seq) {
                uint64_t ws = info.next_seq + (x >> 8) % (3 * cap) - cap;
                memcpy(seg + offsetof(struct agecam_ring_header, write_seq), &ws, 8);
            }
            break;
        case 1: { /* ... or makes a slot claim some sequence number */
            size_t at = h->header_size + (size_t)((x >> 8) % cap) * 128;
            uint64_t word = ((info.next_seq + (x >> 24) % (2 * cap)) << 1) | ((x >> 20) & 1);
            memcpy(seg + at, &word, 8);
            break;
        }
        case 2:
            agecam_reader_seek_last(r, (x >> 8) % (2 * (uint64_t)cap + 2));
            prev = 0;
            break;
        case 3:
            agecam_reader_seek_end(r);
            prev = 0;
            break;
        default: {
            struct agecam_ring_info before, after;
            agecam_reader_info(r, &before);
            uint64_t m0 = missed;
            struct agecam_record rec;
            rc = agecam_reader_next(r, &rec, &missed);
            agecam_reader_info(r, &after);
            if (rc != 1 && rc != 0 && rc != -EBADMSG && rc != -EAGAIN)
                abort();
            if (after.next_seq - before.next_seq != (missed - m0) + (rc == 1))
                abort(); /* a sequence number neither returned nor counted, or twice */
            if (rc == 1) {
                if (rec.seq <= prev || rec.seq != after.next_seq - 1)
                    abort();
                prev = rec.seq;
            }
            if (after.capacity != cap || after.instance != info.instance)
                abort();
            info = after;
        }
        }
    }
    agecam_reader_changed(r);
    agecam_reader_close(r);
out:
    if (seg)
        munmap(seg, size);
    shm_unlink(shm);
    return 0;
}
