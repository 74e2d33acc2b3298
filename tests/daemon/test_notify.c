/* The built-in sd_notify (used when the build has no libsystemd): compiled
 * here from its source without AC_HAVE_LIBSYSTEMD, whatever the build has.
 * Datagrams to a path socket and to an abstract one, no-op without
 * NOTIFY_SOCKET, WATCHDOG_USEC/WATCHDOG_PID handling. */
#undef AC_HAVE_LIBSYSTEMD
#include "../../src/daemon/ac_notify.c"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static int recv_msg(int fd, char *buf, size_t len)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1)
        return -1;
    ssize_t n = recv(fd, buf, len - 1, 0);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

static int bind_sock(const char *name, int abstract)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(sa.sun_path, name, len);
    if (abstract)
        sa.sun_path[0] = 0;
    if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len))) {
        perror("bind");
        exit(1);
    }
    return fd;
}

int main(void)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/tmp/agecam-notify-%d.sock", (int)getpid());
    unlink(path);
    int fd = bind_sock(path, 0);
    unsetenv("NOTIFY_SOCKET");
    CHECK(ac_notify("READY=1") == 0); /* nowhere to send: fine, nothing sent */
    setenv("NOTIFY_SOCKET", path, 1);
    CHECK(ac_notify("READY=1") == 0);
    CHECK(recv_msg(fd, buf, sizeof buf) == 7 && !strcmp(buf, "READY=1"));
    CHECK(ac_notifyf("STATUS=%d fps", 15) == 0);
    CHECK(recv_msg(fd, buf, sizeof buf) > 0 && !strcmp(buf, "STATUS=15 fps"));
    close(fd);
    unlink(path);
    CHECK(ac_notify("WATCHDOG=1") < 0); /* nobody listening: an error, not a crash */

    char abs_name[64];
    snprintf(abs_name, sizeof abs_name, "@agecam-notify-%d", (int)getpid());
    fd = bind_sock(abs_name, 1);
    setenv("NOTIFY_SOCKET", abs_name, 1);
    CHECK(ac_notify("WATCHDOG=1") == 0);
    CHECK(recv_msg(fd, buf, sizeof buf) > 0 && !strcmp(buf, "WATCHDOG=1"));
    close(fd);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    CHECK(ac_notify("READY=1") == -EINVAL);

    unsetenv("WATCHDOG_USEC");
    CHECK(ac_notify_watchdog_usec() == 0);
    setenv("WATCHDOG_USEC", "20000000", 1);
    unsetenv("WATCHDOG_PID");
    CHECK(ac_notify_watchdog_usec() == 20000000);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    CHECK(ac_notify_watchdog_usec() == 20000000);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    CHECK(ac_notify_watchdog_usec() == 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "12abc", 1);
    CHECK(ac_notify_watchdog_usec() == 0);
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
