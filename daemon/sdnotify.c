#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static uint64_t watchdog_ms;

void
sdnotify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	size_t len;

	if (usec && (pid == NULL || strtol(pid, NULL, 10) == (long)getpid()))
		watchdog_ms = strtoull(usec, NULL, 10) / 2000;
	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(notify_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET too long; not notifying systemd");
		return;
	}
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, len);
	if (path[0] == '@')
		notify_addr.sun_path[0] = '\0';	/* abstract namespace */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (notify_fd == -1)
		log_warn("NOTIFY_SOCKET");
}

void
sdnotify_finalise(void)
{
	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
}

void
sdnotify(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (sendto(notify_fd, buf, strnlen(buf, sizeof(buf)), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) == -1)
		log_debug("sd_notify: %s", buf);
}

uint64_t
sdnotify_watchdog_ms(void)
{
	return watchdog_ms;
}
