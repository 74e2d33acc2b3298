#include "daemon/ac_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


/* Our own sender rather than libsystemd's sd_notify(): that one blocks when
 * the receiver's datagram queue is full (net.unix.max_dgram_qlen, 10 by
 * default), so a busy or wedged receiver would freeze the monitor thread and
 * with it signal handling (seen under a SIGHUP storm with a slow reader).
 * A notification that finds the queue full is dropped instead: the next
 * STATUS/WATCHDOG comes within a tick. */
int ac_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path)
        return -EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa, salen);
    int e = errno;
    close(fd);
    return n < 0 ? -e : 0;
}

uint64_t ac_notify_watchdog_usec(void)
{
    const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
    if (!u)
        return 0;
    if (p && strtol(p, NULL, 10) != (long)getpid())
        return 0;
    char *end;
    unsigned long long v = strtoull(u, &end, 10);
    return *end || v == 0 ? 0 : v;
}

int ac_notifyf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ac_notify(buf);
}
