/* agecam stats --mqtt against a minimal MQTT 3.1.1 broker written here
 * (loopback, random port): CONNECT with a last-will, the retained online
 * flag, one message per counted visit, retained totals, and a clean
 * goodbye; then a broker that is down must not stop the counting, one that
 * comes up late is found by the retries, one that never answers CONNECT is
 * given up on and tried again, and must not hold up the exit.
 * usage: test_mqtt AGECAM */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring/ac_ring.h"

#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

struct packet {
    int type, flags;
    unsigned char body[4096];
    size_t len;
    char topic[256];
    const unsigned char *payload;
    size_t payload_len;
};

static int read_full(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 10000) != 1)
            return -ETIMEDOUT;
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return k == 0 ? -EPIPE : -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_packet(int fd, struct packet *pk)
{
    unsigned char b;
    if (read_full(fd, &b, 1))
        return -1;
    pk->type = b >> 4;
    pk->flags = b & 15;
    size_t len = 0;
    for (int shift = 0; shift < 28; shift += 7) {
        if (read_full(fd, &b, 1))
            return -1;
        len |= (size_t)(b & 127) << shift;
        if (!(b & 128))
            break;
    }
    CHECK(len <= sizeof(pk->body));
    if (read_full(fd, pk->body, len))
        return -1;
    pk->len = len;
    pk->topic[0] = 0;
    if (pk->type == 3) {
        CHECK(len >= 2);
        size_t tl = (size_t)pk->body[0] << 8 | pk->body[1];
        CHECK(tl + 2 <= len && tl < sizeof(pk->topic));
        memcpy(pk->topic, pk->body + 2, tl);
        pk->topic[tl] = 0;
        size_t off = 2 + tl + (((pk->flags >> 1) & 3) ? 2 : 0);
        pk->payload = pk->body + off;
        pk->payload_len = len - off;
    }
    return 0;
}

/* Next PUBLISH on `topic`, answering pings on the way. */
static void expect_publish(int fd, const char *topic, struct packet *pk)
{
    for (int i = 0; i < 200; i++) {
        CHECK(read_packet(fd, pk) == 0);
        if (pk->type == 12) { /* PINGREQ */
            unsigned char resp[2] = {0xd0, 0};
            CHECK(write(fd, resp, 2) == 2);
        }
        if (pk->type == 3 && !strcmp(pk->topic, topic))
            return;
    }
    CHECK(!"publish not seen");
}

static int contains(const struct packet *pk, const char *s)
{
    char buf[4097];
    memcpy(buf, pk->payload, pk->payload_len);
    buf[pk->payload_len] = 0;
    return strstr(buf, s) != NULL;
}

static void publish_track(struct ac_ring *w, uint64_t track, float age, int64_t t0, int dwell)
{
    struct agecam_record r;
    memset(&r, 0, sizeof(r));
    r.track_id = track;
    r.flags = AGECAM_REC_AGE_VALID;
    r.u.face.age = age;
    r.u.face.age_std = 3;
    r.u.face.first_seen_real_ns = t0 * 1000000000LL;
    r.kind = AGECAM_EV_NEW;
    r.t_real_ns = t0 * 1000000000LL;
    r.t_mono_ns = 1;
    ac_ring_publish(w, &r);
    r.kind = AGECAM_EV_END;
    r.t_real_ns = (t0 + dwell) * 1000000000LL;
    ac_ring_publish(w, &r);
}

/* A loopback TCP socket on a free port, listening or only bound (then a
 * connect is refused until listen()); its address goes to broker. */
static int loopback(int do_listen, char *broker, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(!do_listen || listen(fd, 4) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    snprintf(broker, n, "127.0.0.1:%u", ntohs(a.sin_port));
    return fd;
}

static pid_t spawn(const char *agecam, const char *ring, const char *state, const char *broker, const char *out)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        const char *args[] = {agecam, "stats", "--follow", "--ring", ring, "--state", state, "--mqtt", broker,
                              "--mqtt-prefix", "agecam-test", "--mqtt-every", "1", "--min-dwell", "1s",
                              "--json", "--exit-on-idle", "1", NULL};
        if (!freopen(out ? out : "/dev/null", "w", stdout))
            _exit(126);
        if (!out)
            args[16] = NULL; /* the broker test ends with SIGTERM instead */
        execv(agecam, (char *const *)args);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    alarm(60);
    signal(SIGPIPE, SIG_IGN);
    char name[64], dir[] = "/tmp/agecam-mqtt-XXXXXX", state[128], broker[64], out[128];
    snprintf(name, sizeof(name), "agecam-test-mqtt-%d", (int)getpid());
    CHECK(mkdtemp(dir));
    snprintf(state, sizeof(state), "%s/visits.log", dir);
    snprintf(out, sizeof(out), "%s/report.json", dir);
    struct ac_ring *w;
    struct ac_ring_settings rs = {.name = name, .capacity = 64, .mode = 0600, .gid = (gid_t)-1};
    CHECK(ac_ring_create(&w, &rs) == 0);

    int ls = loopback(1, broker, sizeof(broker));

    pid_t pid = spawn(argv[1], name, state, broker, NULL);
    struct pollfd pfd = {.fd = ls, .events = POLLIN};
    CHECK(poll(&pfd, 1, 10000) == 1);
    int c = accept(ls, NULL, NULL);
    CHECK(c >= 0);
    struct packet pk;
    CHECK(read_packet(c, &pk) == 0 && pk.type == 1); /* CONNECT */
    CHECK(pk.len > 10 && !memcmp(pk.body, "\0\4MQTT", 6));
    CHECK(pk.body[7] & 0x04);                          /* will flag: offline on a crash */
    CHECK(memmem(pk.body, pk.len, "agecam-test/online", 18));
    unsigned char connack[4] = {0x20, 2, 0, 0};
    CHECK(write(c, connack, 4) == 4);
    expect_publish(c, "agecam-test/online", &pk);
    CHECK((pk.flags & 1) && pk.payload_len == 1 && pk.payload[0] == '1');

    publish_track(w, 1, 30, 1700000000, 10); /* a visitor */
    publish_track(w, 2, 70, 1700000000, 0);  /* a passer-by: no message */
    publish_track(w, 3, 8, 1700000100, 5);   /* a child */
    expect_publish(c, "agecam-test/visit", &pk);
    CHECK(contains(&pk, "\"track\":1,") && contains(&pk, "\"band\":\"25-34\"") &&
          contains(&pk, "\"dwell_s\":10.0") && contains(&pk, "\"first_seen\":\"2023-11-14T22:13:20Z\""));
    CHECK(!(pk.flags & 1));
    expect_publish(c, "agecam-test/visit", &pk);
    CHECK(contains(&pk, "\"track\":3,") && contains(&pk, "\"band\":\"0-12\""));
    for (int i = 0;; i++) { /* totals are periodic: wait for one that includes both */
        CHECK(i < 10);
        expect_publish(c, "agecam-test/stats", &pk);
        CHECK(pk.flags & 1);
        if (contains(&pk, "\"visitors_total\":2"))
            break;
    }
    CHECK(contains(&pk, "\"0-12\":1") && contains(&pk, "\"25-34\":1") && contains(&pk, "\"passersby\":1"));
    kill(pid, SIGTERM);
    expect_publish(c, "agecam-test/online", &pk);
    CHECK(pk.payload_len == 1 && pk.payload[0] == '0');
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(c);

    /* Broker down: counting and reports go on. */
    close(ls);
    publish_track(w, 4, 40, 1700000200, 20);
    pid = spawn(argv[1], name, state, broker, out);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *f = fopen(out, "r");
    char buf[8192] = "";
    CHECK(f && fread(buf, 1, sizeof(buf) - 1, f) > 0);
    fclose(f);
    CHECK(strstr(buf, "\"visitors_total\":3"));

    /* Late broker: the port refuses (bound, not listening) until listen(). */
    int late = loopback(0, broker, sizeof(broker));
    pid = spawn(argv[1], name, state, broker, NULL);
    usleep(1500 * 1000); /* at least one refused try and one back-off */
    CHECK(listen(late, 4) == 0);
    pfd.fd = late;
    CHECK(poll(&pfd, 1, 10000) == 1); /* retries come at 1, 3, 7 s */
    c = accept(late, NULL, NULL);
    CHECK(c >= 0);
    CHECK(read_packet(c, &pk) == 0 && pk.type == 1);
    CHECK(write(c, connack, 4) == 4);
    expect_publish(c, "agecam-test/online", &pk);
    CHECK(pk.payload_len == 1 && pk.payload[0] == '1');
    kill(pid, SIGTERM);
    expect_publish(c, "agecam-test/online", &pk);
    CHECK(pk.payload_len == 1 && pk.payload[0] == '0');
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(c);
    close(late);

    /* Silent peer: CONNECT never answered; after 5 s the client gives up on
     * that connection and tries again, and that try gets through. */
    int silent = loopback(1, broker, sizeof(broker));
    pid = spawn(argv[1], name, state, broker, NULL);
    pfd.fd = silent;
    CHECK(poll(&pfd, 1, 10000) == 1);
    int c1 = accept(silent, NULL, NULL);
    CHECK(c1 >= 0 && read_packet(c1, &pk) == 0 && pk.type == 1);
    CHECK(poll(&pfd, 1, 10000) == 1); /* the second try, 5 s later */
    c = accept(silent, NULL, NULL);
    CHECK(c >= 0 && read_packet(c, &pk) == 0 && pk.type == 1);
    CHECK(write(c, connack, 4) == 4);
    expect_publish(c, "agecam-test/online", &pk);
    CHECK(pk.payload_len == 1 && pk.payload[0] == '1');
    kill(pid, SIGTERM);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(c1);
    close(c);
    close(silent);

    /* Stalled broker at the exit: the kernel completes the handshake, nobody
     * answers, and the exit is not held up. */
    int mute = loopback(1, broker, sizeof(broker));
    publish_track(w, 5, 50, 1700000300, 20);
    pid = spawn(argv[1], name, state, broker, out);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(mute);
    f = fopen(out, "r");
    memset(buf, 0, sizeof(buf));
    CHECK(f && fread(buf, 1, sizeof(buf) - 1, f) > 0);
    fclose(f);
    CHECK(strstr(buf, "\"visitors_total\":4"));

    ac_ring_unlink(name);
    ac_ring_destroy(w);
    unlink(state);
    unlink(out);
    rmdir(dir);
    printf("mqtt: ok\n");
    return 0;
}
