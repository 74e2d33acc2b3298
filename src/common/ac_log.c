#include "common/ac_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int g_level = AC_LOG_INFO;
static int g_prefix = -1;

void ac_log_set_level(int level) { g_level = level; }
int ac_log_get_level(void) { return g_level; }
void ac_log_set_prefix(int on) { g_prefix = on; }

void ac_log(int level, const char *fmt, ...)
{
    if (level > g_level)
        return;
    if (g_prefix < 0)
        g_prefix = getenv("JOURNAL_STREAM") != NULL;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* one fprintf per line keeps concurrent threads' lines whole */
    if (g_prefix)
        fprintf(stderr, "<%d>%s\n", level, buf);
    else
        fprintf(stderr, "%s\n", buf);
}
