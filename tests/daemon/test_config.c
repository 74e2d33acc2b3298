/* Config table, INI parser and validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ac_cmdline.h"
#include "daemon/ac_config.h"

static int failures;
#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static char err[512];

static int parse(struct ac_config *c, const char *text)
{
    ac_config_defaults(c);
    err[0] = 0;
    return ac_config_parse(c, "t.conf", text, err, sizeof err);
}

static void expect_error(const char *text, const char *needle)
{
    struct ac_config c;
    int rc = parse(&c, text);
    if (rc != -EINVAL || !strstr(err, needle)) {
        fprintf(stderr, "expected error containing '%s', got rc %d '%s' for:\n%s\n", needle, rc, err,
                text);
        failures++;
    }
}

static void test_good(void)
{
    struct ac_config c;
    int rc = parse(&c, "# comment\n; other comment\n\n[camera]\nsource = dir:/tmp/x#y\n"
                       "width=320\n  height = 240  \nloop = yes\n[age]\nthreads = 3\nbackend = scalar\n"
                       "model = \"/opt/m odel.acnn\"\n[track]\nfusion_tau = 2.5\n[log]\nlevel = DEBUG\n");
    CHECK(rc == 0);
    CHECK(!strcmp(c.camera.source, "dir:/tmp/x#y"));
    CHECK(c.camera.width == 320 && c.camera.height == 240 && c.camera.loop == 1);
    CHECK(c.age.threads == 3 && c.age.backend == AC_CFG_BACKEND_SCALAR);
    CHECK(!strcmp(c.age.model, "/opt/m odel.acnn"));
    CHECK(c.track.fusion_tau == 2.5f && c.log.level == 3);
    CHECK(c.camera.fps == 15); /* untouched options keep defaults */
    CHECK(ac_config_validate(&c, err, sizeof err) == 0);
}

static void test_errors(void)
{
    expect_error("[camera]\nwidth = 320\nbogus = 1\n", "t.conf:3: unknown key 'bogus' in [camera]");
    expect_error("[camera]\nfps = 500\n", "t.conf:2: camera.fps: 500 is out of range 0..240");
    expect_error("[camera]\nfps = -1\n", "t.conf:2: camera.fps: -1 is out of range");
    expect_error("[camera]\nfps = fast\n", "t.conf:2: camera.fps: 'fast' is not an integer");
    expect_error("[camera]\nfps = 12.5\n", "not an integer");
    expect_error("[camera]\nfps = 99999999999999999999\n", "not an integer");
    expect_error("[track]\nfusion_tau = abc\n", "t.conf:2: track.fusion_tau: 'abc' is not a number");
    expect_error("[track]\nfusion_tau = nan\n", "not a number");
    expect_error("[track]\nfusion_tau = 0\n", "out of range");
    expect_error("[camera]\nloop = maybe\n", "t.conf:2: camera.loop: 'maybe' is not a boolean");
    expect_error("[age]\nbackend = gpu\n", "t.conf:2: age.backend: 'gpu' is not one of fast|scalar");
    expect_error("\n[nosuch]\nx = 1\n", "t.conf:2: unknown section [nosuch]");
    expect_error("[camera\n", "t.conf:1: malformed section header");
    expect_error("width = 3\n", "t.conf:1: 'width' outside any [section]");
    expect_error("[camera]\njust words\n", "t.conf:2: expected 'key = value'");
    char big[2048];
    memset(big, 'a', sizeof big);
    memcpy(big, "[camera]\nsource = ", 18);
    big[sizeof big - 1] = 0;
    expect_error(big, "line too long");
    char longval[600] = "[camera]\nsource = ";
    memset(longval + strlen(longval), 'b', 300);
    expect_error(longval, "longer than");
}

static void test_validate(void)
{
    struct ac_config c;
    ac_config_defaults(&c);
    CHECK(ac_config_validate(&c, err, sizeof err) == 0);
    c.ring.capacity = 1000;
    CHECK(ac_config_validate(&c, err, sizeof err) < 0 && strstr(err, "power of two"));
    ac_config_defaults(&c);
    strcpy(c.ring.mode, "0999");
    CHECK(ac_config_validate(&c, err, sizeof err) < 0 && strstr(err, "ring.mode"));
    ac_config_defaults(&c);
    c.debug.save_crops = 1;
    CHECK(ac_config_validate(&c, err, sizeof err) < 0 && strstr(err, "crops_dir"));
    ac_config_defaults(&c);
    strcpy(c.ring.name, "a/b");
    CHECK(ac_config_validate(&c, err, sizeof err) < 0);
}

static void test_defaults_and_privacy(void)
{
    struct ac_config c;
    ac_config_defaults(&c);
    CHECK(c.debug.save_crops == 0); /* no image touches disk unless asked */
    CHECK(c.debug.stall_stage == AC_STAGE_NONE);
    /* every default re-parses from its own formatted value */
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        char buf[AC_CFG_STR + 8], dotted[128];
        ac_config_format(&c, o, buf, sizeof buf);
        snprintf(dotted, sizeof dotted, "%s.%s", o->section, o->key);
        CHECK(ac_config_find(dotted) == o);
        struct ac_config d = c;
        CHECK(ac_config_set(&d, o, buf, err, sizeof err) == 0);
        CHECK(!memcmp(&d, &c, sizeof c));
    }
    CHECK(ac_config_find("camera") == NULL && ac_config_find("camera.nope") == NULL);
}

static void test_file(void)
{
    char path[] = "/tmp/agecam-cfg-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "[ring]\nname = test\ncapacity = 0x100\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    struct ac_config c;
    ac_config_defaults(&c);
    CHECK(ac_config_load(&c, path, err, sizeof err) == 0);
    CHECK(!strcmp(c.ring.name, "test") && c.ring.capacity == 256);
    /* NUL bytes: not a config file */
    FILE *f = fopen(path, "wb");
    fwrite("[ring]\0name=x\n", 1, 14, f);
    fclose(f);
    CHECK(ac_config_load(&c, path, err, sizeof err) == -EINVAL && strstr(err, "NUL"));
    /* the reader grows its buffer: a setting after ~40 KiB of comments is
     * read, a file of exactly 1 MiB is accepted and one byte more refused */
    for (size_t total = 40000; total; total = total == 40000 ? (1u << 20) : 0) {
        for (int extra = 0; extra < 2; extra++) {
            const char *tail = "\n[ring]\nname = grown\n";
            f = fopen(path, "wb");
            for (size_t i = 0; i < total + extra - strlen(tail); i++)
                fputc(i % 64 == 0 ? '#' : i % 64 == 63 ? '\n' : 'x', f);
            fputs(tail, f);
            fclose(f);
            ac_config_defaults(&c);
            int rc = ac_config_load(&c, path, err, sizeof err);
            if (total == (1u << 20) && extra)
                CHECK(rc == -EFBIG && strstr(err, "1 MiB"));
            else
                CHECK(rc == 0 && !strcmp(c.ring.name, "grown"));
        }
    }
    unlink(path);
    CHECK(ac_config_load(&c, path, err, sizeof err) == -ENOENT && strstr(err, path));
}

/* defaults < file < command line, in any argument order */
static void test_cmdline(void)
{
    char path[] = "/tmp/agecam-cli-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "[camera]\nfps = 10\nwidth = 320\nheight = 240\n[ring]\nname = fromfile\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"agecamd", "--set", "camera.fps=20", "--ring", "fromcli", "-c", path,
                    "--threads=3", "--source", "dir:/x", NULL};
    struct ac_args a;
    struct ac_config c;
    CHECK(ac_args_parse(10, argv, &a, err, sizeof err) == 0);
    CHECK(ac_config_build(&a, &c, err, sizeof err) == 0);
    CHECK(c.camera.fps == 20 && c.camera.width == 320); /* cli over file, file over default */
    CHECK(!strcmp(c.ring.name, "fromcli") && c.age.threads == 3);
    CHECK(!strcmp(c.camera.source, "dir:/x") && c.camera.height == 240);
    CHECK(!strcmp(ac_config_path(&a), path));

    /* a later override of the same key wins */
    char *argv2[] = {"agecamd", "-s", "camera.fps=7", "-s", "camera.fps=8", NULL};
    CHECK(ac_args_parse(5, argv2, &a, err, sizeof err) == 0);
    a.config_path = path;
    CHECK(ac_config_build(&a, &c, err, sizeof err) == 0 && c.camera.fps == 8);

    /* errors name the option */
    char *bad1[] = {"agecamd", "--set", "camera.nope=1", NULL};
    CHECK(ac_args_parse(3, bad1, &a, err, sizeof err) == -EINVAL && strstr(err, "camera.nope"));
    char *bad2[] = {"agecamd", "--set", "camera.fps", NULL};
    CHECK(ac_args_parse(3, bad2, &a, err, sizeof err) == -EINVAL && strstr(err, "section.key=value"));
    char *bad3[] = {"agecamd", "--frobnicate", NULL};
    CHECK(ac_args_parse(2, bad3, &a, err, sizeof err) == -EINVAL && strstr(err, "--frobnicate"));
    char *bad4[] = {"agecamd", "--threads", "99", NULL};
    CHECK(ac_args_parse(3, bad4, &a, err, sizeof err) == 0);
    CHECK(ac_config_build(&a, &c, err, sizeof err) == -EINVAL &&
          strstr(err, "command line: age.threads: 99 is out of range"));
    char *bad5[] = {"agecamd", "stray", NULL};
    CHECK(ac_args_parse(2, bad5, &a, err, sizeof err) == -EINVAL && strstr(err, "stray"));
    /* a file error comes with its line even when the cli would fix it */
    FILE *f = fopen(path, "w");
    fputs("[camera]\nfps = 10\nfps = x\n", f);
    fclose(f);
    char *argv3[] = {"agecamd", "-c", path, "--set", "camera.fps=3", NULL};
    CHECK(ac_args_parse(5, argv3, &a, err, sizeof err) == 0);
    CHECK(ac_config_build(&a, &c, err, sizeof err) == -EINVAL && strstr(err, ":3: camera.fps"));
    unlink(path);
    char *argv4[] = {"agecamd", "-c", path, NULL};
    CHECK(ac_args_parse(3, argv4, &a, err, sizeof err) == 0);
    CHECK(ac_config_build(&a, &c, err, sizeof err) == -ENOENT);
}

/* --help documents every visible option (with its default) and no hidden one */
static void test_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ac_args_usage(f, "agecamd");
    fclose(f);
    int visible = 0;
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        char name[160];
        snprintf(name, sizeof name, "  %s.%s (", o->section, o->key);
        char *at = strstr(buf, name);
        if (o->hidden) {
            CHECK(at == NULL);
            continue;
        }
        visible++;
        if (!at) {
            fprintf(stderr, "--help lacks %s\n", name);
            failures++;
            continue;
        }
        char def[AC_CFG_STR + 16];
        snprintf(def, sizeof def, "default \"%s\"", o->def);
        char *eol = strchr(at, '\n');
        CHECK(eol && strstr(at, def) && strstr(at, def) < eol);
        if (o->cli) {
            char cli[64];
            snprintf(cli, sizeof cli, "--%s=", o->cli);
            CHECK(strstr(at, cli) && strstr(at, cli) < eol);
        }
    }
    CHECK(visible > 40);
    free(buf);
}

/* the shipped conf/agecamd.conf names every visible option at its default */
static void test_shipped_conf(void)
{
    const char *root = getenv("AGECAM_SOURCE_ROOT");
    if (!root) {
        fprintf(stderr, "AGECAM_SOURCE_ROOT unset: shipped config not checked\n");
        failures++;
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/conf/agecamd.conf", root);
    struct ac_config c, d;
    ac_config_defaults(&c);
    ac_config_defaults(&d);
    CHECK(ac_config_load(&c, path, err, sizeof err) == 0);
    FILE *f = fopen(path, "r");
    char text[16384];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = 0;
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        if (o->hidden)
            continue;
        char line[160];
        snprintf(line, sizeof line, "\n%s =", o->key);
        if (!strstr(text, line)) {
            fprintf(stderr, "conf/agecamd.conf lacks %s.%s\n", o->section, o->key);
            failures++;
        }
    }
    CHECK(!memcmp(&c, &d, sizeof c));
    /* --print-config output parses back to the same settings */
    char *buf = NULL;
    size_t len = 0;
    f = open_memstream(&buf, &len);
    strcpy(c.camera.source, "dir:/a b#c");
    c.track.fusion_tau = 2.75f;
    c.age.backend = AC_CFG_BACKEND_SCALAR;
    ac_config_write(f, &c);
    fclose(f);
    ac_config_defaults(&d);
    CHECK(ac_config_parse(&d, "printed", buf, err, sizeof err) == 0);
    CHECK(!memcmp(&c, &d, sizeof c));
    free(buf);
}

/* Found by tests/fuzz (config, cmdline): values --print-config could not
 * reproduce. Blanks around a string and enclosing quotes are quoted on
 * output, floats print with as many digits as they need, and control
 * characters (a newline through --set) are refused. */
static void test_print_roundtrip(void)
{
    struct ac_config c, d;
    ac_config_defaults(&c);
    const struct ac_option *src = ac_config_find("camera.source");
    CHECK(ac_config_set(&c, src, "dir:/a\nb", err, sizeof err) == -EINVAL);
    CHECK(strstr(err, "control characters") != NULL);
    CHECK(ac_config_set(&c, src, "dir:/x\ty", err, sizeof err) == -EINVAL);
    const char *strs[] = {"  dir:/lead", "dir:/trail ", "\"dir:/q\"", "\"", " "};
    const float vals[] = {0.123456789f, 3.0f, 599.999939f, 0.1f};
    for (int i = 0; i < 5; i++) {
        CHECK(ac_config_set(&c, src, strs[i], err, sizeof err) == 0);
        c.track.fusion_tau = vals[i % 4];
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ac_config_write(f, &c);
        fclose(f);
        ac_config_defaults(&d);
        CHECK(ac_config_parse(&d, "printed", buf, err, sizeof err) == 0);
        CHECK(!strcmp(d.camera.source, strs[i]));
        CHECK(d.track.fusion_tau == vals[i % 4]);
        free(buf);
    }
    char buf[64];
    ac_config_format(&c, ac_config_find("detect.score_threshold"), buf, sizeof buf);
    CHECK(!strcmp(buf, "0.5")); /* usual values stay short */
}

int main(void)
{
    test_cmdline();
    test_help();
    test_shipped_conf();
    test_good();
    test_errors();
    test_validate();
    test_defaults_and_privacy();
    test_file();
    test_print_roundtrip();
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
