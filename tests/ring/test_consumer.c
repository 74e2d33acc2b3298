/* A third-party consumer: only <agecam/ring.h> and libagecam.so (no internal
 * headers). Also reads the same ring a second way, written from nothing but
 * the layout documented in the header and the C library, and requires both
 * readers to agree. usage: test_consumer RINGSCRIPT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agecam/ring.h>

#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

/* The documented protocol, by hand: returns how many records were copied. */
static int doc_read_all(const char *name, struct agecam_record *out, int max)
{
    char path[128];
    snprintf(path, sizeof(path), "/%s", name);
    int fd = shm_open(path, O_RDONLY, 0);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct agecam_ring_header));
    const unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    close(fd);
    const struct agecam_ring_header *h = (const void *)m;
    CHECK(__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == AGECAM_RING_MAGIC);
    CHECK(h->abi == AGECAM_RING_ABI && h->record_size == sizeof(struct agecam_record));
    CHECK(h->capacity && !(h->capacity & (h->capacity - 1)));
    CHECK((uint64_t)st.st_size >= h->header_size + (uint64_t)h->capacity * h->record_size);
    uint64_t ws = __atomic_load_n(&h->write_seq, __ATOMIC_ACQUIRE);
    uint64_t s = ws > h->capacity ? ws - h->capacity + 1 : 1;
    int n = 0;
    for (; s <= ws && n < max; s++) {
        const unsigned char *slot = m + h->header_size + ((s - 1) & (h->capacity - 1)) * h->record_size;
        const uint64_t *words = (const void *)slot;
        uint64_t s1 = __atomic_load_n(&words[0], __ATOMIC_ACQUIRE);
        if (s1 != s << 1)
            continue;
        uint64_t copy[16];
        for (int i = 1; i < 16; i++)
            copy[i] = __atomic_load_n(&words[i], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&words[0], __ATOMIC_RELAXED) != s1)
            continue;
        copy[0] = s;
        memcpy(&out[n++], copy, sizeof(copy));
    }
    munmap((void *)m, (size_t)st.st_size);
    return n;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    char name[64], script[128];
    snprintf(name, sizeof(name), "agecam-test-consumer-%d", (int)getpid());
    snprintf(script, sizeof(script), "/tmp/%s.txt", name);
    FILE *f = fopen(script, "w");
    CHECK(f);
    fprintf(f, "create %s 8\nclock 1700000000\n", name);
    for (int t = 1; t <= 12; t++)
        fprintf(f, "new 0 %d %d 2 0.5\nadvance 1\n", t, 20 + t);
    fprintf(f, "health 3 10 2 1 0\n");
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], script, (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(script);

    agecam_reader *r;
    CHECK(agecam_reader_open(&r, name) == 0);
    struct agecam_ring_info info;
    CHECK(agecam_reader_info(r, &info) == 0);
    CHECK(info.capacity == 8 && info.write_seq == 13 && info.state == AGECAM_RING_CLOSED);
    CHECK(info.writer_alive == 0); /* ringscript has exited */
    struct agecam_record lib[8], doc[8];
    int n = 0, ret;
    uint64_t missed = 0;
    while ((ret = agecam_reader_next(r, &lib[n], &missed)) == 1)
        n++;
    CHECK(ret == 0 && n == 8 && missed == 0); /* opened at the oldest record: nothing counted */
    CHECK(doc_read_all(name, doc, 8) == 8);
    CHECK(!memcmp(lib, doc, sizeof(lib)));
    CHECK(lib[0].seq == 6 && lib[0].kind == AGECAM_EV_NEW && lib[0].track_id == 6);
    CHECK(lib[0].u.face.age == 26 && lib[0].t_real_ns == 1700000005LL * 1000000000LL);
    CHECK(lib[7].kind == AGECAM_EV_HEALTH && lib[7].camera_id == 3 && lib[7].u.health.drops == 1);
    CHECK(!strcmp(agecam_event_kind_name(lib[7].kind), "health"));
    agecam_reader_close(r);
    char path[128];
    snprintf(path, sizeof(path), "/%s", name);
    shm_unlink(path);
    printf("libagecam consumer: ok\n");
    return 0;
}
