#include "align/ac_quality.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

void ac_quality_defaults(struct ac_quality_settings *s)
{
    s->min_size = 32.0f;
    s->max_roll = 35.0f;
    s->max_yaw = 0.30f;
    s->min_pitch = 0.20f;
    s->max_pitch = 0.80f;
    s->min_blur = 15.0f;
}

void ac_quality_init(struct ac_quality *q, const struct ac_quality_settings *s)
{
    memset(q, 0, sizeof(*q));
    q->set = *s;
}

const char *ac_quality_reason_name(enum ac_quality_reason r)
{
    switch (r) {
    case AC_QUALITY_OK: return "ok";
    case AC_QUALITY_SIZE: return "size";
    case AC_QUALITY_POSE: return "pose";
    case AC_QUALITY_BLUR: return "blur";
    default: return "?";
    }
}

int ac_quality_pose(const float lm[10], float *roll, float *yaw, float *pitch)
{
    double ex = lm[2] - lm[0], ey = lm[3] - lm[1];
    double iod = sqrt(ex * ex + ey * ey);
    if (!(iod > 1e-6))
        return -EINVAL;
    double c = ex / iod, s = ey / iod;
    double mx = (lm[0] + lm[2]) / 2, my = (lm[1] + lm[3]) / 2;
    /* rotate by -angle about the eye midpoint, scale by 1/iod */
    double nx = ((lm[4] - mx) * c + (lm[5] - my) * s) / iod;
    double ny = (-(lm[4] - mx) * s + (lm[5] - my) * c) / iod;
    double mouth_x = (lm[6] + lm[8]) / 2 - mx, mouth_y = (lm[7] + lm[9]) / 2 - my;
    double my_rot = (-mouth_x * s + mouth_y * c) / iod;
    *roll = (float)(atan2(ey, ex) * (180.0 / 3.14159265358979323846));
    *yaw = (float)nx;
    *pitch = my_rot > 1e-6 ? (float)(ny / my_rot) : NAN;
    return 0;
}

float ac_quality_blur(const uint8_t *chip_rgb, int chip)
{
    int n = chip / 2;
    if (n < 3)
        return 0.0f;
    /* the 2x2 box-reduced grey values are recomputed per tap: no buffer,
     * and a 100x100 reduced chip costs well under a millisecond */
    double sum = 0, sum2 = 0;
    long cnt = 0;
    for (int y = 1; y < n - 1; y++) {
        for (int x = 1; x < n - 1; x++) {
            float g[5]; /* centre, left, right, up, down */
            static const int off[5][2] = {{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}};
            for (int k = 0; k < 5; k++) {
                int gx = 2 * (x + off[k][0]), gy = 2 * (y + off[k][1]);
                float acc = 0;
                for (int j = 0; j < 2; j++)
                    for (int i = 0; i < 2; i++) {
                        const uint8_t *p = chip_rgb + ((size_t)(gy + j) * chip + gx + i) * 3;
                        acc += 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
                    }
                g[k] = acc * 0.25f;
            }
            double lap = g[1] + g[2] + g[3] + g[4] - 4 * g[0];
            sum += lap;
            sum2 += lap * lap;
            cnt++;
        }
    }
    double mean = sum / cnt;
    return (float)(sum2 / cnt - mean * mean);
}

enum ac_quality_reason ac_quality_check_face(struct ac_quality *q, const struct ac_face *f,
                                             struct ac_quality_measures *m)
{
    m->size = fmaxf(f->x1 - f->x0, f->y1 - f->y0);
    m->roll = m->yaw = m->pitch = NAN;
    m->blur = NAN;
    enum ac_quality_reason r = AC_QUALITY_OK;
    if (!(m->size >= q->set.min_size))
        r = AC_QUALITY_SIZE;
    else if (ac_quality_pose(f->lm, &m->roll, &m->yaw, &m->pitch) ||
             !(fabsf(m->roll) <= q->set.max_roll) || !(fabsf(m->yaw) <= q->set.max_yaw) ||
             !(m->pitch >= q->set.min_pitch && m->pitch <= q->set.max_pitch))
        r = AC_QUALITY_POSE;
    if (r != AC_QUALITY_OK)
        q->counts[r]++;
    return r;
}

enum ac_quality_reason ac_quality_check_chip(struct ac_quality *q, const uint8_t *chip_rgb,
                                             int chip, struct ac_quality_measures *m)
{
    m->blur = ac_quality_blur(chip_rgb, chip);
    enum ac_quality_reason r = m->blur >= q->set.min_blur ? AC_QUALITY_OK : AC_QUALITY_BLUR;
    q->counts[r]++;
    return r;
}
