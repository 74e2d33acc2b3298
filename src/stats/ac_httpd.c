#include "stats/ac_httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#ifdef AC_HAVE_MHD
#include <microhttpd.h>
#endif

struct ac_httpd {
#ifdef AC_HAVE_MHD
    struct MHD_Daemon *d;
#endif
    ac_httpd_render_fn fn;
    void *ctx;
    unsigned port;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Fills an IPv4 or IPv6 loopback socket address from "host:port". */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return -EINVAL;
        if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
            return -EACCES;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return -EINVAL;
    if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
        return -EACCES; /* metrics are for a local scraper or proxy only */
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return 0;
}

#ifdef AC_HAVE_MHD
static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    struct ac_httpd *h = cls;
    unsigned code = MHD_HTTP_OK;
    char *body = NULL;
    size_t len = 0;
    struct MHD_Response *resp;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics")) {
        code = MHD_HTTP_NOT_FOUND;
    } else if (h->fn(h->ctx, &body, &len)) {
        code = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (code == MHD_HTTP_OK) {
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(body);
    } else {
        static const char msg[] = "not found: try /metrics\n";
        resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result r = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return r;
}
#endif

int ac_httpd_start(struct ac_httpd **out, const char *listen, ac_httpd_render_fn fn, void *ctx)
{
    struct sockaddr_storage ss;
    int ret = parse_listen(listen, &ss);
    if (ret)
        return ret;
#ifdef AC_HAVE_MHD
    struct ac_httpd *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->fn = fn;
    h->ctx = ctx;
    unsigned flags = ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    *out = h;
    return 0;
#else
    (void)fn, (void)ctx, (void)out;
    return -ENOTSUP;
#endif
}

unsigned ac_httpd_port(const struct ac_httpd *h)
{
    return h ? h->port : 0;
}

void ac_httpd_wait(struct ac_httpd *h, int timeout_ms)
{
#ifdef AC_HAVE_MHD
    if (h) {
        fd_set rs, ws, es;
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_ZERO(&es);
        MHD_socket max = 0;
        if (MHD_get_fdset(h->d, &rs, &ws, &es, &max) == MHD_YES) {
            struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000L};
            select(max + 1, &rs, &ws, &es, &tv);
            MHD_run_from_select(h->d, &rs, &ws, &es);
            return;
        }
    }
#else
    (void)h;
#endif
    sleep_ms(timeout_ms);
}

void ac_httpd_stop(struct ac_httpd *h)
{
    if (!h)
        return;
#ifdef AC_HAVE_MHD
    if (h->d)
        MHD_stop_daemon(h->d);
#endif
    free(h);
}
