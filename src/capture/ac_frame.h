/* Reference-counted RGB24 frames from a fixed pool. Every source converts
 * into pool frames, so the per-frame path never allocates; the last owner's
 * ac_frame_unref hands the frame back to its pool. The pool itself is freed
 * only when its creator has destroyed it AND every frame has come back, so a
 * consumer may keep a frame past the source's close. */
#ifndef AC_FRAME_H
#define AC_FRAME_H

#include <stdint.h>

/* C11 atomics, spelled so the libcamera C++ unit can include these headers */
#ifdef __cplusplus
#include <atomic>
typedef std::atomic<int> ac_atomic_int;
typedef std::atomic<uint_fast64_t> ac_atomic_u64;
#else
#include <stdatomic.h>
typedef atomic_int ac_atomic_int;
typedef atomic_uint_fast64_t ac_atomic_u64;
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct ac_framepool;

struct ac_frame {
    uint8_t *rgb;        /* packed R,G,B bytes */
    int w, h, stride;    /* stride in bytes */
    int64_t ts_ns;       /* CLOCK_MONOTONIC; the driver's capture time for V4L2 */
    uint64_t seq;        /* frames delivered by this source, from 0, never resets */
    uint32_t src_seq;    /* the source's own counter (V4L2 sequence): gaps = driver drops */
    /* private */
    ac_atomic_int refs;
    struct ac_framepool *pool;
    struct ac_frame *next_free;
};

int ac_framepool_create(int count, int w, int h, struct ac_framepool **out);
/* Drops the creator's hold; memory goes when the last frame returns. */
void ac_framepool_destroy(struct ac_framepool *p);
/* A free frame with one reference, or NULL when every frame is held. */
struct ac_frame *ac_framepool_get(struct ac_framepool *p);
int ac_framepool_free_count(struct ac_framepool *p);

void ac_frame_ref(struct ac_frame *f);
void ac_frame_unref(struct ac_frame *f);

#ifdef __cplusplus
}
#endif

#endif
