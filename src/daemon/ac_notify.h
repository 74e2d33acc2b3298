/* systemd service notifications (READY=1, WATCHDOG=1, STATUS=...): through
 * libsystemd's sd_notify when the build has it, else a datagram of our own
 * to $NOTIFY_SOCKET (the protocol is one AF_UNIX datagram of text). Without
 * NOTIFY_SOCKET every call is a no-op. */
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
