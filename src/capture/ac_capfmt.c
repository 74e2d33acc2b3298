#include "capture/ac_capfmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

static const uint32_t default_prefer[] = {AC_FMT_MJPEG, AC_FMT_YUYV, AC_FMT_NV12};

int ac_capfmt_supported(uint32_t f)
{
    switch (f) {
    case AC_FMT_MJPEG: case AC_FMT_JPEG: case AC_FMT_YUYV: case AC_FMT_UYVY:
    case AC_FMT_NV12: case AC_FMT_NV21: case AC_FMT_YU12: case AC_FMT_YV12:
    case AC_FMT_RGB24: case AC_FMT_BGR24:
        return 1;
    }
    return 0;
}

const char *ac_capfmt_name(uint32_t f, char buf[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 0xff);
        buf[i] = isprint((unsigned char)c) ? c : '?';
    }
    buf[4] = 0;
    return buf;
}

uint32_t ac_capfmt_parse(const char *s)
{
    if (!s || strlen(s) != 4)
        return 0;
    char u[4];
    for (int i = 0; i < 4; i++) {
        if (!isprint((unsigned char)s[i]))
            return 0;
        u[i] = (char)toupper((unsigned char)s[i]);
    }
    return AC_FOURCC(u[0], u[1], u[2], u[3]);
}

/* Sort key, compared field by field; smaller is better. */
struct key {
    int64_t k[6];
};

static int key_less(const struct key *a, const struct key *b)
{
    for (int i = 0; i < 6; i++)
        if (a->k[i] != b->k[i])
            return a->k[i] < b->k[i];
    return 0;
}

int ac_capfmt_choose(const struct ac_capfmt *offers, int n, const struct ac_capfmt_want *want,
                     struct ac_capfmt *out)
{
    const uint32_t *pref = want->prefer ? want->prefer : default_prefer;
    int npref = want->prefer ? want->nprefer : 3;
    int best = -1;
    struct key bk = {{0}};
    for (int i = 0; i < n; i++) {
        const struct ac_capfmt *o = &offers[i];
        if (!ac_capfmt_supported(o->fourcc) || o->w < 1 || o->h < 1)
            continue;
        int rank = npref;
        for (int j = 0; j < npref; j++)
            if (pref[j] == o->fourcc) {
                rank = j;
                break;
            }
        int64_t area = (int64_t)o->w * o->h;
        struct key k;
        k.k[0] = rank == npref; /* unlisted formats only as a last resort */
        /* unknown rate (0) counts as meeting it: the driver did not say */
        k.k[1] = want->fps > 0 && o->fps_milli > 0 && o->fps_milli < want->fps * 1000 - 500;
        if (want->w > 0 && want->h > 0) {
            int covers = o->w >= want->w && o->h >= want->h;
            k.k[2] = !covers;
            /* aspect only among covering sizes: when none covers, the
             * largest keeps the most detail */
            k.k[3] = covers && (int64_t)o->w * want->h != (int64_t)o->h * want->w;
            k.k[4] = covers ? area : -area;
        } else {
            k.k[2] = k.k[3] = 0;
            k.k[4] = -area;
        }
        k.k[5] = (int64_t)rank * 1000000000 - o->fps_milli;
        if (best < 0 || key_less(&k, &bk)) {
            best = i;
            bk = k;
        }
    }
    if (best < 0)
        return -ENOTSUP;
    *out = offers[best];
    return 0;
}
