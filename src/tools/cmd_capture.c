/* agecam capture: lets an installer check a camera. --list shows every V4L2
 * capture device with its formats and sizes; --source SRC --frames N --out DIR
 * saves N converted frames as JPEG and reports what was negotiated. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "capture/ac_capfmt.h"
#include "capture/ac_capture.h"
#include "capture/ac_v4l2.h"
#include "common/ac_image.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: agecam capture --list [--json]\n"
        "       agecam capture --source SRC [--frames N] [--out DIR] [options]\n"
        "SRC: v4l2:/dev/video0 | /dev/videoN | libcamera:0 | file:clip.mp4 | dir:frames/\n"
        "  --list            V4L2 capture devices with formats, sizes and best rates\n"
        "  --json            machine-readable output\n"
        "  --frames N        frames to grab (default 10)\n"
        "  --out DIR         save them as DIR/frame_00000.jpg ...\n"
        "  --width W --height H   output size (default 640x480; 0 = source size)\n"
        "  --fps F           camera rate wanted\n"
        "  --format A,B      pixel formats to prefer, e.g. MJPG,YUYV,NV12\n"
        "  --fast            files/dirs: as fast as possible instead of real time\n"
        "  --loop            files/dirs: start over at the end\n"
        "  --timeout MS      give up when no frame comes for this long (default 5000)\n");
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

struct lc_ctx {
    int json, n;
};

static void print_libcamera(void *ctx, int index, const char *id)
{
    struct lc_ctx *c = ctx;
    if (c->json) {
        printf("%s{\"source\": \"libcamera:%d\", \"id\": ", c->n ? ", " : "", index);
        json_str(id);
        printf("}");
    } else {
        printf("libcamera:%d  %s\n", index, id);
    }
    c->n++;
}

static int list_devices(int json)
{
    glob_t g;
    int n = 0;
    if (glob("/dev/video*", 0, NULL, &g) == 0)
        n = (int)g.gl_pathc;
    struct ac_capfmt *offers = malloc(sizeof *offers * AC_V4L2_MAX_OFFERS);
    if (!offers) {
        if (n)
            globfree(&g);
        return 1;
    }
    if (json)
        printf("{\"v4l2\": [");
    int shown = 0;
    for (int i = 0; i < n; i++) {
        struct ac_v4l2_info info;
        int no = 0;
        const char *path = g.gl_pathv[i];
        int rc = ac_v4l2_query(path, 0, 0, &info, offers, AC_V4L2_MAX_OFFERS, &no);
        if (rc) {
            if (!json)
                printf("%s: %s\n", path, strerror(-rc));
            continue;
        }
        if (!info.is_capture)
            continue;
        char fcc[5];
        if (json) {
            printf("%s{\"device\": ", shown ? ", " : "");
            json_str(path);
            printf(", \"driver\": ");
            json_str(info.driver);
            printf(", \"card\": ");
            json_str(info.card);
            printf(", \"bus\": ");
            json_str(info.bus);
            printf(", \"modes\": [");
            for (int k = 0; k < no; k++)
                printf("%s{\"format\": \"%s\", \"supported\": %s, \"width\": %d, \"height\": %d, \"fps\": %.3f}",
                       k ? ", " : "", ac_capfmt_name(offers[k].fourcc, fcc),
                       ac_capfmt_supported(offers[k].fourcc) ? "true" : "false", offers[k].w, offers[k].h,
                       offers[k].fps_milli / 1000.0);
            printf("]}");
        } else {
            printf("%s  %s (%s, %s)\n", path, info.card, info.driver, info.bus);
            uint32_t last = 0;
            for (int k = 0; k < no; k++) {
                if (offers[k].fourcc != last) {
                    printf("%s    %s%s:", k ? "\n" : "", ac_capfmt_name(offers[k].fourcc, fcc),
                           ac_capfmt_supported(offers[k].fourcc) ? "" : " (not convertible)");
                    last = offers[k].fourcc;
                }
                printf(" %dx%d", offers[k].w, offers[k].h);
                if (offers[k].fps_milli)
                    printf("@%g", offers[k].fps_milli / 1000.0);
            }
            printf("\n");
        }
        shown++;
    }
    struct lc_ctx lc = {json, 0};
    if (json)
        printf("], \"libcamera\": [");
    int nlc = ac_capture_list_libcamera(print_libcamera, &lc);
    if (json)
        printf("]");
    else if (nlc > 0)
        shown += nlc;
    if (json)
        printf(", \"backends\": {\"file\": %s, \"libcamera\": %s}}\n",
               ac_capture_has_backend("file") ? "true" : "false",
               ac_capture_has_backend("libcamera") ? "true" : "false");
    else if (!shown)
        printf("no V4L2 capture devices\n");
    free(offers);
    if (n)
        globfree(&g);
    return 0;
}

static int parse_formats(const char *arg, struct ac_capture_settings *s)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", arg);
    s->nprefer = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint32_t f = ac_capfmt_parse(t);
        if (!f || !ac_capfmt_supported(f) || s->nprefer == AC_CAPTURE_MAX_PREFER)
            return -EINVAL;
        s->prefer[s->nprefer++] = f;
    }
    return s->nprefer ? 0 : -EINVAL;
}

static int grab(const char *src, const struct ac_capture_settings *set, int frames, const char *out,
                int timeout_ms, int json)
{
    struct ac_capture *cap = NULL;
    const char *step = "open";
    int rc = ac_capture_open(src, set, &cap);
    if (!rc) {
        step = "init";
        rc = ac_capture_init(cap);
    }
    if (!rc) {
        step = "start";
        rc = ac_capture_start(cap);
    }
    if (rc) {
        char why[512] = "";
        if (rc == -ENOPKG)
            ac_capture_plugin_error(src, why, sizeof why);
        fprintf(stderr, "agecam capture: %s: %s failed: %s%s%s\n", src, step,
                rc == -EPROTONOSUPPORT ? "unknown source type" : rc == -ENOPKG ? "capture plugin unavailable" : strerror(-rc), why[0] ? ": " : "", why);
        ac_capture_close(cap);
        return 1;
    }
    if (out && mkdir(out, 0755) && errno != EEXIST) {
        fprintf(stderr, "agecam capture: %s: %s\n", out, strerror(errno));
        ac_capture_close(cap);
        return 1;
    }
    int got = 0, ended = 0, failed = 0;
    int64_t first = 0, last = 0, waited_since = -1;
    struct timespec t;
    while (got < frames) {
        struct ac_frame *f;
        rc = ac_capture_read(cap, 500, &f);
        clock_gettime(CLOCK_MONOTONIC, &t);
        int64_t now_ms = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
        if (rc == -ENODATA) {
            ended = 1;
            break;
        }
        if (rc == -EAGAIN || rc == -ETIMEDOUT) {
            if (waited_since < 0)
                waited_since = now_ms;
            if (now_ms - waited_since > timeout_ms) {
                fprintf(stderr, "agecam capture: %s: no frame for %d ms\n", src, timeout_ms);
                failed = 1;
                break;
            }
            continue;
        }
        if (rc) {
            fprintf(stderr, "agecam capture: %s: read failed: %s\n", src, strerror(-rc));
            failed = 1;
            break;
        }
        waited_since = -1;
        if (!got)
            first = f->ts_ns;
        last = f->ts_ns;
        if (out) {
            char path[4096];
            snprintf(path, sizeof path, "%s/frame_%05d.jpg", out, got);
            int src_rc = ac_image_save_jpeg(path, f->rgb, f->w, f->h, f->stride, 90);
            if (src_rc) {
                fprintf(stderr, "agecam capture: %s: %s\n", path, strerror(-src_rc));
                ac_frame_unref(f);
                failed = 1;
                break;
            }
        }
        ac_frame_unref(f);
        got++;
    }
    struct ac_capture_stats st;
    ac_capture_get_stats(cap, &st);
    double fps = got > 1 && last > first ? (got - 1) * 1e9 / (double)(last - first) : 0;
    char fcc[5];
    if (json) {
        printf("{\"source\": ");
        json_str(src);
        printf(", \"format\": \"%s\", \"source_width\": %d, \"source_height\": %d, "
               "\"source_fps\": %.3f, \"width\": %d, \"height\": %d, \"frames\": %d, \"measured_fps\": %.2f, "
               "\"corrupt\": %llu, \"timeouts\": %llu, \"losses\": %llu, \"ended\": %s}\n",
               ac_capfmt_name(st.fourcc, fcc), st.src_w, st.src_h, st.fps_milli / 1000.0, st.out_w,
               st.out_h, got, fps, (unsigned long long)st.corrupt, (unsigned long long)st.timeouts,
               (unsigned long long)st.losses, ended ? "true" : "false");
    } else
        printf("%s: %s %dx%d@%g -> RGB %dx%d: %d frames (%.1f fps by timestamps), %llu corrupt dropped%s%s%s\n",
               src, ac_capfmt_name(st.fourcc, fcc), st.src_w, st.src_h, st.fps_milli / 1000.0, st.out_w, st.out_h,
               got, fps, (unsigned long long)st.corrupt, ended ? ", source ended" : "", out ? ", saved in " : "",
               out ? out : "");
    ac_capture_stop(cap);
    ac_capture_uninit(cap);
    ac_capture_close(cap);
    return failed || got == 0 ? 1 : 0;
}

int ac_cmd_capture(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'}, {"list", no_argument, 0, 'l'}, {"json", no_argument, 0, 'j'},
        {"source", required_argument, 0, 's'}, {"frames", required_argument, 0, 'n'},
        {"out", required_argument, 0, 'o'}, {"width", required_argument, 0, 'W'},
        {"height", required_argument, 0, 'H'}, {"fps", required_argument, 0, 'f'},
        {"format", required_argument, 0, 'F'}, {"fast", no_argument, 0, 'a'}, {"loop", no_argument, 0, 'L'},
        {"timeout", required_argument, 0, 't'}, {0, 0, 0, 0},
    };
    struct ac_capture_settings set;
    ac_capture_settings_default(&set);
    int list = 0, json = 0, frames = 10, timeout_ms = 5000;
    const char *src = NULL, *out = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hljs:n:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'l': list = 1; break;
        case 'j': json = 1; break;
        case 's': src = optarg; break;
        case 'n': frames = atoi(optarg); break;
        case 'o': out = optarg; break;
        case 'W': set.width = atoi(optarg); break;
        case 'H': set.height = atoi(optarg); break;
        case 'f': set.fps = atoi(optarg); break;
        case 'a': set.realtime = 0; break;
        case 'L': set.loop = 1; break;
        case 't': timeout_ms = atoi(optarg); break;
        case 'F':
            if (parse_formats(optarg, &set)) {
                fprintf(stderr, "agecam capture: bad --format '%s'\n", optarg);
                return 2;
            }
            break;
        default: usage(stderr); return 2;
        }
    }
    if (list)
        return list_devices(json);
    if (!src || frames < 1 || set.width < 0 || set.height < 0 || timeout_ms < 1) {
        usage(stderr);
        return 2;
    }
    return grab(src, &set, frames, out, timeout_ms, json);
}
