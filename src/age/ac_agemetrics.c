#include "age/ac_agemetrics.h"

#include <math.h>
#include <string.h>

const char *const ac_agemetrics_band_names[AC_AGEMETRICS_BANDS] = {"0-12", "13-19", "20-39", "40-64",
                                                                    "65+"};

void ac_agemetrics_init(struct ac_agemetrics *m)
{
    memset(m, 0, sizeof *m);
}

int ac_agemetrics_band(double truth)
{
    return truth < 13 ? 0 : truth < 20 ? 1 : truth < 40 ? 2 : truth < 65 ? 3 : 4;
}

static void cell_add(struct ac_agemetrics_cell *c, double e)
{
    c->n++;
    c->abs_err += e;
}

void ac_agemetrics_add(struct ac_agemetrics *m, double truth, double pred,
                       const int group[AC_AGECSV_NGROUPCOLS])
{
    double e = fabs(pred - truth);
    m->n++;
    m->abs_err += e;
    m->abs_err_clip += fabs(pred - fmin(truth, AC_AGEMETRICS_CLIP));
    m->err += pred - truth;
    for (int j = 0; j <= AC_AGEMETRICS_CS_MAX; j++)
        m->cs[j] += e <= j;
    cell_add(&m->band[ac_agemetrics_band(truth)], e);
    for (int g = 0; g < AC_AGECSV_NGROUPCOLS; g++)
        if (group && group[g] >= 0 && group[g] < AC_AGECSV_MAX_GROUPS)
            cell_add(&m->group[g][group[g]], e);
}

static double ratio(double a, size_t n)
{
    return n ? a / (double)n : 0.0;
}

double ac_agemetrics_mae(const struct ac_agemetrics *m) { return ratio(m->abs_err, m->n); }
double ac_agemetrics_mae_clip(const struct ac_agemetrics *m) { return ratio(m->abs_err_clip, m->n); }
double ac_agemetrics_bias(const struct ac_agemetrics *m) { return ratio(m->err, m->n); }
double ac_agemetrics_cell_mae(const struct ac_agemetrics_cell *c) { return ratio(c->abs_err, c->n); }

double ac_agemetrics_cs(const struct ac_agemetrics *m, int j)
{
    if (j < 0 || j > AC_AGEMETRICS_CS_MAX)
        return 0.0;
    return ratio((double)m->cs[j], m->n);
}
