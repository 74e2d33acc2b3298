/* Reader side of the event ring (libagecam). The segment belongs to another
 * process and may hold anything: geometry is validated and copied once at
 * attach, afterwards only write_seq and slot words are read and every index
 * is masked, so garbage can produce errors but never a wild access or an
 * endless loop. */
#include "agecam/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring/ac_ring_word.h"

#define REC_WORDS (sizeof(struct agecam_record) / sizeof(uint64_t))
#define MAX_LAPS 16 /* bound on retries when the writer keeps overtaking us */

struct agecam_reader {
    void *map;
    size_t map_len;
    const struct agecam_ring_header *hdr;
    const unsigned char *slots;
    uint64_t capacity;
    uint64_t instance;
    int32_t writer_pid;
    int64_t created_real_ns;
    dev_t dev;
    ino_t ino;
    uint64_t next; /* sequence number to read next */
    char path[NAME_MAX + 2];
};

int ac_ring_shm_path(char *dst, size_t dst_size, const char *name)
{
    if (!name)
        return -EINVAL;
    if (name[0] == '/')
        name++;
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX - 1 || n + 2 > dst_size || strchr(name, '/'))
        return -EINVAL;
    dst[0] = '/';
    memcpy(dst + 1, name, n + 1);
    return 0;
}

static int validate(const struct agecam_ring_header *h, off_t seg_size, size_t *need)
{
    uint64_t magic = ac_word_load(&h->magic, memory_order_acquire);
    if (magic == 0)
        return -EAGAIN; /* writer still filling the header */
    if (magic != AGECAM_RING_MAGIC || h->abi != AGECAM_RING_ABI ||
        h->record_size != sizeof(struct agecam_record))
        return -EPROTO;
    uint32_t cap = h->capacity, hs = h->header_size;
    if (cap < 2 || cap > AGECAM_RING_MAX_CAPACITY || (cap & (cap - 1)))
        return -EBADMSG;
    if (hs < sizeof(*h) || hs % 64 || hs > 65536)
        return -EBADMSG;
    uint64_t len = hs + (uint64_t)cap * sizeof(struct agecam_record);
    if ((uint64_t)seg_size < len)
        return -EBADMSG;
    *need = (size_t)len;
    return 0;
}

int agecam_reader_open(agecam_reader **out, const char *name)
{
    struct agecam_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->map = MAP_FAILED;
    int fd = -1, ret = ac_ring_shm_path(r->path, sizeof(r->path), name);
    if (ret)
        goto fail;
    fd = shm_open(r->path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        ret = -errno;
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        ret = -errno;
        goto fail;
    }
    if (st.st_size < (off_t)sizeof(struct agecam_ring_header)) {
        ret = -EAGAIN; /* created but not sized yet */
        goto fail;
    }
    r->map_len = sizeof(struct agecam_ring_header);
    r->map = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (r->map == MAP_FAILED) {
        ret = -errno;
        goto fail;
    }
    size_t need = 0;
    ret = validate(r->map, st.st_size, &need);
    if (ret)
        goto fail;
    const struct agecam_ring_header *h = r->map;
    r->capacity = h->capacity;
    r->instance = h->instance;
    r->writer_pid = h->writer_pid;
    r->created_real_ns = h->created_real_ns;
    uint32_t hs = h->header_size;
    munmap(r->map, r->map_len);
    r->map_len = need;
    r->map = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (r->map == MAP_FAILED) {
        ret = -errno;
        goto fail;
    }
    r->hdr = r->map;
    r->slots = (const unsigned char *)r->map + hs;
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    close(fd);
    r->next = 1;
    agecam_reader_seek_last(r, r->capacity);
    *out = r;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    agecam_reader_close(r);
    return ret;
}

void agecam_reader_close(agecam_reader *r)
{
    if (!r)
        return;
    if (r->map != MAP_FAILED && r->map)
        munmap(r->map, r->map_len);
    free(r);
}

static uint64_t write_seq(const agecam_reader *r)
{
    return ac_word_load(&r->hdr->write_seq, memory_order_acquire);
}

void agecam_reader_seek_end(agecam_reader *r)
{
    uint64_t ws = write_seq(r);
    if (!(ws >> 63)) /* garbage (see agecam_reader_next): stay put */
        r->next = ws + 1;
}

void agecam_reader_seek_last(agecam_reader *r, uint64_t n)
{
    uint64_t ws = write_seq(r);
    if (ws >> 63)
        return;
    if (n > r->capacity)
        n = r->capacity;
    if (n > ws)
        n = ws;
    r->next = ws + 1 - n;
}

int agecam_reader_next(agecam_reader *r, struct agecam_record *out, uint64_t *missed)
{
    uint64_t dummy = 0;
    if (!missed)
        missed = &dummy;
    for (int lap = 0; lap < MAX_LAPS; lap++) {
        uint64_t ws = write_seq(r);
        /* A slot word holds s << 1, so no real sequence number reaches 2^63;
         * a larger write_seq is garbage, and following it would let `next`
         * wrap around and return records out of order (found by fuzz_ring). */
        if (ws >> 63)
            return -EBADMSG;
        if (ws + 1 < r->next)
            return -EBADMSG; /* write_seq went backwards */
        if (ws < r->next)
            return 0;
        if (ws - r->next >= r->capacity) {
            uint64_t skip = ws - r->capacity + 1 - r->next;
            *missed += skip;
            r->next += skip;
        }
        const unsigned char *slot =
            r->slots + ((r->next - 1) & (r->capacity - 1)) * sizeof(struct agecam_record);
        uint64_t want = r->next << 1;
        uint64_t s1 = ac_word_load(slot, memory_order_acquire);
        if (s1 != want) {
            uint64_t newer = s1 >> 1;
            if (newer > ws + 1 && (newer - r->next) % r->capacity == 0)
                continue; /* writer moved on since we read write_seq: look again */
            if (newer > r->next && (newer - r->next) % r->capacity == 0) {
                /* Overwritten by record `newer`: everything up to newer - capacity is gone. */
                uint64_t skip = newer - r->capacity + 1 - r->next;
                *missed += skip;
                r->next += skip;
                continue;
            }
            /* A slot older than its sequence number, or busy for a record the
             * writer already declared complete: not a ring we understand. Step
             * past it (counted as missed) so callers make progress. */
            (*missed)++;
            r->next++;
            return -EBADMSG;
        }
        for (size_t i = 1; i < REC_WORDS; i++) {
            uint64_t w = ac_word_load(slot + i * sizeof(uint64_t), memory_order_relaxed);
            memcpy((unsigned char *)out + i * sizeof(uint64_t), &w, sizeof(w));
        }
        atomic_thread_fence(memory_order_acquire);
        if (ac_word_load(slot, memory_order_relaxed) != s1)
            continue; /* overwritten while copying: the next lap accounts for it */
        out->seq = r->next++;
        return 1;
    }
    return -EAGAIN;
}

int agecam_reader_info(agecam_reader *r, struct agecam_ring_info *info)
{
    memset(info, 0, sizeof(*info));
    info->instance = r->instance;
    info->capacity = (uint32_t)r->capacity;
    info->state = ac_word32_load(&r->hdr->state, memory_order_relaxed);
    info->writer_pid = r->writer_pid;
    info->writer_alive = r->writer_pid > 0 && (kill(r->writer_pid, 0) == 0 || errno == EPERM);
    info->created_real_ns = r->created_real_ns;
    info->heartbeat_mono_ns = ac_word_load(&r->hdr->heartbeat_mono_ns, memory_order_relaxed);
    info->write_seq = write_seq(r);
    info->next_seq = r->next;
    return 0;
}

int agecam_reader_changed(agecam_reader *r)
{
    int fd = shm_open(r->path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT : -errno;
    struct stat st;
    int ret = fstat(fd, &st) ? -errno : 0;
    close(fd);
    if (ret)
        return ret;
    return st.st_dev != r->dev || st.st_ino != r->ino;
}

const char *agecam_event_kind_name(unsigned kind)
{
    switch (kind) {
    case AGECAM_EV_NEW: return "new";
    case AGECAM_EV_UPDATE: return "update";
    case AGECAM_EV_END: return "end";
    case AGECAM_EV_HEALTH: return "health";
    default: return "?";
    }
}
