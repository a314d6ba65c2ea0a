/*
 * The sd_notify protocol (a datagram to $NOTIFY_SOCKET), written here in a
 * few lines instead of linking libsystemd: the daemon needs four messages,
 * and the packages then run on hosts without libsystemd too.
 */
#ifndef FOD_SDNOTIFY_H
#define FOD_SDNOTIFY_H

#include <stdint.h>

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; harmless without them. */
void		sdnotify_init(void);
void		sdnotify_finalise(void);
/* Send "KEY=value\n..." lines; no-op when not under systemd. */
void		sdnotify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How often to send WATCHDOG=1 (half the watchdog timeout), 0 if disabled. */
uint64_t	sdnotify_watchdog_ms(void);

#endif
