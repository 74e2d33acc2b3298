/* 64-bit atomic access to words of the shared segment. The segment layout is
 * declared with plain integer types (it is a public ABI), so the writer and
 * the reader view each word through an _Atomic lvalue of the same size and
 * alignment; both sides use only these helpers on shared memory. */
#ifndef AC_RING_WORD_H
#define AC_RING_WORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "ring needs lock-free 64-bit atomics");

static inline uint64_t ac_word_load(const void *p, memory_order order)
{
    return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)p, order);
}

static inline void ac_word_store(void *p, uint64_t v, memory_order order)
{
    atomic_store_explicit((_Atomic uint64_t *)p, v, order);
}

static inline uint32_t ac_word32_load(const void *p, memory_order order)
{
    return atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)p, order);
}

static inline void ac_word32_store(void *p, uint32_t v, memory_order order)
{
    atomic_store_explicit((_Atomic uint32_t *)p, v, order);
}

/* "/name" from "name" or "/name"; -EINVAL for names shm_open cannot take. */
int ac_ring_shm_path(char *dst, size_t dst_size, const char *name);

#endif
