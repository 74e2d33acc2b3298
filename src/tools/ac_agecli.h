/* Bits shared by the age commands (estimate, eval, bench): model lookup,
 * backend names and JSON strings. */
#ifndef AC_AGECLI_H
#define AC_AGECLI_H

#include <stddef.h>
#include <stdio.h>

#include "nn/ac_nn.h"

/* --model if given, else the installed/known smlf-<full|small>.acnn.
 * Prints the reason and returns -1 when nothing is found. */
int ac_agecli_model(const char *cmd, const char *opt_model, int small, char *path, size_t pathlen);
/* "scalar" or "fast"; -1 (after a message) for anything else */
int ac_agecli_backend(const char *cmd, const char *name);
const char *ac_agecli_backend_name(enum ac_nn_backend b);
struct ac_age;
/* One line on stderr when the model's META says it was never trained. */
void ac_agecli_warn_untrained(const char *cmd, const struct ac_age *est, const char *path);
void ac_agecli_json_str(FILE *f, const char *s);
/* A csv row's image path under root; absolute paths stand alone, as with
 * Python's os.path.join (the training scripts read the same csv files). */
void ac_agecli_image_path(const char *root, const char *row_path, char *out, size_t len);
/* CSV field, quoted when it holds a comma, quote or line break */
void ac_agecli_csv_str(FILE *f, const char *s);

#endif
