/* systemd service notifications (READY=1, WATCHDOG=1, STATUS=...): one
 * AF_UNIX datagram of text to $NOTIFY_SOCKET, sent without blocking (see
 * ac_notify.c for why not libsystemd's sd_notify). Without NOTIFY_SOCKET
 * every call is a no-op. */
#ifndef AC_NOTIFY_H
#define AC_NOTIFY_H

#include <stdint.h>

/* 0 (sent or nothing to send to) or -errno. */
int ac_notify(const char *msg);
int ac_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Watchdog period systemd expects (WATCHDOG_USEC, honouring WATCHDOG_PID),
 * in microseconds; 0 when no watchdog is enabled for this process. */
uint64_t ac_notify_watchdog_usec(void);

#endif
