/* Loopback-only HTTP endpoint for /metrics, driven from the caller's loop
 * (libmicrohttpd in external-select mode: no extra thread, no shared state). */
#ifndef AC_HTTPD_H
#define AC_HTTPD_H

#include <stddef.h>

typedef int (*ac_httpd_render_fn)(void *ctx, char **buf, size_t *len);

struct ac_httpd;

/* listen: "127.0.0.1:9464", "[::1]:9464"; port 0 picks a free one.
 * -EACCES for a non-loopback address, -ENOTSUP if built without libmicrohttpd. */
int ac_httpd_start(struct ac_httpd **out, const char *listen, ac_httpd_render_fn fn, void *ctx);
unsigned ac_httpd_port(const struct ac_httpd *h);
/* Serves requests for up to timeout_ms; sleeps that long when h is NULL. */
void ac_httpd_wait(struct ac_httpd *h, int timeout_ms);
void ac_httpd_stop(struct ac_httpd *h);

#endif
