/* Shared bits of the ring tests: unique ring names and records whose every
 * word is derived from their sequence number, so a torn copy is detectable. */
#ifndef RING_TEST_UTIL_H
#define RING_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agecam/ring.h"

#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

static inline void test_ring_name(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "agecam-test-%s-%d", what, (int)getpid());
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Fills every payload word from `seq`; t_mono_ns nonzero so publish keeps it. */
static inline void fill_pattern(struct agecam_record *r, uint64_t seq)
{
    unsigned char *p = (unsigned char *)r;
    for (size_t i = 1; i < sizeof(*r) / 8; i++) {
        uint64_t w = mix64(seq * 31 + i) | 1;
        memcpy(p + i * 8, &w, 8);
    }
}

static inline int check_pattern(const struct agecam_record *r)
{
    struct agecam_record want;
    fill_pattern(&want, r->seq);
    return !memcmp((const char *)r + 8, (const char *)&want + 8, sizeof(*r) - 8);
}

#endif
