/* dir: source: JPEG/PNG stills in name order, for replaying a scene without
 * a camera. The file buffer, the decoded image and the converter are kept
 * between frames and rebuilt only when a file is bigger or differently
 * sized, so a looping replay (soak, demo) allocates nothing once warm and
 * its RSS stays flat. An unreadable or truncated file is skipped and counted
 * as corrupt. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/ac_capture_backend.h"
#include "capture/ac_convert.h"
#include "common/ac_image.h"

struct dirsrc {
    char **names;
    int n, next;
    char *dir;
    struct ac_capture_settings set;
    struct ac_capture_counters *ctr;
    int out_w, out_h;
    int64_t t0, period_ns;
    uint32_t count;
    struct ac_filebuf fb;
    struct ac_image img;
    struct ac_convert conv;
    int conv_w, conv_h; /* source size conv was built for; 0 = none */
};

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void d_close(void *priv)
{
    struct dirsrc *d = priv;
    for (int i = 0; i < d->n; i++)
        free(d->names[i]);
    free(d->names);
    free(d->dir);
    ac_filebuf_free(&d->fb);
    ac_image_free(&d->img);
    ac_convert_uninit(&d->conv);
    free(d);
}

static int d_open(const char *arg, const struct ac_capture_settings *s, struct ac_capture_counters *ctr,
                  void **priv)
{
    struct dirsrc *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->set = *s;
    d->ctr = ctr;
    d->dir = strdup(arg);
    DIR *dp = opendir(arg);
    int rc = 0;
    if (!d->dir || !dp) {
        rc = d->dir ? -errno : -ENOMEM;
        goto fail;
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (!is_image(e->d_name))
            continue;
        if (d->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(d->names, sizeof *nn * (size_t)cap);
            if (!nn) {
                rc = -ENOMEM;
                goto fail;
            }
            d->names = nn;
        }
        if (!(d->names[d->n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            goto fail;
        }
        d->n++;
    }
    closedir(dp);
    dp = NULL;
    if (d->n == 0) {
        rc = -ENOENT;
        goto fail;
    }
    qsort(d->names, (size_t)d->n, sizeof *d->names, by_name);
    *priv = d;
    return 0;
fail:
    if (dp)
        closedir(dp);
    d_close(d);
    return rc;
}

static int load(struct dirsrc *d, int i)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", d->dir, d->names[i]) >= sizeof path)
        return -ENAMETOOLONG;
    return ac_image_load_into(path, &d->img, &d->fb);
}

static int d_init(void *priv, struct ac_capfmt *fmt)
{
    struct dirsrc *d = priv;
    /* the first readable image sets the native size */
    for (int i = 0; i < d->n; i++) {
        if (load(d, i))
            continue;
        fmt->fourcc = AC_FMT_RGB24;
        fmt->w = d->img.w;
        fmt->h = d->img.h;
        fmt->fps_milli = (d->set.fps > 0 ? d->set.fps : 10) * 1000;
        return 0;
    }
    return -EBADMSG;
}

static int d_start(void *priv, int out_w, int out_h)
{
    struct dirsrc *d = priv;
    if (out_w != d->out_w || out_h != d->out_h) {
        ac_convert_uninit(&d->conv);
        d->conv_w = d->conv_h = 0;
    }
    d->out_w = out_w;
    d->out_h = out_h;
    d->period_ns = 1000000000LL / (d->set.fps > 0 ? d->set.fps : 10);
    d->t0 = ac_capture_now_ns();
    return 0;
}

static int d_read(void *priv, int timeout_ms, struct ac_frame *dst)
{
    struct dirsrc *d = priv;
    if (d->next >= d->n) {
        if (!d->set.loop)
            return -ENODATA;
        d->next = 0;
    }
    if (d->set.realtime) {
        int64_t due = d->t0 + (int64_t)d->count * d->period_ns;
        int64_t now = ac_capture_now_ns();
        if (due - now > (int64_t)timeout_ms * 1000000) {
            ac_capture_sleep_until(now + (int64_t)timeout_ms * 1000000);
            return -ETIMEDOUT;
        }
        ac_capture_sleep_until(due);
    }
    int i = d->next++;
    d->count++;
    int rc = load(d, i);
    if (rc) {
        atomic_fetch_add(&d->ctr->corrupt, 1);
        return -EAGAIN;
    }
    struct ac_image *img = &d->img;
    if (img->w != d->conv_w || img->h != d->conv_h) {
        ac_convert_uninit(&d->conv);
        d->conv_w = d->conv_h = 0;
        rc = ac_convert_init(&d->conv, AC_FMT_RGB24, img->w, img->h, img->stride, d->out_w, d->out_h);
        if (rc) {
            atomic_fetch_add(&d->ctr->corrupt, 1);
            return rc == -ENOMEM ? rc : -EAGAIN;
        }
        d->conv_w = img->w;
        d->conv_h = img->h;
    }
    rc = ac_convert_run(&d->conv, img->rgb, (size_t)img->stride * img->h, dst->rgb, dst->stride);
    if (rc) {
        atomic_fetch_add(&d->ctr->corrupt, 1);
        return -EAGAIN;
    }
    /* not real time: the folder's own clock (frame k at k periods), so the
     * tracker sees the motion per frame whatever the processing speed */
    dst->ts_ns = d->set.realtime ? ac_capture_now_ns() : d->t0 + (int64_t)(d->count - 1) * d->period_ns;
    dst->src_seq = (uint32_t)i;
    return 0;
}

static int d_stop(void *priv)
{
    (void)priv;
    return 0;
}

static void d_uninit(void *priv)
{
    (void)priv;
}

const struct ac_capture_backend ac_capdir_backend = {
    .name = "dir", .can_lose = 0,
    .open = d_open, .init = d_init, .start = d_start, .read = d_read,
    .stop = d_stop, .uninit = d_uninit, .close = d_close,
};
