/* Detector options shared by `agecam detect`, `eval-det` and `faces`:
 * --model PATH | --size WxH (finds det-WxH.acnn), --score, --nms,
 * --min-face, --flip, --verifier PATH|auto|none. */
#ifndef AC_DETCLI_H
#define AC_DETCLI_H

#include <getopt.h>
#include <stdio.h>

#include "detect/ac_detect.h"
#include "nn/ac_nn.h"

struct ac_detcli {
    const char *model_path;
    const char *size;
    const char *verifier; /* a path, "auto" (face-verify.acnn if found) or "none" */
    struct ac_detect_settings set;
    struct ac_nn_model *vmodel; /* owned; freed by ac_detcli_close */
    char verifier_path[1024];   /* the verifier loaded by ac_detcli_open, "" for none */
};

/* --verifier when not given */
#define AC_DETCLI_VERIFIER_DEFAULT "auto"

#define AC_DETCLI_LONGOPTS                                                                   \
    {"model", required_argument, 0, 0x100}, {"size", required_argument, 0, 0x101},           \
        {"score", required_argument, 0, 0x102}, {"nms", required_argument, 0, 0x103},        \
        {"min-face", required_argument, 0, 0x104}, {"flip", no_argument, 0, 0x105},             \
        {"verifier", required_argument, 0, 0x106}, {"no-verifier-mirror", no_argument, 0, 0x107}, \
        {"refine-large", required_argument, 0, 0x108}

void ac_detcli_init(struct ac_detcli *c, const char *default_size);
void ac_detcli_usage(FILE *f);
/* Handles one of AC_DETCLI_LONGOPTS; 0, or -EINVAL (unknown option or bad
 * value, already reported). */
int ac_detcli_option(struct ac_detcli *c, int opt, const char *arg);
/* Loads the model (and verifier) and creates the detector; reports errors
 * with prefix. */
int ac_detcli_open(struct ac_detcli *c, const char *prefix, struct ac_nn_model **model,
                   struct ac_detect **det);
/* Destroys what ac_detcli_open made (any of them may be NULL). */
void ac_detcli_close(struct ac_detcli *c, struct ac_nn_model *model, struct ac_detect *det);

#endif
