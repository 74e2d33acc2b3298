/* Locating a model file by name; shared by the age estimator and the
 * detector so every tool searches the same places in the same order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/ac_nn.h"

int ac_nn_find_model(const char *datadir, const char *file, char *path, size_t pathlen, char *err,
                     size_t errlen)
{
    const char *env = getenv("AGECAM_MODEL_DIR");
    const char *dirs[3] = {env && env[0] ? env : NULL, datadir, "models"};
    char tried[512] = "";
    for (int i = 0; i < 3; i++) {
        if (!dirs[i])
            continue;
        int n = snprintf(path, pathlen, "%s/%s", dirs[i], file);
        if (n < 0 || (size_t)n >= pathlen)
            continue;
        if (access(path, R_OK) == 0)
            return 0;
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", dirs[i]);
    }
    if (err && errlen)
        snprintf(err, errlen, "no %s in %s%s; pass --model PATH", file, tried,
                 env && env[0] ? "" : " ($AGECAM_MODEL_DIR unset)");
    if (pathlen)
        path[0] = '\0';
    return -ENOENT;
}
