#include "capture/ac_capplugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AC_PLUGIN_DIR
#define AC_PLUGIN_DIR ""
#endif
#ifndef AC_PLUGIN_BUILD_DIR
#define AC_PLUGIN_BUILD_DIR ""
#endif
#ifndef AC_BUILD_ROOT
#define AC_BUILD_ROOT ""
#endif

/* The build tree's plugins serve only programs run from that build tree:
 * an installed daemon must never load code from a folder someone else may
 * write to. */
static const char *build_dir(void)
{
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !AC_BUILD_ROOT[0])
        return "";
    exe[n] = 0;
    size_t r = strlen(AC_BUILD_ROOT);
    return !strncmp(exe, AC_BUILD_ROOT, r) && exe[r] == '/' ? AC_PLUGIN_BUILD_DIR : "";
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const char *name;
    const struct ac_capture_plugin *p;
} cache[] = {{"file", NULL}, {"libcamera", NULL}};

/* Opens dir/agecam-capture-NAME.so and checks what it exports; appends why
 * not to err. */
static const struct ac_capture_plugin *try_dir(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    if (!dir[0] || (size_t)snprintf(path, sizeof path, "%s/" AC_CAPPLUGIN_PREFIX "%s.so", dir, name) >= sizeof path)
        return NULL;
    size_t used = strlen(err);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        /* a missing file is the normal case for all but one directory */
        if (why && !strstr(why, "No such file"))
            snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", why);
        return NULL;
    }
    const struct ac_capture_plugin *p = dlsym(h, AC_CAPTURE_PLUGIN_SYMBOL);
    const char *bad = !p ? "no " AC_CAPTURE_PLUGIN_SYMBOL
                    : p->abi != AC_CAPTURE_PLUGIN_ABI ? "plugin ABI differs"
                    : p->backend_size != sizeof(struct ac_capture_backend) ||
                              p->frame_size != sizeof(struct ac_frame) ||
                              p->settings_size != sizeof(struct ac_capture_settings)
                          ? "built from other headers"
                    : !p->backend ? "no backend" : NULL;
    if (bad) {
        snprintf(err + used, errlen - used, "%s%s: %s", used ? "; " : "", path, bad);
        dlclose(h);
        return NULL;
    }
    return p; /* never closed: its code may run until exit */
}

int ac_capplugin_get(const char *name, const struct ac_capture_plugin **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = 0;
    size_t i = 0;
    while (i < sizeof cache / sizeof cache[0] && strcmp(cache[i].name, name))
        i++;
    if (i == sizeof cache / sizeof cache[0])
        return -EINVAL;
    pthread_mutex_lock(&lock);
    if (!cache[i].p) {
        /* an explicit directory is the only one: no silent fallback to a
         * different build of the plugin */
        const char *env = getenv("AGECAM_PLUGIN_DIR");
        const char *dirs[] = {env ? env : "", env ? "" : AC_PLUGIN_DIR, env ? "" : build_dir()};
        for (size_t d = 0; d < 3 && !cache[i].p; d++)
            cache[i].p = try_dir(dirs[d], name, err, errlen);
        if (!cache[i].p && !err[0] && errlen)
            snprintf(err, errlen, AC_CAPPLUGIN_PREFIX "%s.so not found in %s (built without it?)", name,
                     env ? env : AC_PLUGIN_DIR);
    }
    *out = cache[i].p;
    pthread_mutex_unlock(&lock);
    return *out ? 0 : -ENOPKG;
}
