/* Crowd-age statistics: the set of counted visits (deduplicated per ring
 * instance, camera and track), age bands, and reports over fixed time
 * windows aligned to UTC multiples of the window length. */
#ifndef AC_AGESTATS_H
#define AC_AGESTATS_H

#include <stdint.h>
#include <stdio.h>

#include "stats/ac_visits.h"

#define AC_MAX_BANDS 16
#define AC_MAX_WINDOWS 4
#define AC_DEFAULT_BANDS "0-12,13-17,18-24,25-34,35-44,45-54,55-64,65+"

/* Band i covers ages [lo[i], lo[i+1]); the first also takes younger ages,
 * the last everything above. */
struct ac_bands {
    int n;
    float lo[AC_MAX_BANDS];
    char label[AC_MAX_BANDS][16];
};

int ac_bands_parse(struct ac_bands *b, const char *spec);
int ac_bands_index(const struct ac_bands *b, float age);

struct ac_agestats;

int ac_agestats_create(struct ac_agestats **out, const struct ac_bands *bands);
void ac_agestats_destroy(struct ac_agestats *a);

/* 1 if the visit was new and is now counted, 0 if already known, -ENOMEM. */
int ac_agestats_add(struct ac_agestats *a, const struct ac_visit *v);
uint64_t ac_agestats_count(const struct ac_agestats *a);
/* All-time visitors in band i. */
uint64_t ac_agestats_band_total(const struct ac_agestats *a, int band);
const struct ac_bands *ac_agestats_bands(const struct ac_agestats *a);

enum ac_report_format { AC_REPORT_TABLE, AC_REPORT_CSV, AC_REPORT_JSON };

struct ac_report_settings {
    int nwindows;
    int64_t window_s[AC_MAX_WINDOWS]; /* e.g. 900, 3600 */
    int last;                         /* windows per length, ending with the one holding now_s */
    int64_t now_s;                    /* CLOCK_REALTIME seconds */
    enum ac_report_format format;
};

/* Parses "15m", "1h", "90s", "2d" or plain seconds. */
int ac_parse_duration(const char *s, int64_t *seconds);

int ac_agestats_report(const struct ac_agestats *a, const struct ac_report_settings *rs, FILE *f);

#endif
