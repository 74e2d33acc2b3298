/* Event ring writer: creates the shared segment and publishes records with
 * per-slot sequence words (see include/agecam/ring.h for the protocol). */
#include "ring/ac_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ring/ac_ring_word.h"

#define REC_WORDS (sizeof(struct agecam_record) / sizeof(uint64_t))

struct ac_ring {
    void *map;
    size_t map_len;
    struct agecam_ring_header *hdr;
    unsigned char *slots;
    uint64_t mask;
    uint64_t last; /* last published sequence number */
};

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t fresh_instance(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v) || v == 0)
        v = (uint64_t)now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)now_ns(CLOCK_MONOTONIC);
    return v ? v : 1;
}

int ac_ring_create(struct ac_ring **out, const struct ac_ring_settings *s)
{
    char path[NAME_MAX + 2];
    uint32_t cap = s->capacity ? s->capacity : AC_RING_DEFAULT_CAPACITY;
    if (cap < 2 || cap > AGECAM_RING_MAX_CAPACITY || (cap & (cap - 1)))
        return -EINVAL;
    int ret = ac_ring_shm_path(path, sizeof(path), s->name ? s->name : AGECAM_RING_DEFAULT_NAME);
    if (ret)
        return ret;
    struct ac_ring *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->map = MAP_FAILED;
    if (shm_unlink(path) && errno != ENOENT) {
        ret = -errno;
        goto fail;
    }
    /* 0600 first: nobody may open it before mode and group are final. */
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = -errno;
        goto fail;
    }
    size_t hs = sizeof(struct agecam_ring_header);
    w->map_len = hs + (size_t)cap * sizeof(struct agecam_record);
    if ((s->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, s->gid)) ||
        fchmod(fd, s->mode ? s->mode : 0644) || ftruncate(fd, (off_t)w->map_len)) {
        ret = -errno;
        close(fd);
        shm_unlink(path);
        goto fail;
    }
    /* ftruncate reserves nothing on tmpfs: with /dev/shm full, the first
     * store to a new page would be a SIGBUS hours in. Claim the pages now,
     * where a full /dev/shm is a clean error at start-up. */
    int fe = posix_fallocate(fd, 0, (off_t)w->map_len);
    if (fe) {
        ret = -fe;
        close(fd);
        shm_unlink(path);
        goto fail;
    }
    w->map = mmap(NULL, w->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ret = w->map == MAP_FAILED ? -errno : 0;
    close(fd);
    if (ret) {
        shm_unlink(path);
        goto fail;
    }
    /* resident from the start, like every preallocated buffer (flat RSS) */
    memset(w->map, 0, w->map_len);
    w->hdr = w->map;
    w->slots = (unsigned char *)w->map + hs;
    w->mask = cap - 1;
    struct agecam_ring_header *h = w->hdr;
    h->abi = AGECAM_RING_ABI;
    h->header_size = (uint32_t)hs;
    h->record_size = sizeof(struct agecam_record);
    h->capacity = cap;
    h->instance = fresh_instance();
    h->writer_pid = getpid();
    h->created_real_ns = now_ns(CLOCK_REALTIME);
    ac_word32_store(&h->state, AGECAM_RING_LIVE, memory_order_relaxed);
    ac_word_store(&h->heartbeat_mono_ns, (uint64_t)now_ns(CLOCK_MONOTONIC), memory_order_relaxed);
    ac_word_store(&h->write_seq, 0, memory_order_relaxed);
    ac_word_store(&h->magic, AGECAM_RING_MAGIC, memory_order_release);
    *out = w;
    return 0;
fail:
    ac_ring_destroy(w);
    return ret;
}

uint64_t ac_ring_publish(struct ac_ring *w, const struct agecam_record *rec)
{
    uint64_t s = ++w->last;
    unsigned char *slot = w->slots + ((s - 1) & w->mask) * sizeof(struct agecam_record);
    struct agecam_record r = *rec;
    if (r.t_mono_ns == 0) {
        r.t_mono_ns = now_ns(CLOCK_MONOTONIC);
        r.t_real_ns = now_ns(CLOCK_REALTIME);
    }
    ac_word_store(slot, s << 1 | 1, memory_order_relaxed);
    /* Readers that see any of the new payload words must also see the busy mark. */
    atomic_thread_fence(memory_order_release);
    for (size_t i = 1; i < REC_WORDS; i++) {
        uint64_t v;
        memcpy(&v, (const unsigned char *)&r + i * sizeof(uint64_t), sizeof(v));
        ac_word_store(slot + i * sizeof(uint64_t), v, memory_order_relaxed);
    }
    ac_word_store(slot, s << 1, memory_order_release);
    ac_word_store(&w->hdr->write_seq, s, memory_order_release);
    return s;
}

void ac_ring_heartbeat(struct ac_ring *w)
{
    ac_word_store(&w->hdr->heartbeat_mono_ns, (uint64_t)now_ns(CLOCK_MONOTONIC), memory_order_relaxed);
}

void ac_ring_mark_closed(struct ac_ring *w)
{
    ac_ring_heartbeat(w);
    ac_word32_store(&w->hdr->state, AGECAM_RING_CLOSED, memory_order_release);
}

void ac_ring_destroy(struct ac_ring *w)
{
    if (!w)
        return;
    if (w->map != MAP_FAILED && w->map)
        munmap(w->map, w->map_len);
    free(w);
}

int ac_ring_unlink(const char *name)
{
    char path[NAME_MAX + 2];
    int ret = ac_ring_shm_path(path, sizeof(path), name ? name : AGECAM_RING_DEFAULT_NAME);
    if (ret)
        return ret;
    return shm_unlink(path) ? -errno : 0;
}

uint64_t ac_ring_instance(const struct ac_ring *w)
{
    return w->hdr->instance;
}

int ac_ring_parse_mode(const char *s, mode_t *mode)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 8);
    if (errno || end == s || *end || v > 0777)
        return -EINVAL;
    *mode = (mode_t)v;
    return 0;
}

int ac_ring_parse_group(const char *s, gid_t *gid)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s && !*end && !errno) {
        *gid = (gid_t)v;
        return 0;
    }
    struct group *g = getgrnam(s);
    if (!g)
        return -ENOENT;
    *gid = g->gr_gid;
    return 0;
}
