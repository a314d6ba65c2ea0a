/*
 * Small log API in the OpenBSD style: log_warn adds errno, log_warnx does not.
 * Lines go to stderr without ever blocking: while the reader stalls they wait
 * in a bounded ring; what does not fit is dropped and counted, and a
 * "dropped N lines" line follows once the backlog is out.
 */
#ifndef FOD_LOG_H
#define FOD_LOG_H

#include <stdint.h>

void log_init(const char *tag, int verbose);
void log_set_tag(const char *tag);
int  log_verbose(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Lines dropped since start because stderr was not taking them. */
uint64_t log_dropped(void);
/*
 * For the event loop: watch log_fd() for EPOLLOUT | EPOLLET and call
 * log_flush() when it fires (edge-triggered: stderr is almost always
 * writable; only the end of a stall matters). A file or /dev/null cannot
 * be watched (EPERM) and never stalls.
 */
int  log_fd(void);
void log_flush(void);

#endif
