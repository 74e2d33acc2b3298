#include "capture/ac_capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "capture/ac_capplugin.h"
#include "capture/ac_capture_backend.h"
#include "common/ac_log.h"

enum { ST_OPEN, ST_INIT, ST_STARTED };

struct ac_capture {
    const struct ac_capture_backend *be;
    void *priv;          /* NULL while the device is lost */
    char *arg;
    struct ac_capture_settings set;
    struct ac_capture_counters ctr;
    struct ac_framepool *pool, *spare;
    int out_w, out_h;
    int state;
    uint64_t seq;
    int64_t last_frame_ns, retry_at_ns;
    int retry_ms;
    /* read by health reporting from other threads */
    atomic_int online;
    atomic_uint_fast64_t frames, no_buffer, timeouts, losses, reopens;
    atomic_uint fourcc;
    atomic_int src_w, src_h, fps_milli;
};

void ac_capture_settings_default(struct ac_capture_settings *s)
{
    memset(s, 0, sizeof *s);
    s->width = 640;
    s->height = 480;
    s->buffers = 4;
    s->pool = 4;
    s->realtime = 1;
    s->retry_min_ms = 250;
    s->retry_max_ms = 5000;
    s->stall_ms = 5000;
}

/* A plugin's backend, or NULL (statically linked builds have none). */
static const struct ac_capture_plugin *plugin(const char *name, char *err, size_t errlen)
{
#ifdef AC_NO_PLUGINS
    snprintf(err, errlen, "this build has no %s: sources (static, no plugins)", name);
    return NULL;
#else
    const struct ac_capture_plugin *p;
    return ac_capplugin_get(name, &p, err, errlen) ? NULL : p;
#endif
}

int ac_capture_has_backend(const char *name)
{
    if (!strcmp(name, "v4l2") || !strcmp(name, "dir"))
        return 1;
    char err[256];
    return plugin(name, err, sizeof err) != NULL;
}

int ac_capture_list_libcamera(void (*cb)(void *ctx, int index, const char *id), void *ctx)
{
    char err[256];
    const struct ac_capture_plugin *p = plugin("libcamera", err, sizeof err);
    return p && p->list ? p->list(cb, ctx) : -ENOTSUP;
}

/* The plugin a uri needs ("file", "libcamera"), or NULL. */
static const char *plugin_for(const char *uri)
{
    if (!strncmp(uri, "file:", 5))
        return "file";
    if (!strncmp(uri, "libcamera:", 10))
        return "libcamera";
    struct stat st;
    if (strncmp(uri, "/dev/", 5) && stat(uri, &st) == 0 && S_ISREG(st.st_mode))
        return "file";
    return NULL;
}

int ac_capture_plugin_error(const char *uri, char *buf, size_t n)
{
    const char *name = plugin_for(uri);
    if (!name)
        return -EINVAL;
    return plugin(name, buf, n) ? -EEXIST : 0;
}

static const struct ac_capture_backend *pick_backend(const char *uri, const char **arg, int *rc)
{
    static const struct { const char *prefix; const struct ac_capture_backend *be; } tab[] = {
        {"v4l2:", &ac_v4l2_backend},
        {"dir:", &ac_capdir_backend},
    };
    *rc = -EPROTONOSUPPORT;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        size_t n = strlen(tab[i].prefix);
        if (!strncmp(uri, tab[i].prefix, n)) {
            *arg = uri + n;
            return tab[i].be;
        }
    }
    *arg = uri;
    if (!strncmp(uri, "/dev/", 5))
        return &ac_v4l2_backend;
    struct stat st;
    if (stat(uri, &st) == 0 && S_ISDIR(st.st_mode))
        return &ac_capdir_backend;
    const char *name = plugin_for(uri);
    if (!name)
        return NULL;
    size_t nl = strlen(name);
    if (!strncmp(uri, name, nl) && uri[nl] == ':')
        *arg = uri + nl + 1;
    char err[512];
    const struct ac_capture_plugin *p = plugin(name, err, sizeof err);
    if (!p)
        *rc = -ENOPKG;
    return p ? p->backend : NULL;
}

int ac_capture_open(const char *uri, const struct ac_capture_settings *s, struct ac_capture **out)
{
    *out = NULL;
    const char *arg;
    int rc;
    const struct ac_capture_backend *be = pick_backend(uri, &arg, &rc);
    if (!be)
        return rc;
    return ac_capture_open_backend(be, arg, s, out);
}

int ac_capture_open_backend(const struct ac_capture_backend *be, const char *arg,
                            const struct ac_capture_settings *s, struct ac_capture **out)
{
    *out = NULL;
    struct ac_capture *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->be = be;
    c->set = *s;
    if (c->set.pool < 2)
        c->set.pool = 2;
    if (c->set.retry_min_ms < 1)
        c->set.retry_min_ms = 250;
    if (c->set.retry_max_ms < c->set.retry_min_ms)
        c->set.retry_max_ms = c->set.retry_min_ms;
    c->arg = strdup(arg);
    if (!c->arg) {
        free(c);
        return -ENOMEM;
    }
    int rc = be->open(c->arg, &c->set, &c->ctr, &c->priv);
    int absent = rc == -ENOENT || rc == -ENODEV || rc == -ENXIO;
    if (rc && absent && be->can_lose && c->set.wait_for_device && c->set.width > 0 && c->set.height > 0) {
        ac_warn("capture: %s %s: %s; waiting for it", be->name, c->arg, strerror(-rc));
        c->priv = NULL;
        c->retry_ms = c->set.retry_min_ms;
        *out = c;
        return 0;
    }
    if (rc) {
        ac_capture_close(c);
        return rc;
    }
    atomic_store(&c->online, 1);
    *out = c;
    return 0;
}

static void publish_format(struct ac_capture *c, const struct ac_capfmt *f)
{
    atomic_store(&c->fourcc, f->fourcc);
    atomic_store(&c->src_w, f->w);
    atomic_store(&c->src_h, f->h);
    atomic_store(&c->fps_milli, f->fps_milli);
}

int ac_capture_init(struct ac_capture *c)
{
    struct ac_capfmt f = {0, c->set.width, c->set.height, 0};
    if (c->priv) {
        int rc = c->be->init(c->priv, &f);
        if (rc) {
            c->be->uninit(c->priv); /* undo a partial init (buffers mapped so far) */
            return rc;
        }
        publish_format(c, &f);
    } /* else waiting for the device: the output size is the configured one */
    int w = c->set.width, h = c->set.height;
    if (w <= 0 && h <= 0) {
        w = f.w;
        h = f.h;
    } else if (w <= 0) {
        w = (int)((int64_t)f.w * h / f.h) & ~1;
    } else if (h <= 0) {
        h = (int)((int64_t)f.h * w / f.w) & ~1;
    }
    c->out_w = w;
    c->out_h = h;
    int rc = ac_framepool_create(c->set.pool, w, h, &c->pool);
    if (!rc)
        rc = ac_framepool_create(1, w, h, &c->spare);
    if (rc)
        return rc;
    c->state = ST_INIT;
    return 0;
}

int ac_capture_start(struct ac_capture *c)
{
    if (c->state < ST_INIT)
        return -EINVAL;
    /* a device lost before start comes back through read() */
    int rc = c->priv ? c->be->start(c->priv, c->out_w, c->out_h) : 0;
    if (rc)
        return rc;
    c->state = ST_STARTED;
    c->last_frame_ns = ac_capture_now_ns();
    return 0;
}

static void backend_down(struct ac_capture *c)
{
    if (!c->priv)
        return;
    if (c->state >= ST_STARTED)
        c->be->stop(c->priv);
    if (c->state >= ST_INIT)
        c->be->uninit(c->priv);
    c->be->close(c->priv);
    c->priv = NULL;
}

static void lose_device(struct ac_capture *c, int err)
{
    ac_warn("capture: %s %s: %s; closed, retrying until it returns", c->be->name, c->arg,
            err == -ETIMEDOUT ? "stalled" : strerror(-err));
    backend_down(c);
    atomic_store(&c->online, 0);
    atomic_fetch_add(&c->losses, 1);
    c->retry_ms = c->set.retry_min_ms;
    c->retry_at_ns = ac_capture_now_ns() + (int64_t)c->retry_ms * 1000000;
}

static int try_reopen(struct ac_capture *c)
{
    struct ac_capfmt f;
    int rc = c->be->open(c->arg, &c->set, &c->ctr, &c->priv);
    if (rc) {
        c->priv = NULL;
        return rc;
    }
    rc = c->be->init(c->priv, &f);
    if (!rc)
        rc = c->be->start(c->priv, c->out_w, c->out_h);
    if (rc) {
        c->be->stop(c->priv);
        c->be->uninit(c->priv);
        c->be->close(c->priv);
        c->priv = NULL;
        return rc;
    }
    publish_format(c, &f);
    return 0;
}

static int offline_read(struct ac_capture *c, int timeout_ms)
{
    int64_t now = ac_capture_now_ns();
    int64_t until = now + (int64_t)timeout_ms * 1000000;
    if (c->retry_at_ns > now) {
        ac_capture_sleep_until(c->retry_at_ns < until ? c->retry_at_ns : until);
        if (c->retry_at_ns > ac_capture_now_ns())
            return -EAGAIN;
    }
    if (try_reopen(c)) {
        c->retry_ms = c->retry_ms * 2 > c->set.retry_max_ms ? c->set.retry_max_ms : c->retry_ms * 2;
        c->retry_at_ns = ac_capture_now_ns() + (int64_t)c->retry_ms * 1000000;
        return -EAGAIN;
    }
    ac_info("capture: %s %s is back", c->be->name, c->arg);
    atomic_store(&c->online, 1);
    atomic_fetch_add(&c->reopens, 1);
    c->last_frame_ns = ac_capture_now_ns();
    return 0;
}

int ac_capture_read(struct ac_capture *c, int timeout_ms, struct ac_frame **out)
{
    *out = NULL;
    if (c->state != ST_STARTED)
        return -EINVAL;
    if (!c->priv) {
        int rc = offline_read(c, timeout_ms);
        if (rc)
            return rc;
    }
    struct ac_frame *f = ac_framepool_get(c->pool);
    int spare = !f;
    if (spare)
        f = ac_framepool_get(c->spare); /* still drain the device, then drop */
    if (!f)
        return -EAGAIN;
    int rc = c->be->read(c->priv, timeout_ms, f);
    if (rc == 0) {
        c->last_frame_ns = ac_capture_now_ns();
        if (spare) {
            atomic_fetch_add(&c->no_buffer, 1);
            ac_frame_unref(f);
            return -EAGAIN;
        }
        f->seq = c->seq++;
        atomic_fetch_add(&c->frames, 1);
        *out = f;
        return 0;
    }
    ac_frame_unref(f);
    if (rc == -ENODATA)
        return rc;
    if (rc == -EAGAIN || rc == -ETIMEDOUT) {
        if (rc == -ETIMEDOUT)
            atomic_fetch_add(&c->timeouts, 1);
        /* nothing usable for stall_ms (silence or only corrupt frames):
         * a reopen is the one remedy left */
        if (c->be->can_lose && c->set.stall_ms > 0 &&
            ac_capture_now_ns() - c->last_frame_ns > (int64_t)c->set.stall_ms * 1000000) {
            lose_device(c, -ETIMEDOUT);
            return -EAGAIN;
        }
        return rc;
    }
    if (c->be->can_lose) {
        lose_device(c, rc);
        return -EAGAIN;
    }
    return rc;
}

int ac_capture_loop(struct ac_capture *c, struct ac_frameslot *slot, const ac_atomic_int *stop)
{
    int rc = 0;
    while (!atomic_load(stop)) {
        struct ac_frame *f;
        rc = ac_capture_read(c, 200, &f);
        if (rc == 0) {
            ac_frameslot_publish(slot, f);
            continue;
        }
        if (rc == -EAGAIN || rc == -ETIMEDOUT) {
            rc = 0;
            continue;
        }
        if (rc == -ENODATA)
            rc = 0;
        break;
    }
    ac_frameslot_close(slot);
    return rc;
}

int ac_capture_stop(struct ac_capture *c)
{
    if (c->state != ST_STARTED)
        return 0;
    c->state = ST_INIT;
    return c->priv ? c->be->stop(c->priv) : 0;
}

void ac_capture_uninit(struct ac_capture *c)
{
    if (c->state >= ST_STARTED)
        ac_capture_stop(c);
    if (c->state >= ST_INIT && c->priv)
        c->be->uninit(c->priv);
    c->state = ST_OPEN;
    ac_framepool_destroy(c->pool);
    ac_framepool_destroy(c->spare);
    c->pool = c->spare = NULL;
}

void ac_capture_close(struct ac_capture *c)
{
    if (!c)
        return;
    ac_capture_uninit(c);
    if (c->priv)
        c->be->close(c->priv);
    free(c->arg);
    free(c);
}

void ac_capture_get_stats(struct ac_capture *c, struct ac_capture_stats *st)
{
    memset(st, 0, sizeof *st);
    st->frames = atomic_load(&c->frames);
    st->corrupt = atomic_load(&c->ctr.corrupt);
    st->no_buffer = atomic_load(&c->no_buffer);
    st->timeouts = atomic_load(&c->timeouts);
    st->losses = atomic_load(&c->losses);
    st->reopens = atomic_load(&c->reopens);
    st->online = atomic_load(&c->online);
    st->fourcc = atomic_load(&c->fourcc);
    st->src_w = atomic_load(&c->src_w);
    st->src_h = atomic_load(&c->src_h);
    st->fps_milli = atomic_load(&c->fps_milli);
    st->out_w = c->out_w;
    st->out_h = c->out_h;
}
