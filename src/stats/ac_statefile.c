/* Visit log: "V1 <instance> <camera> <track> <first_ns> <last_ns> <age> <std>
 * <quality> *<crc32>\n", CRC over everything before " *". */
#include "stats/ac_statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_LEN 256

struct ac_statefile {
    int fd;
    off_t size; /* end of the last complete line */
    struct ac_visit *q;
    size_t nq, capq;
};

uint32_t ac_crc32(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

int ac_statefile_format(char *buf, size_t n, const struct ac_visit *v)
{
    int k = snprintf(buf, n, "V1 %016llx %u %llu %lld %lld %.2f %.2f %.3f", (unsigned long long)v->instance,
                     v->camera, (unsigned long long)v->track, (long long)v->first_ns, (long long)v->last_ns,
                     v->age, v->std, v->quality);
    if (k < 0 || (size_t)k + 12 > n)
        return -ENOSPC;
    k += snprintf(buf + k, n - (size_t)k, " *%08x\n", ac_crc32(buf, (size_t)k));
    return k;
}

int ac_statefile_parse(const char *line, size_t len, struct ac_visit *v)
{
    char tmp[LINE_MAX_LEN];
    if (len < 12 || len >= sizeof(tmp) || line[len - 1] != '\n')
        return -EBADMSG;
    memcpy(tmp, line, len);
    tmp[len - 1] = 0;
    char *star = strrchr(tmp, '*');
    if (!star || star == tmp || star[-1] != ' ')
        return -EBADMSG;
    char *end;
    unsigned long crc = strtoul(star + 1, &end, 16);
    if (*end || end - (star + 1) != 8 || crc != ac_crc32(tmp, (size_t)(star - 1 - tmp)))
        return -EBADMSG;
    star[-1] = 0;
    unsigned long long inst, track;
    long long first, last;
    unsigned cam;
    int used = 0;
    memset(v, 0, sizeof(*v));
    if (sscanf(tmp, "V1 %llx %u %llu %lld %lld %f %f %f%n", &inst, &cam, &track, &first, &last, &v->age,
               &v->std, &v->quality, &used) != 8 || tmp[used])
        return -EBADMSG;
    v->instance = inst;
    v->camera = cam;
    v->track = track;
    v->first_ns = first;
    v->last_ns = last;
    return 0;
}

static int replay(struct ac_statefile *sf, ac_statefile_visit_fn fn, void *ctx, struct ac_statefile_replay *rep)
{
    FILE *f = fdopen(dup(sf->fd), "r");
    if (!f)
        return -errno;
    char line[LINE_MAX_LEN];
    off_t pos = 0;
    int ret = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            /* overlong garbage: skip to the end of that line */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                len++;
            if (c == EOF) {
                rep->torn += len;
                break;
            }
            rep->corrupt++;
            pos += (off_t)len + 1;
            continue;
        }
        if (line[len - 1] != '\n') {
            rep->torn += len; /* crash mid-write: trimmed below */
            break;
        }
        pos += (off_t)len;
        struct ac_visit v;
        if (ac_statefile_parse(line, len, &v)) {
            rep->corrupt++;
            continue;
        }
        rep->records++;
        if ((ret = fn(ctx, &v)) < 0)
            break;
    }
    if (ferror(f) && !ret)
        ret = -EIO;
    fclose(f);
    sf->size = pos;
    return ret;
}

int ac_statefile_open(struct ac_statefile **out, const char *path, ac_statefile_visit_fn fn, void *ctx,
                      struct ac_statefile_replay *rep)
{
    memset(rep, 0, sizeof(*rep));
    struct ac_statefile *sf = calloc(1, sizeof(*sf));
    if (!sf)
        return -ENOMEM;
    int ret = 0;
    sf->fd = -1;
    sf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (sf->fd < 0) {
        ret = -errno;
        goto fail;
    }
    struct stat st;
    if (fstat(sf->fd, &st)) {
        ret = -errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto fail;
    }
    if ((ret = replay(sf, fn, ctx, rep)))
        goto fail;
    if (rep->torn && ftruncate(sf->fd, sf->size)) {
        ret = -errno;
        goto fail;
    }
    *out = sf;
    return 0;
fail:
    ac_statefile_close(sf);
    return ret;
}

void ac_statefile_close(struct ac_statefile *sf)
{
    if (!sf)
        return;
    if (sf->fd >= 0)
        close(sf->fd);
    free(sf->q);
    free(sf);
}

int ac_statefile_append(struct ac_statefile *sf, const struct ac_visit *v)
{
    if (sf->nq == sf->capq) {
        size_t ncap = sf->capq ? sf->capq * 2 : 64;
        struct ac_visit *nq = realloc(sf->q, ncap * sizeof(*nq));
        if (!nq)
            return -ENOMEM;
        sf->q = nq;
        sf->capq = ncap;
    }
    sf->q[sf->nq++] = *v;
    return 0;
}

size_t ac_statefile_pending(const struct ac_statefile *sf)
{
    return sf->nq;
}

int ac_statefile_flush(struct ac_statefile *sf)
{
    if (!sf->nq)
        return 0;
    off_t start = sf->size, pos = start;
    int ret = 0;
    for (size_t i = 0; i < sf->nq && !ret; i++) {
        char line[LINE_MAX_LEN];
        int len = ac_statefile_format(line, sizeof(line), &sf->q[i]);
        if (len < 0)
            return len;
        ssize_t w = pwrite(sf->fd, line, (size_t)len, pos);
        if (w == len)
            pos += len;
        else
            ret = w < 0 ? -errno : -ENOSPC;
    }
    if (!ret && fsync(sf->fd))
        ret = -errno;
    if (ret) {
        /* All or nothing: cut back to the last durable line so neither a
         * partial line nor a duplicate can appear when the retry succeeds. */
        if (ftruncate(sf->fd, start))
            (void)0;
        return ret;
    }
    sf->size = pos;
    sf->nq = 0;
    return 0;
}
