#include "stats/ac_mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef AC_HAVE_MOSQUITTO
#include <mosquitto.h>
#endif

struct ac_mqtt {
#ifdef AC_HAVE_MOSQUITTO
    struct mosquitto *mosq;
#endif
    char prefix[128];
    char host[256];
    int port, keepalive_s;
    int started;        /* connect_async accepted host and port */
    int connected;      /* CONNACK seen, no disconnect since */
    int retry_delay_s;  /* doubles per failed try, up to 30 s */
    double next_try_s;  /* CLOCK_MONOTONIC */
    double give_up_s;   /* a try that has no CONNACK by then is abandoned */
    uint64_t dropped;
};

int ac_mqtt_parse_address(const char *spec, char *buf, int buf_size, struct ac_mqtt_settings *s)
{
    const char *host = spec, *port = NULL;
    size_t hlen = strlen(spec);
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close)
            return -EINVAL;
        host = spec + 1;
        hlen = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return -EINVAL;
    } else {
        const char *colon = strchr(spec, ':');
        if (colon) {
            if (strchr(colon + 1, ':'))
                return -EINVAL; /* bare IPv6 needs brackets */
            hlen = (size_t)(colon - spec);
            port = colon + 1;
        }
    }
    if (!hlen || hlen + 1 > (size_t)buf_size)
        return -EINVAL;
    memcpy(buf, host, hlen);
    buf[hlen] = 0;
    s->host = buf;
    s->port = 1883;
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (!*port || *end || p < 1 || p > 65535)
            return -EINVAL;
        s->port = (int)p;
    }
    return 0;
}

#ifdef AC_HAVE_MOSQUITTO
#define AC_MQTT_CONNACK_S 5.0

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Called from inside mosquitto_loop, i.e. on the caller's thread. */
static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct ac_mqtt *m = obj;
    if (rc == 0) {
        char topic[160];
        snprintf(topic, sizeof(topic), "%s/online", m->prefix);
        mosquitto_publish(mosq, NULL, topic, 1, "1", 0, true);
        m->retry_delay_s = 1;
        m->connected = 1;
    }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq, (void)rc;
    ((struct ac_mqtt *)obj)->connected = 0;
}

/* Non-blocking (re)connect; a failure only moves the next try back. */
static void try_connect(struct ac_mqtt *m, double now)
{
    m->connected = 0;
    m->next_try_s = now + m->retry_delay_s;
    m->give_up_s = now + AC_MQTT_CONNACK_S;
    m->retry_delay_s = m->retry_delay_s * 2 > 30 ? 30 : m->retry_delay_s * 2;
    if (m->started)
        mosquitto_reconnect_async(m->mosq);
    else if (mosquitto_connect_async(m->mosq, m->host, m->port, m->keepalive_s) != MOSQ_ERR_INVAL)
        m->started = 1; /* later tries reuse host and port */
}
#endif

int ac_mqtt_start(struct ac_mqtt **out, const struct ac_mqtt_settings *s)
{
    if (!s->host || !s->prefix || !*s->prefix || strlen(s->prefix) >= sizeof(((struct ac_mqtt *)0)->prefix) ||
        strpbrk(s->prefix, "#+") || strlen(s->host) >= sizeof(((struct ac_mqtt *)0)->host))
        return -EINVAL;
#ifdef AC_HAVE_MOSQUITTO
    struct ac_mqtt *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    snprintf(m->prefix, sizeof(m->prefix), "%s", s->prefix);
    snprintf(m->host, sizeof(m->host), "%s", s->host);
    m->port = s->port ? s->port : 1883;
    m->keepalive_s = s->keepalive_s ? s->keepalive_s : 30;
    m->retry_delay_s = 1;
    mosquitto_lib_init();
    int ret = 0;
    m->mosq = mosquitto_new(NULL, true, m);
    if (!m->mosq) {
        ret = -ENOMEM;
        goto fail;
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    /* A consumer that vanishes without DISCONNECT shows up as offline. */
    char topic[160];
    snprintf(topic, sizeof(topic), "%s/online", m->prefix);
    mosquitto_will_set(m->mosq, topic, 1, "0", 0, true);
    /* An unreachable broker at start is fine: ac_mqtt_poll keeps retrying. */
    try_connect(m, mono_s());
    if (!m->started) {
        ret = -EINVAL;
        goto fail;
    }
    *out = m;
    return 0;
fail:
    ac_mqtt_stop(m);
    return ret;
#else
    (void)out;
    return -ENOTSUP;
#endif
}

void ac_mqtt_poll(struct ac_mqtt *m)
{
#ifdef AC_HAVE_MOSQUITTO
    int rc = mosquitto_loop(m->mosq, 0, 1);
    if (rc == MOSQ_ERR_SUCCESS && m->connected)
        return;
    double now = mono_s();
    /* down: retry on the back-off; connecting: give a silent peer (a
     * stalled broker, another service on that port) a deadline */
    if (rc != MOSQ_ERR_SUCCESS ? now >= m->next_try_s : now >= m->give_up_s)
        try_connect(m, now);
#else
    (void)m;
#endif
}

int ac_mqtt_publish(struct ac_mqtt *m, const char *subtopic, const char *payload, int retain)
{
#ifdef AC_HAVE_MOSQUITTO
    char topic[256];
    snprintf(topic, sizeof(topic), "%s/%s", m->prefix, subtopic);
    int rc = mosquitto_publish(m->mosq, NULL, topic, (int)strlen(payload), payload, 0, retain != 0);
    if (rc == MOSQ_ERR_SUCCESS)
        return 0;
#else
    (void)subtopic, (void)payload, (void)retain;
#endif
    m->dropped++;
    return -ENOTCONN;
}

uint64_t ac_mqtt_dropped(const struct ac_mqtt *m)
{
    return m ? m->dropped : 0;
}

void ac_mqtt_stop(struct ac_mqtt *m)
{
    if (!m)
        return;
#ifdef AC_HAVE_MOSQUITTO
    if (m->mosq) {
        char topic[160];
        snprintf(topic, sizeof(topic), "%s/online", m->prefix);
        mosquitto_publish(m->mosq, NULL, topic, 1, "0", 0, true);
        mosquitto_disconnect(m->mosq);
        /* Flush what is queued; the loop fails once the socket is closed.
         * Bounded, so a stalled broker cannot hold up the exit. */
        for (int i = 0; i < 50 && mosquitto_loop(m->mosq, 20, 1) == MOSQ_ERR_SUCCESS; i++)
            ;
        mosquitto_destroy(m->mosq);
    }
    mosquitto_lib_cleanup();
#endif
    free(m);
}
