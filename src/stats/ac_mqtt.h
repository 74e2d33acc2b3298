/* Optional MQTT publishing of counted visits and periodic totals through
 * libmosquitto, driven from the caller's loop (ac_mqtt_poll): no library
 * thread, so stopping never waits on its reconnect back-off. QoS 0: a broker
 * that is down costs messages, never memory or a stalled consumer. */
#ifndef AC_MQTT_H
#define AC_MQTT_H

#include <stdint.h>

struct ac_mqtt_settings {
    const char *host;   /* broker host name or address */
    int port;           /* 1883 when 0 */
    const char *prefix; /* topic prefix, e.g. "agecam" */
    int keepalive_s;    /* 30 when 0 */
};

struct ac_mqtt;

/* Starts a non-blocking connect. -ENOTSUP without libmosquitto, -EINVAL
 * for bad settings. */
int ac_mqtt_start(struct ac_mqtt **out, const struct ac_mqtt_settings *s);

/* Moves queued bytes, answers keep-alives and, while the broker is
 * unreachable, retries with back-off (1 s doubling to 30 s); a connection
 * without CONNACK after 5 s is dropped and tried again. Never blocks beyond
 * a host-name lookup; call it every few tens of milliseconds. */
void ac_mqtt_poll(struct ac_mqtt *m);

/* Publishes payload on "<prefix>/<subtopic>". 0, or -ENOTCONN while the
 * broker is unreachable (the message is dropped and counted). */
int ac_mqtt_publish(struct ac_mqtt *m, const char *subtopic, const char *payload, int retain);
uint64_t ac_mqtt_dropped(const struct ac_mqtt *m);

/* Parses "host", "host:port" or "[v6addr]:port" into s->host (a copy in buf). */
int ac_mqtt_parse_address(const char *spec, char *buf, int buf_size, struct ac_mqtt_settings *s);

/* Publishes offline, disconnects, flushes for at most ~1 s, frees. */
void ac_mqtt_stop(struct ac_mqtt *m);

#endif
