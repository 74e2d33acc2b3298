/* agecam event ring: the public interface for consumers.
 *
 * The agecam daemon publishes one fixed-size record per face-track event into
 * a POSIX shared-memory segment. Any number of processes may read it; the
 * writer never waits for them. This header is the whole contract: link
 * libagecam (pkg-config agecam) for the reader functions below, or implement
 * the protocol described here with nothing but the C library.
 *
 * SEGMENT LAYOUT (ABI version 1, all integers native-endian, the segment is
 * only ever shared between processes of one machine)
 *
 *   /dev/shm/<name>   (shm_open("/<name>"), default name "agecam")
 *   offset 0             struct agecam_ring_header  (header_size bytes)
 *   offset header_size   capacity slots of record_size bytes each,
 *                        slot i holds sequence numbers s with (s-1) % capacity == i
 *
 *   header_size is a multiple of 64 and >= sizeof(struct agecam_ring_header),
 *   record_size == sizeof(struct agecam_record) == 128, capacity is a power of
 *   two, and the segment (fstat st_size) is at least
 *   header_size + capacity * record_size bytes. A reader must check all of this
 *   before trusting anything else, and must copy the geometry once at attach
 *   time: the segment is writable by another process and is never re-trusted.
 *   (The writer never shrinks a segment; one shrunk by someone else after
 *   attach makes access raise SIGBUS, as with any shared mapping.)
 *
 * CREATION. The writer removes any older segment of the same name, creates a
 * new one, sizes it, fills the header and stores `magic` last (release). A
 * reader that sees magic == 0 or a short segment should retry shortly. Each
 * creation draws a fresh random `instance`; a reader detects a restarted
 * writer by re-opening the name and finding a different inode or instance
 * (agecam_reader_changed()).
 *
 * PUBLISHING (single writer, sequence numbers start at 1):
 *   s = ++last;  slot = &slots[(s - 1) & (capacity - 1)];
 *   store(slot->seq, s << 1 | 1, relaxed);   odd: slot is being written
 *   atomic_thread_fence(release);
 *   store the other 120 bytes (as relaxed 64-bit atomic stores);
 *   store(slot->seq, s << 1, release);       even: record s is complete
 *   store(header->write_seq, s, release);
 *
 * READING record s (seqlock): s1 = load(slot->seq, acquire); if s1 != s << 1
 * the slot is busy or holds another record; otherwise copy the record (relaxed
 * 64-bit loads), atomic_thread_fence(acquire), s2 = load(slot->seq, relaxed);
 * the copy is valid only if s2 == s1. If write_seq - s >= capacity, records s ..
 * write_seq - capacity were overwritten before they could be read: skip to
 * write_seq - capacity + 1 and count the difference as missed. A slot holding
 * an older sequence than s, or write_seq going backwards, means the segment is
 * corrupt; so is a write_seq of 2^63 or more (a slot word, s << 1, cannot
 * hold it).
 *
 * Times: *_real_ns are CLOCK_REALTIME, *_mono_ns CLOCK_MONOTONIC, both in
 * nanoseconds. Ages and standard deviations are in years.
 */
#ifndef AGECAM_RING_H
#define AGECAM_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AGECAM_API __attribute__((visibility("default")))
#else
#define AGECAM_API
#endif

#define AGECAM_RING_MAGIC 0x47524d4143454741ULL /* "AGECAMRG" in memory on little-endian */
#define AGECAM_RING_ABI 1u
#define AGECAM_RING_DEFAULT_NAME "agecam"
#define AGECAM_RING_MAX_CAPACITY (1u << 24)

/* header.state */
enum agecam_ring_state {
    AGECAM_RING_LIVE = 1,   /* writer attached and publishing */
    AGECAM_RING_CLOSED = 2, /* writer shut down cleanly; records stay readable */
};

/* 128 bytes; fields marked (atomic) are only accessed with C11 atomics. */
struct agecam_ring_header {
    uint64_t magic;            /* AGECAM_RING_MAGIC, stored last at creation (atomic) */
    uint32_t abi;              /* AGECAM_RING_ABI */
    uint32_t header_size;      /* offset of slot 0 */
    uint32_t record_size;      /* sizeof(struct agecam_record) */
    uint32_t capacity;         /* number of slots, power of two */
    uint64_t instance;         /* random, new for every creation */
    int32_t writer_pid;
    uint32_t state;            /* enum agecam_ring_state (atomic) */
    int64_t created_real_ns;
    uint64_t heartbeat_mono_ns; /* last writer sign of life (atomic) */
    uint64_t reserved0;
    uint64_t write_seq;        /* last complete sequence number, 0 = none yet (atomic);
                                  own cache line: only the writer stores it */
    uint8_t reserved[56];
};

/* record.kind */
enum agecam_event_kind {
    AGECAM_EV_NEW = 1,    /* track confirmed: a new person is in view */
    AGECAM_EV_UPDATE = 2, /* refined estimate for a running track */
    AGECAM_EV_END = 3,    /* track ended; its final estimate and first-seen time */
    AGECAM_EV_HEALTH = 4, /* pipeline health, track_id 0, see agecam_health */
};

/* record.flags */
#define AGECAM_REC_AGE_VALID 0x1u /* face.age* hold an estimate */

struct agecam_face {
    float x, y, w, h;            /* face box in source-frame pixels */
    float age;                   /* years, estimate */
    float age_std;               /* years, 1-sigma of the estimate */
    float age_low, age_high;     /* years, reported range */
    float quality;               /* 0..1, face quality of the best crop so far */
    uint32_t frames;             /* frames this track has been seen in */
    int64_t first_seen_real_ns;  /* when the track started */
    int64_t first_seen_mono_ns;
    uint8_t reserved[32];
};

struct agecam_health {
    float fps;            /* frames processed per second (recent) */
    float latency_ms;     /* capture-to-publish latency (recent) */
    uint32_t faces;       /* faces in the last frame */
    uint32_t tracks;      /* live tracks */
    uint64_t frames;      /* frames processed since start */
    uint64_t drops;       /* frames dropped since start */
    uint32_t camera_online; /* 1 while the camera delivers frames */
    uint32_t reserved0;
    uint8_t reserved[48];
};

/* 128 bytes. In the segment `seq` is the seqlock word (s << 1 | busy); in a
 * copy returned by agecam_reader_next() it is the plain sequence number s. */
struct agecam_record {
    uint64_t seq;
    int64_t t_real_ns;
    int64_t t_mono_ns;
    uint64_t track_id;   /* unique within one ring instance */
    uint16_t kind;       /* enum agecam_event_kind */
    uint16_t camera_id;
    uint16_t flags;      /* AGECAM_REC_* */
    uint16_t reserved0;
    union {
        struct agecam_face face;     /* NEW, UPDATE, END */
        struct agecam_health health; /* HEALTH */
        uint8_t raw[88];
    } u;
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct agecam_ring_header) == 128, "ring header is 128 bytes");
_Static_assert(sizeof(struct agecam_record) == 128, "ring record is 128 bytes");
#endif

/* ---- reader library (libagecam) ----
 * Every function returns 0 (or a count) on success and a negative errno:
 *   -ENOENT  no ring of that name (yet)       -EAGAIN  ring is being created
 *   -EPROTO  not an agecam ring / other ABI   -EBADMSG inconsistent or corrupt segment
 * A reader is used by one thread at a time; open one reader per thread. */
typedef struct agecam_reader agecam_reader;

struct agecam_ring_info {
    uint64_t instance;
    uint32_t capacity;
    uint32_t state;           /* enum agecam_ring_state, 0 if not yet live */
    int32_t writer_pid;
    int writer_alive;         /* 1 if writer_pid exists (kill(pid, 0)), else 0 */
    int64_t created_real_ns;
    uint64_t heartbeat_mono_ns;
    uint64_t write_seq;       /* last published sequence number */
    uint64_t next_seq;        /* sequence number this reader reads next */
};

/* Attach read-only to ring `name` ("agecam" or "/agecam"). The reader starts
 * at the oldest record still in the ring. */
AGECAM_API int agecam_reader_open(agecam_reader **out, const char *name);
AGECAM_API void agecam_reader_close(agecam_reader *r);

/* Position: after the newest record (only new records follow), or at most
 * `n` records before it (tail -n). */
AGECAM_API void agecam_reader_seek_end(agecam_reader *r);
AGECAM_API void agecam_reader_seek_last(agecam_reader *r, uint64_t n);

/* Copy the next record into *out. Returns 1 with a record, 0 if none is
 * available yet, or a negative errno. *missed (if not NULL) is incremented by
 * the number of records the writer overwrote before this reader got to them;
 * every sequence number is either returned once, in order, or counted there
 * exactly once. Never blocks and never loops unboundedly: a writer lapping the
 * reader many times in a row yields -EAGAIN, so call again. */
AGECAM_API int agecam_reader_next(agecam_reader *r, struct agecam_record *out, uint64_t *missed);

/* Snapshot of the header (validated fields copied at open). */
AGECAM_API int agecam_reader_info(agecam_reader *r, struct agecam_ring_info *info);

/* 1 if `name` now names a different segment than the one attached (the writer
 * restarted: reopen), 0 if it is the same, -ENOENT if it was removed. Costs a
 * shm_open + fstat; call it when idle, not per record. */
AGECAM_API int agecam_reader_changed(agecam_reader *r);

/* Human-readable name of a kind ("new", "update", "end", "health", "?"). */
AGECAM_API const char *agecam_event_kind_name(unsigned kind);

#ifdef __cplusplus
}
#endif

#endif
