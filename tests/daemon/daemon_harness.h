/* Test harness for the real agecamd binary: a scratch folder with generated
 * frames, a NOTIFY_SOCKET the test reads, the daemon's stderr in a file. */
#ifndef DAEMON_HARNESS_H
#define DAEMON_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static char g_dir[64];
#ifdef DAEMON_HARNESS_MAIN
/* set by harness_main_setup from a daemon test's command line (tests that
 * define DAEMON_HARNESS_MAIN share this main; the others keep their own) */
static const char *agecamd, *age_model;
static char frames[300], ring_name[64];
#endif

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static inline int run_wait(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void harness_setup(const char *name)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/agecam-%s-%d", name, (int)getpid());
    mkdir(g_dir, 0700);
}

static inline void harness_cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", g_dir);
}

static inline void write_file(const char *path, const char *fmt, ...)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* ---- the daemon under test ---- */

struct daemon {
    pid_t pid;
    int sock;
    char log[300];
    char sockpath[100];
    char msgs[64 * 1024]; /* every notification, one per line */
    size_t msglen;
    int status; /* exit code once reaped, -1 before / on a signal */
};

static inline void daemon_start(struct daemon *d, const char *tag, const char *watchdog_usec,
                         char *const argv[])
{
    memset(d, 0, sizeof *d);
    d->status = -1;
    snprintf(d->log, sizeof d->log, "%s/%s.log", g_dir, tag);
    snprintf(d->sockpath, sizeof d->sockpath, "%.60s/%.20s.sock", g_dir, tag);
    d->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, d->sockpath, sizeof d->sockpath);
    unlink(d->sockpath);
    if (d->sock < 0 || bind(d->sock, (struct sockaddr *)&sa, sizeof sa)) {
        perror("notify socket");
        exit(1);
    }
    d->pid = fork();
    if (d->pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        dup2(fd, 1);
        setenv("NOTIFY_SOCKET", d->sockpath, 1);
        if (watchdog_usec)
            setenv("WATCHDOG_USEC", watchdog_usec, 1);
        else
            unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        unsetenv("JOURNAL_STREAM");
        execv(argv[0], argv);
        _exit(127);
    }
}

/* Collects notifications for up to ms; stops early once one contains
 * `want` (NULL: collect for the whole time). 1 if `want` arrived. */
static inline int daemon_notify_wait(struct daemon *d, const char *want, int ms)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        int64_t left = end - now_ms();
        struct pollfd p = {d->sock, POLLIN, 0};
        /* past the deadline: still take what is already queued */
        if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0) {
            if (left <= 0)
                return 0;
            continue;
        }
        char buf[1024];
        ssize_t n = recv(d->sock, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = 0;
        if (d->msglen + (size_t)n + 2 < sizeof d->msgs) {
            memcpy(d->msgs + d->msglen, buf, (size_t)n);
            d->msglen += (size_t)n;
            d->msgs[d->msglen++] = '\n';
            d->msgs[d->msglen] = 0;
        }
        if (want && strstr(buf, want))
            return 1;
    }
}

static inline int count_in(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The daemon's log so far (its first MiB), in a buffer the next call reuses;
 * "" when it cannot be read. */
static inline const char *log_text(const struct daemon *d)
{
    static char buf[1 << 20];
    FILE *f = fopen(d->log, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    return buf;
}

static inline int log_contains(const struct daemon *d, const char *needle)
{
    return strstr(log_text(d), needle) != NULL;
}

static inline int log_wait(const struct daemon *d, const char *needle, int ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        if (log_contains(d, needle))
            return 1;
        sleep_ms(50);
    }
    return 0;
}

/* Waits up to ms for the daemon to exit; kills it (and fails) after that. */
static inline int daemon_wait_exit(struct daemon *d, int ms)
{
    int64_t end = now_ms() + ms;
    int st;
    for (;;) {
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid)
            break;
        if (now_ms() > end) {
            fprintf(stderr, "agecamd %d did not exit within %d ms: killing it\n", (int)d->pid, ms);
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &st, 0);
            failures++;
            break;
        }
        sleep_ms(20);
    }
    d->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    daemon_notify_wait(d, NULL, 0);
    close(d->sock);
    unlink(d->sockpath);
    return d->status;
}

static inline void daemon_dump_log(const struct daemon *d)
{
    FILE *f = fopen(d->log, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "---- %s ----\n", d->log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
    fprintf(stderr, "---- notifications ----\n%s----\n", d->msgs);
}

#ifdef DAEMON_HARNESS_MAIN
/* The common start of a daemon test's main: AGECAMD MKDEMO PORTRAIT
 * AGE_MODEL on the command line, a scratch folder, a ring name of our own
 * and demo frames (12 frames, one face of face_px in w x h). 0, or the exit
 * status to return. */
static inline int harness_main_setup(int argc, char **argv, const char *name, const char *w, const char *h,
                                     const char *face_px)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s AGECAMD MKDEMO PORTRAIT AGE_MODEL\n", argv[0]);
        return 2;
    }
    agecamd = argv[1];
    age_model = argv[4];
    harness_setup(name);
    snprintf(frames, sizeof frames, "%s/frames", g_dir);
    snprintf(ring_name, sizeof ring_name, "agecam-%s-%d", name, (int)getpid());
    char *mk[] = {argv[2], argv[3], frames, "12", "1", (char *)w, (char *)h, (char *)face_px, NULL};
    if (run_wait(mk) != 0) {
        fprintf(stderr, "mkdemo failed\n");
        return 1;
    }
    return 0;
}

/* ...and its end: the ring and scratch folder removed, the verdict. */
static inline int harness_main_finish(void)
{
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/%s", ring_name);
    unlink(shm);
    harness_cleanup();
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}

#include "agecam/ring.h"

static inline agecam_reader *open_ring(int ms)
{
    agecam_reader *r = NULL;
    int64_t end = now_ms() + ms;
    while (agecam_reader_open(&r, ring_name) != 0 && now_ms() < end)
        sleep_ms(50);
    return r;
}

/* agecamd started with argv, READY=1 seen and its ring open; NULL (and the
 * daemon killed) when either does not come. */
static inline agecam_reader *start_with_ring(struct daemon *d, const char *tag, char *const argv[])
{
    daemon_start(d, tag, NULL, argv);
    CHECK(daemon_notify_wait(d, "READY=1", 15000));
    agecam_reader *r = open_ring(5000);
    CHECK(r != NULL);
    if (!r) {
        kill(d->pid, SIGKILL);
        daemon_wait_exit(d, 5000);
    }
    return r;
}
#endif

#endif
