/* Age-estimation metrics, accumulated one prediction at a time so the eval
 * tool can run over any number of images in constant memory. Definitions
 * (shared with train/eval_age.py):
 *   MAE       mean |pred - truth| against the raw true age
 *   MAE65     the same with the truth clipped to 65 (the 66-class protocol)
 *   CS(j)     share of faces with |pred - truth| <= j years, raw truth
 *   bias      mean (pred - truth), raw truth
 *   bands     MAE by raw true age: 0-12, 13-19, 20-39, 40-64, 65+
 *   groups    MAE per label of each group column (gender, race) */
#ifndef AC_AGEMETRICS_H
#define AC_AGEMETRICS_H

#include <stddef.h>

#include "age/ac_agecsv.h"

#define AC_AGEMETRICS_CS_MAX 15
#define AC_AGEMETRICS_BANDS 5
#define AC_AGEMETRICS_CLIP 65.0

struct ac_agemetrics_cell {
    size_t n;
    double abs_err;
};

struct ac_agemetrics {
    size_t n;
    double abs_err, abs_err_clip, err;
    size_t cs[AC_AGEMETRICS_CS_MAX + 1];
    struct ac_agemetrics_cell band[AC_AGEMETRICS_BANDS];
    struct ac_agemetrics_cell group[AC_AGECSV_NGROUPCOLS][AC_AGECSV_MAX_GROUPS];
};

extern const char *const ac_agemetrics_band_names[AC_AGEMETRICS_BANDS];

void ac_agemetrics_init(struct ac_agemetrics *m);
int ac_agemetrics_band(double truth);
/* group: one label id per group column, -1 for none */
void ac_agemetrics_add(struct ac_agemetrics *m, double truth, double pred,
                       const int group[AC_AGECSV_NGROUPCOLS]);

/* Derived figures; 0 when nothing was counted. */
double ac_agemetrics_mae(const struct ac_agemetrics *m);
double ac_agemetrics_mae_clip(const struct ac_agemetrics *m);
double ac_agemetrics_bias(const struct ac_agemetrics *m);
double ac_agemetrics_cs(const struct ac_agemetrics *m, int j);
double ac_agemetrics_cell_mae(const struct ac_agemetrics_cell *c);

#endif
