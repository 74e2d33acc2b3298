/* Logging to stderr with journald priority prefixes ("<3>" etc.), so systemd
 * keeps levels when the daemon runs as a service. Not for hot loops. */
#ifndef AC_LOG_H
#define AC_LOG_H

enum ac_log_level { AC_LOG_ERR = 3, AC_LOG_WARN = 4, AC_LOG_INFO = 6, AC_LOG_DEBUG = 7 };

void ac_log_set_level(int level);
int ac_log_get_level(void);
/* journald prefixes on when stderr is the journal (JOURNAL_STREAM set) */
void ac_log_set_prefix(int on);
void ac_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ac_err(...) ac_log(AC_LOG_ERR, __VA_ARGS__)
#define ac_warn(...) ac_log(AC_LOG_WARN, __VA_ARGS__)
#define ac_info(...) ac_log(AC_LOG_INFO, __VA_ARGS__)
#define ac_debug(...) ac_log(AC_LOG_DEBUG, __VA_ARGS__)

#endif
