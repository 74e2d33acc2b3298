/* ac_resize must equal train/preprocess.resize_float (golden file). */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

#include "common/ac_resize.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    unsigned n, dims[4];
    int fails = 0;
    if (fread(&n, 4, 1, f) != 1)
        return 1;
    const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    for (unsigned c = 0; c < n; c++) {
        if (fread(dims, 4, 4, f) != 4)
            return 1;
        size_t insz = (size_t)dims[0] * dims[1] * 3, outsz = (size_t)dims[2] * dims[3] * 3;
        unsigned char *in = malloc(insz);
        float *ref = malloc(outsz * 4), *out = malloc(outsz * 4);
        if (fread(in, 1, insz, f) != insz || fread(ref, 4, outsz, f) != outsz)
            return 1;
        struct ac_resize_plan p;
        if (ac_resize_plan_init(&p, (int)dims[0], (int)dims[1], (int)dims[2], (int)dims[3])) {
            printf("case %u: plan failed\n", c);
            return 1;
        }
        ac_resize_run(&p, in, (int)dims[0] * 3, out, zero, one);
        double md = 0;
        for (size_t i = 0; i < outsz; i++)
            md = fmax(md, fabs(out[i] - ref[i]));
        printf("case %u: %ux%u -> %ux%u max diff %.2e\n", c, dims[0], dims[1], dims[2], dims[3], md);
        if (md > 1e-3)
            fails++;
        ac_resize_plan_uninit(&p);
        free(in);
        free(ref);
        free(out);
    }
    /* invalid plans are refused, not crashed on */
    struct ac_resize_plan p;
    if (ac_resize_plan_init(&p, 0, 10, 5, 5) == 0 || ac_resize_plan_init(&p, 1000, 10, 5, 5) == 0) {
        printf("invalid plan accepted\n");
        fails++;
    }
    fclose(f);
    return fails ? 1 : 0;
}
