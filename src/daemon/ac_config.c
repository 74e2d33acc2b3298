#include "daemon/ac_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct ac_config, f)
#define I(sec, key, field, def, lo, hi, cli, help) \
    {sec, key, AC_OPT_INT, OFF(field), def, lo, hi, NULL, cli, help, 0}
#define F(sec, key, field, def, lo, hi, help) \
    {sec, key, AC_OPT_FLOAT, OFF(field), def, lo, hi, NULL, NULL, help, 0}
#define S(sec, key, field, def, cli, help) \
    {sec, key, AC_OPT_STRING, OFF(field), def, 0, 0, NULL, cli, help, 0}
#define B(sec, key, field, def, help) \
    {sec, key, AC_OPT_BOOL, OFF(field), def, 0, 1, NULL, NULL, help, 0}
#define E(sec, key, field, def, choices, cli, help) \
    {sec, key, AC_OPT_ENUM, OFF(field), def, 0, 0, choices, cli, help, 0}

const struct ac_option ac_options[] = {
    S("camera", "source", camera.source, "v4l2:/dev/video0", "source",
      "frame source: v4l2:/dev/videoN, libcamera:N, file:clip.mp4 or dir:frames/"),
    I("camera", "width", camera.width, "640", 0, 4096, NULL, "frame width the pipeline sees (0 = source's own)"),
    I("camera", "height", camera.height, "480", 0, 4096, NULL, "frame height (0 = source's own)"),
    I("camera", "fps", camera.fps, "15", 0, 240, NULL, "camera rate wanted, pacing of dir: sources (0 = default)"),
    S("camera", "format", camera.format, "auto", NULL,
      "camera pixel formats, best first (\"MJPG,YUYV\"), or auto"),
    I("camera", "id", camera.id, "0", 0, 65535, NULL, "camera number written into every record"),
    B("camera", "loop", camera.loop, "false", "file:/dir: sources start over at the end"),
    B("camera", "realtime", camera.realtime, "true",
      "file:/dir: sources play at their own pace (a slow pipeline drops frames, as with a camera); "
      "false: every frame, as fast as the pipeline takes them, stamped with the source's own clock"),
    B("camera", "wait_for_device", camera.wait_for_device, "true",
      "start even when the camera is absent and pick it up when it appears"),

    E("detect", "backend", detect.backend, "net", "net|none|replay", NULL,
      "face detector: net; none (no faces: capture, ring and health only); replay (testing: "
      "boxes per frame from the text file in detect.model, lines 'frame x y w h')"),
    S("detect", "model", detect.model, "", "detector-model",
      "detector model file, det-WxH.acnn (its size is the input size; empty = first det-*.acnn installed)"),
    F("detect", "score_threshold", detect.score_threshold, "0.5", 0, 1, "minimum face score"),
    F("detect", "nms_threshold", detect.nms_threshold, "0.4", 0, 1, "IoU above which overlapping boxes merge"),
    I("detect", "min_face", detect.min_face, "40", 8, 4096, NULL, "smallest face kept, pixels"),
    I("detect", "every", detect.every, "1", 1, 100, NULL, "run the detector on every Nth frame, track in between"),
    I("detect", "threads", detect.threads, "1", 1, 16, NULL,
      "threads sharing each detector pass (row-split convolutions; results identical to 1)"),
    B("detect", "flip", detect.flip, "false",
      "also run the detector on the mirror image and merge the faces (about twice the detector "
      "time; finds more partly hidden and cut-off faces)"),
    S("detect", "verifier", detect.verifier, "auto", "verifier",
      "second look at each detected face (face-verify.acnn: a small net on the whole box; score "
      "becomes sqrt(detector x verifier)); auto: that file where models are found, none: off, "
      "or a path"),
    B("detect", "verifier_mirror", detect.verifier_mirror, "true",
      "the verifier also looks at the mirrored face and averages (twice its network time, "
      "~0.4 ms a face on x86; fewer false faces and better boxes)"),

    F("align", "min_size", align.min_size, "32", 0, 4096, "faces smaller than this (pixels) get no age estimate"),
    F("align", "max_roll", align.max_roll, "35", 0, 180, "largest head tilt (degrees) still estimated"),
    F("align", "max_yaw", align.max_yaw, "0.3", 0, 1,
      "largest head turn still estimated: nose offset from the eye midpoint in eye distances"),
    F("align", "min_pitch", align.min_pitch, "0.2", 0, 1, "nose height between eye and mouth lines, lowest"),
    F("align", "max_pitch", align.max_pitch, "0.8", 0, 1, "... and highest"),
    F("align", "min_blur", align.min_blur, "15", 0, 100000,
      "least sharpness (Laplacian variance of the aligned chip) still estimated"),

    S("age", "model", age.model, "", "model", "age model file (empty = installed smlf-small.acnn)"),
    E("age", "backend", age.backend, "fast", "fast|scalar", NULL, "inference kernels"),
    I("age", "threads", age.threads, "2", 1, 16, "threads", "age worker threads"),
    B("age", "mirror", age.mirror, "true", "also estimate the mirrored crop and average"),

    F("track", "iou_threshold", track.iou_threshold, "0.2", 0, 1, "least overlap of a detection with a predicted track"),
    F("track", "new_score", track.new_score, "0.7", 0, 1,
      "least detector score that starts a track; weaker faces only extend tracks"),
    I("track", "confirm_hits", track.confirm_hits, "3", 1, 100, NULL, "detections before a track is announced"),
    I("track", "max_missed", track.max_missed, "10", 0, 1000, NULL, "detector runs a track may miss before it ends"),
    I("track", "max_tracks", track.max_tracks, "32", 1, 256, NULL, "most faces tracked at once"),
    F("track", "fusion_tau", track.fusion_tau, "4", 0.1, 600, "seconds of history the fused age mostly rests on"),
    F("track", "update_years", track.update_years, "2", 0, 100, "publish an update when the age moves this much"),
    F("track", "range_years", track.range_years, "3", 0, 100, "... or when an end of the range moves this much"),
    F("track", "update_interval", track.update_interval, "1", 0, 3600,
      "seconds: at most one update per track this often"),
    F("track", "range_low", track.range_low, "0.1", 0, 0.5, "percentile of the fused distribution for age_low"),
    F("track", "range_high", track.range_high, "0.9", 0.5, 1, "percentile for age_high"),

    S("ring", "name", ring.name, "agecam", "ring", "shared-memory ring name (/dev/shm/NAME)"),
    I("ring", "capacity", ring.capacity, "4096", 16, 16777216, NULL, "records kept (power of two)"),
    S("ring", "mode", ring.mode, "0644", NULL, "permissions of the ring (octal)"),
    S("ring", "group", ring.group, "", NULL, "group owning the ring (empty = the daemon's)"),
    I("ring", "health_interval_ms", ring.health_interval_ms, "1000", 100, 3600000, NULL,
      "period of HEALTH records"),

    I("pipeline", "queue_depth", pipeline.queue_depth, "4", 1, 64, NULL, "frames waiting between stages (oldest dropped)"),
    I("pipeline", "stall_timeout_ms", pipeline.stall_timeout_ms, "10000", 100, 600000, NULL,
      "a stage busy this long without progress counts as stalled (stops the watchdog)"),

    E("log", "level", log.level, "info", "err|warn|info|debug", "log-level", "log verbosity"),

    B("debug", "save_crops", debug.save_crops, "false",
      "PRIVACY: write every face crop as JPEG into crops_dir (off: no image ever touches disk)"),
    S("debug", "crops_dir", debug.crops_dir, "", NULL, "folder for save_crops"),
    {"debug", "stall_stage", AC_OPT_ENUM, OFF(debug.stall_stage), "none", 0, 0,
     "none|capture|detect|age|track", "debug-stall-stage", "test aid: make this stage hang", 1},
    {"debug", "stall_after", AC_OPT_INT, OFF(debug.stall_after), "5", 0, 1000000, NULL, NULL,
     "test aid: frames processed before the stall", 1},
};
const int ac_option_count = (int)(sizeof ac_options / sizeof ac_options[0]);

static void *field(struct ac_config *c, const struct ac_option *o) { return (char *)c + o->offset; }
static const void *cfield(const struct ac_config *c, const struct ac_option *o)
{
    return (const char *)c + o->offset;
}

const char *ac_config_choice(const struct ac_option *o, int index, char *buf, size_t len)
{
    const char *p = o->choices;
    for (int i = 0; p && *p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (i == index) {
            snprintf(buf, len, "%.*s", (int)n, p);
            return buf;
        }
        p = bar ? bar + 1 : p + n;
    }
    snprintf(buf, len, "?");
    return buf;
}

static int parse_choice(const struct ac_option *o, const char *v)
{
    const char *p = o->choices;
    for (int i = 0; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (strlen(v) == n && !strncasecmp(p, v, n))
            return i;
        p = bar ? bar + 1 : p + n;
    }
    return -1;
}

int ac_config_set(struct ac_config *c, const struct ac_option *o, const char *v, char *err,
                  size_t errlen)
{
    char *end;
    switch (o->type) {
    case AC_OPT_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 0);
        if (!*v || *end || errno) {
            snprintf(err, errlen, "%s.%s: '%s' is not an integer", o->section, o->key, v);
            return -EINVAL;
        }
        if (x < o->min || x > o->max) {
            snprintf(err, errlen, "%s.%s: %lld is out of range %.0f..%.0f", o->section, o->key, x,
                     o->min, o->max);
            return -EINVAL;
        }
        *(int *)field(c, o) = (int)x;
        return 0;
    }
    case AC_OPT_FLOAT: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x)) {
            snprintf(err, errlen, "%s.%s: '%s' is not a number", o->section, o->key, v);
            return -EINVAL;
        }
        if (x < o->min || x > o->max) {
            snprintf(err, errlen, "%s.%s: %g is out of range %g..%g", o->section, o->key, x, o->min,
                     o->max);
            return -EINVAL;
        }
        *(float *)field(c, o) = (float)x;
        return 0;
    }
    case AC_OPT_STRING:
        if (strlen(v) >= AC_CFG_STR) {
            snprintf(err, errlen, "%s.%s: value longer than %d characters", o->section, o->key,
                     AC_CFG_STR - 1);
            return -EINVAL;
        }
        /* A newline (possible through --set) would break --print-config's
         * file and forge lines in logs; no path or name needs one. */
        for (const char *q = v; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                snprintf(err, errlen, "%s.%s: value contains control characters", o->section,
                         o->key);
                return -EINVAL;
            }
        strcpy((char *)field(c, o), v);
        return 0;
    case AC_OPT_BOOL:
        if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
            *(int *)field(c, o) = 1;
        else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
                 !strcmp(v, "0"))
            *(int *)field(c, o) = 0;
        else {
            snprintf(err, errlen, "%s.%s: '%s' is not a boolean (true/false)", o->section, o->key, v);
            return -EINVAL;
        }
        return 0;
    case AC_OPT_ENUM: {
        int i = parse_choice(o, v);
        if (i < 0) {
            snprintf(err, errlen, "%s.%s: '%s' is not one of %s", o->section, o->key, v, o->choices);
            return -EINVAL;
        }
        *(int *)field(c, o) = i;
        return 0;
    }
    }
    return -EINVAL;
}

void ac_config_defaults(struct ac_config *c)
{
    memset(c, 0, sizeof *c);
    char err[256];
    for (int i = 0; i < ac_option_count; i++)
        if (ac_config_set(c, &ac_options[i], ac_options[i].def, err, sizeof err))
            abort(); /* a broken default is a programming error, caught by every test */
}

const struct ac_option *ac_config_find(const char *dotted)
{
    const char *dot = strchr(dotted, '.');
    if (!dot)
        return NULL;
    size_t sl = (size_t)(dot - dotted);
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        if (strlen(o->section) == sl && !strncmp(o->section, dotted, sl) && !strcmp(o->key, dot + 1))
            return o;
    }
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int ac_config_parse(struct ac_config *c, const char *name, const char *text, char *err,
                    size_t errlen)
{
    char section[64] = "";
    char line[1024];
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (n >= sizeof line) {
            snprintf(err, errlen, "%s:%d: line too long", name, lineno);
            return -EINVAL;
        }
        memcpy(line, p, n);
        line[n] = 0;
        p = nl ? nl + 1 : p + n;
        char *s = trim(line);
        /* comments are whole lines only, so values (paths) may hold # and ; */
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1]) {
                snprintf(err, errlen, "%s:%d: malformed section header", name, lineno);
                return -EINVAL;
            }
            *close = 0;
            char *sec = trim(s + 1);
            int known = 0;
            for (int i = 0; i < ac_option_count; i++)
                if (!strcmp(ac_options[i].section, sec))
                    known = 1;
            if (!known) {
                snprintf(err, errlen, "%s:%d: unknown section [%s]", name, lineno, sec);
                return -EINVAL;
            }
            snprintf(section, sizeof section, "%s", sec);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", name, lineno);
            return -EINVAL;
        }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        if (!*section) {
            snprintf(err, errlen, "%s:%d: '%s' outside any [section]", name, lineno, key);
            return -EINVAL;
        }
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = 0;
            val++;
        }
        char dotted[192];
        snprintf(dotted, sizeof dotted, "%s.%s", section, key);
        const struct ac_option *o = ac_config_find(dotted);
        if (!o) {
            snprintf(err, errlen, "%s:%d: unknown key '%s' in [%s]", name, lineno, key, section);
            return -EINVAL;
        }
        char why[384];
        if (ac_config_set(c, o, val, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
            return -EINVAL;
        }
    }
    return 0;
}

int ac_config_load(struct ac_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    /* grown as needed: a config is a few KiB, and a fixed 1 MiB buffer per
     * load (every SIGHUP) would be mostly wasted */
    enum { MAX = 1 << 20 };
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            if (ncap > MAX + 1)
                ncap = MAX + 1;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return -ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap || n > MAX)
            break; /* end of file, a read error, or too large */
    }
    int rerr = ferror(f);
    fclose(f);
    int rc;
    if (rerr) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -EIO;
    } else if (n > MAX) {
        snprintf(err, errlen, "%s: larger than 1 MiB, not a config file", path);
        rc = -EFBIG;
    } else {
        buf[n] = 0;
        if (strlen(buf) != n) {
            snprintf(err, errlen, "%s: contains NUL bytes, not a text file", path);
            rc = -EINVAL;
        } else {
            rc = ac_config_parse(c, path, buf, err, errlen);
        }
    }
    free(buf);
    return rc;
}

int ac_config_validate(const struct ac_config *c, char *err, size_t errlen)
{
    unsigned cap = (unsigned)c->ring.capacity;
    if (cap & (cap - 1)) {
        snprintf(err, errlen, "ring.capacity: %u is not a power of two", cap);
        return -EINVAL;
    }
    if (!c->camera.source[0]) {
        snprintf(err, errlen, "camera.source: empty");
        return -EINVAL;
    }
    if (!c->ring.name[0] || strchr(c->ring.name + (c->ring.name[0] == '/'), '/')) {
        snprintf(err, errlen, "ring.name: '%s' is not a plain name", c->ring.name);
        return -EINVAL;
    }
    char *end;
    long mode = strtol(c->ring.mode, &end, 8);
    if (!c->ring.mode[0] || *end || mode < 0 || mode > 0777) {
        snprintf(err, errlen, "ring.mode: '%s' is not an octal permission like 0640", c->ring.mode);
        return -EINVAL;
    }
    if (c->debug.save_crops && !c->debug.crops_dir[0]) {
        snprintf(err, errlen, "debug.save_crops needs debug.crops_dir");
        return -EINVAL;
    }
    if (!((c->camera.width == 0) == (c->camera.height == 0))) {
        snprintf(err, errlen, "camera.width and camera.height: set both or neither");
        return -EINVAL;
    }
    return 0;
}

void ac_config_format(const struct ac_config *c, const struct ac_option *o, char *buf, size_t len)
{
    const void *f = cfield(c, o);
    switch (o->type) {
    case AC_OPT_INT:
        snprintf(buf, len, "%d", *(const int *)f);
        break;
    case AC_OPT_FLOAT: {
        /* shortest text that reads back as the same float: plain %g for
         * the usual values, up to 9 digits when 6 would round */
        float v = *(const float *)f;
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(buf, len, "%.*g", prec, v);
            if (strtof(buf, NULL) == v)
                break;
        }
        break;
    }
    case AC_OPT_STRING:
        snprintf(buf, len, "%s", (const char *)f);
        break;
    case AC_OPT_BOOL:
        snprintf(buf, len, "%s", *(const int *)f ? "true" : "false");
        break;
    case AC_OPT_ENUM:
        ac_config_choice(o, *(const int *)f, buf, len);
        break;
    }
}

void ac_config_help(FILE *f)
{
    static const char *tname[] = {"int", "float", "string", "bool", "enum"};
    const char *sec = "";
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        if (o->hidden)
            continue;
        if (strcmp(sec, o->section)) {
            sec = o->section;
            fprintf(f, "\n  [%s]\n", sec);
        }
        char range[96] = "";
        if (o->type == AC_OPT_INT || o->type == AC_OPT_FLOAT)
            snprintf(range, sizeof range, " %g..%g", o->min, o->max);
        else if (o->type == AC_OPT_ENUM)
            snprintf(range, sizeof range, " %s", o->choices);
        fprintf(f, "  %s.%s (%s%s, default \"%s\")%s%s%s\n      %s\n", o->section, o->key,
                tname[o->type], range, o->def, o->cli ? "  --" : "", o->cli ? o->cli : "",
                o->cli ? "=VALUE" : "", o->help);
    }
}

void ac_config_write(FILE *f, const struct ac_config *c)
{
    const char *sec = "";
    for (int i = 0; i < ac_option_count; i++) {
        const struct ac_option *o = &ac_options[i];
        if (o->hidden)
            continue;
        if (strcmp(sec, o->section)) {
            sec = o->section;
            fprintf(f, "%s[%s]\n", i ? "\n" : "", sec);
        }
        char buf[AC_CFG_STR + 8];
        ac_config_format(c, o, buf, sizeof buf);
        /* The parser trims blanks around a value and strips one pair of
         * enclosing quotes: quote a string those would change. */
        size_t n = strlen(buf);
        int quote = o->type == AC_OPT_STRING && n &&
                    (isspace((unsigned char)buf[0]) || isspace((unsigned char)buf[n - 1]) ||
                     (n >= 2 && buf[0] == '"' && buf[n - 1] == '"'));
        fprintf(f, quote ? "%s = \"%s\"\n" : "%s = %s\n", o->key, buf);
    }
}
