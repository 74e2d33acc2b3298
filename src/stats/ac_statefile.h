/* Append-only, crash-safe store of counted visits. One text line per visit,
 * ending in a CRC-32 of the line, written with one write() and fsync'd, so a
 * crash can at worst leave a torn last line, which replay drops (and trims).
 * When the disk is full the visits stay queued in memory and later flushes
 * retry; the counts themselves never depend on the file. */
#ifndef AC_STATEFILE_H
#define AC_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "stats/ac_visits.h"

struct ac_statefile;

struct ac_statefile_replay {
    uint64_t records;  /* valid lines */
    uint64_t corrupt;  /* lines with a bad CRC or format, skipped */
    uint64_t torn;     /* bytes of an unterminated last line, trimmed */
};

typedef int (*ac_statefile_visit_fn)(void *ctx, const struct ac_visit *v);

/* Opens (creating) `path` and feeds every valid stored visit to fn. */
int ac_statefile_open(struct ac_statefile **out, const char *path, ac_statefile_visit_fn fn, void *ctx,
                      struct ac_statefile_replay *rep);
void ac_statefile_close(struct ac_statefile *sf);

/* Queues a visit; -ENOMEM only. */
int ac_statefile_append(struct ac_statefile *sf, const struct ac_visit *v);

/* Writes and fsyncs everything queued. 0, or the -errno of the first failure
 * (then the failed lines are cut off again and stay queued for a retry). */
int ac_statefile_flush(struct ac_statefile *sf);
size_t ac_statefile_pending(const struct ac_statefile *sf);

/* Formats / parses one line (exposed for tests). */
int ac_statefile_format(char *buf, size_t n, const struct ac_visit *v);
int ac_statefile_parse(const char *line, size_t len, struct ac_visit *v);
uint32_t ac_crc32(const void *data, size_t n);

#endif
