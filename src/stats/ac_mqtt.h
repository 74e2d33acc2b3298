/* Optional MQTT publishing of counted visits and periodic totals through
 * libmosquitto. The library's own network thread owns the socket and its
 * outgoing queue; we only hand it finished messages (QoS 0: a broker that is
 * down costs messages, never memory or a stalled consumer). */
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

/* Connects in the background and keeps reconnecting. -ENOTSUP without
 * libmosquitto, -EINVAL for bad settings. */
int ac_mqtt_start(struct ac_mqtt **out, const struct ac_mqtt_settings *s);

/* Publishes payload on "<prefix>/<subtopic>". 0, or -ENOTCONN while the
 * broker is unreachable (the message is dropped and counted). */
int ac_mqtt_publish(struct ac_mqtt *m, const char *subtopic, const char *payload, int retain);
uint64_t ac_mqtt_dropped(const struct ac_mqtt *m);

/* Parses "host", "host:port" or "[v6addr]:port" into s->host (a copy in buf). */
int ac_mqtt_parse_address(const char *spec, char *buf, int buf_size, struct ac_mqtt_settings *s);

void ac_mqtt_stop(struct ac_mqtt *m);

#endif
