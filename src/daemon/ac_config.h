/* agecamd settings. One declarative table (ac_config.c) names every option
 * with its type, default, range and help; that table alone drives the INI
 * file parser, the command-line overrides and `agecamd --help`, so the three
 * can never disagree. Values live in a plain struct (strings in fixed
 * arrays) that is copied by assignment: a SIGHUP reload parses into a fresh
 * struct and swaps it in only when it is valid. */
#ifndef AC_CONFIG_H
#define AC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define AC_CFG_STR 256
#define AC_CFG_DEFAULT_PATH "/etc/agecam/agecamd.conf"

enum ac_opt_type { AC_OPT_INT, AC_OPT_FLOAT, AC_OPT_STRING, AC_OPT_BOOL, AC_OPT_ENUM };

/* enum values: their index in the option's choice list */
enum ac_cfg_backend { AC_CFG_BACKEND_FAST = 0, AC_CFG_BACKEND_SCALAR = 1 };
enum ac_cfg_detector { AC_CFG_DETECT_NET = 0, AC_CFG_DETECT_NONE = 1, AC_CFG_DETECT_REPLAY = 2 };
enum ac_cfg_stage {
    AC_STAGE_NONE = 0, AC_STAGE_CAPTURE, AC_STAGE_DETECT, AC_STAGE_AGE, AC_STAGE_TRACK
};

struct ac_config {
    struct {
        char source[AC_CFG_STR];
        int width, height, fps;
        char format[AC_CFG_STR]; /* "auto" or fourccs, best first: "MJPG,YUYV" */
        int id;
        int loop, realtime, wait_for_device;
    } camera;
    struct {
        int backend; /* enum ac_cfg_detector */
        char model[AC_CFG_STR];
        float score_threshold, nms_threshold;
        int min_face;
        int every;
        int threads;
        int flip;
        char verifier[AC_CFG_STR]; /* path, "auto" or "none" */
        int verifier_mirror;
    } detect;
    struct {
        float min_size, max_roll, max_yaw, min_pitch, max_pitch, min_blur;
    } align;
    struct {
        char model[AC_CFG_STR];
        int backend; /* enum ac_cfg_backend */
        int threads;
        int mirror;
    } age;
    struct {
        float iou_threshold;
        int confirm_hits, max_missed, max_tracks;
        float new_score;
        float fusion_tau, update_years, range_years, update_interval;
        float range_low, range_high;
    } track;
    struct {
        char name[AC_CFG_STR];
        int capacity;
        char mode[AC_CFG_STR];
        char group[AC_CFG_STR];
        int health_interval_ms;
    } ring;
    struct {
        int queue_depth;
        int stall_timeout_ms;
    } pipeline;
    struct {
        int level; /* index into err, warn, info, debug */
    } log;
    struct {
        int save_crops;
        char crops_dir[AC_CFG_STR];
        int stall_stage; /* enum ac_cfg_stage, hidden from --help */
        int stall_after;
    } debug;
};

struct ac_option {
    const char *section, *key;
    enum ac_opt_type type;
    size_t offset;
    const char *def;      /* default, written as in the file */
    double min, max;      /* ints and floats */
    const char *choices;  /* enums: "a|b|c", index = stored value */
    const char *cli;      /* long option of its own, or NULL (--set works for all) */
    const char *help;
    int hidden;           /* debugging aid: not listed in --help */
};

extern const struct ac_option ac_options[];
extern const int ac_option_count;

/* Every option at its default. */
void ac_config_defaults(struct ac_config *c);

/* Finds "section.key"; NULL when unknown. */
const struct ac_option *ac_config_find(const char *dotted);

/* Sets one option from text. 0, or -EINVAL with the reason in err (no file
 * or line: the caller knows where the text came from). */
int ac_config_set(struct ac_config *c, const struct ac_option *o, const char *value, char *err,
                  size_t errlen);

/* Parses an INI file over *c. On error returns -EINVAL (or -errno when the
 * file cannot be read) and err holds "path:line: reason". *c is left
 * half-updated then, so parse into a scratch copy. */
int ac_config_load(struct ac_config *c, const char *path, char *err, size_t errlen);

/* Same, from text already in memory (name is used in messages). */
int ac_config_parse(struct ac_config *c, const char *name, const char *text, char *err,
                    size_t errlen);

/* Checks constraints across options (ranges already hold). */
int ac_config_validate(const struct ac_config *c, char *err, size_t errlen);

/* The option's current value as text (for --help defaults and logging). */
void ac_config_format(const struct ac_config *c, const struct ac_option *o, char *buf,
                     size_t len);

/* Writes *c as a config file (visible options; parses back to the same). */
void ac_config_write(FILE *f, const struct ac_config *c);

/* Writes the option reference (one entry per visible option) to f. */
void ac_config_help(FILE *f);

/* Enum helpers. */
const char *ac_config_choice(const struct ac_option *o, int index, char *buf, size_t len);

#endif
