/*
 * Logging to stderr that never blocks the event loop: a stalled reader
 * (journald, a pipe nobody reads) must not stop the heartbeats. Lines go
 * through a bounded ring written without waiting; what does not fit is
 * dropped and counted, and one line says so once the backlog is out.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_RING_SIZE	65536	/* backlog kept while the reader stalls */
#define LOG_LINE_MAX	1280	/* a 1024-byte message, tag, level and errno text */
#define LOG_EXIT_WAIT_MS 1000	/* at exit, wait this long for the backlog to go out */

static const char *log_tag = "failoverd";
static int log_level_verbose;
static char log_ring[LOG_RING_SIZE];
static size_t log_ring_head, log_ring_len;
static uint64_t log_drops_total;	/* log_dropped() */
static uint64_t log_drops_unsaid;	/* not yet reported by a "dropped" line */
static pid_t log_pid;			/* atexit runs in this process only */

static void log_drain_at_exit(void);

void
log_init(const char *tag, int verbose)
{
	log_tag = tag;
	log_level_verbose = verbose;
	if (log_pid == 0)
		atexit(log_drain_at_exit);
	log_pid = getpid();
}

void
log_set_tag(const char *tag)
{
	log_tag = tag;
}

int
log_verbose(void)
{
	return log_level_verbose;
}

uint64_t
log_dropped(void)
{
	return log_drops_total;
}

int
log_fd(void)
{
	return STDERR_FILENO;
}

/*
 * One write to stderr that never waits for the reader, and leaves the file
 * description (shared with whoever started us) as it found it. fd 2 is
 * looked at per write: it may have been replaced (dup2).
 */
static ssize_t
log_write(const char *p, size_t n)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct stat st;
	ssize_t r;
	int fl, saved;

	if (fstat(STDERR_FILENO, &st) == -1)
		return -1;
	if (S_ISSOCK(st.st_mode))	/* journald's stream socket */
		return send(STDERR_FILENO, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (S_ISREG(st.st_mode))	/* a file never waits for a reader */
		return write(STDERR_FILENO, p, n);
	r = pwritev2(STDERR_FILENO, &iov, 1, -1, RWF_NOWAIT);	/* pipes */
	if (r != -1 || (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOSYS))
		return r;
	/* a tty, or a kernel without RWF_NOWAIT on pipes: O_NONBLOCK for this write only */
	if ((fl = fcntl(STDERR_FILENO, F_GETFL)) == -1)
		return -1;
	if (!(fl & O_NONBLOCK) &&
	    fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	r = write(STDERR_FILENO, p, n);
	saved = errno;
	if (!(fl & O_NONBLOCK))
		(void)fcntl(STDERR_FILENO, F_SETFL, fl);
	errno = saved;
	return r;
}

/* Whole lines only: a line that does not fit is not cut. */
static bool
log_ring_put(const char *p, size_t n)
{
	size_t tail, first;

	if (n > LOG_RING_SIZE - log_ring_len)
		return false;
	tail = (log_ring_head + log_ring_len) % LOG_RING_SIZE;
	first = n < LOG_RING_SIZE - tail ? n : LOG_RING_SIZE - tail;
	memcpy(log_ring + tail, p, first);
	memcpy(log_ring, p + first, n - first);
	log_ring_len += n;
	return true;
}

/* Writes what it can; -1 on an error other than "would block". */
static int
log_push(void)
{
	char note[160];
	ssize_t r;
	size_t n;
	int len;

	for (;;) {
		while (log_ring_len > 0) {
			n = LOG_RING_SIZE - log_ring_head;
			if (n > log_ring_len)
				n = log_ring_len;
			r = log_write(log_ring + log_ring_head, n);
			if (r == -1 && errno == EINTR)
				continue;
			if (r == 0)
				return 0;
			if (r == -1)
				return errno == EAGAIN ? 0 : -1;
			log_ring_head = (log_ring_head + (size_t)r) % LOG_RING_SIZE;
			log_ring_len -= (size_t)r;
		}
		log_ring_head = 0;
		if (log_drops_unsaid == 0)
			return 0;
		/* the backlog is out: output flows again */
		len = snprintf(note, sizeof(note), "%s: warning: log output "
		    "stalled: dropped %llu lines\n", log_tag,
		    (unsigned long long)log_drops_unsaid);
		log_drops_unsaid = 0;
		log_ring_put(note, len < (int)sizeof(note) ? (size_t)len :
		    sizeof(note) - 1);
	}
}

void
log_flush(void)
{
	int saved = errno;

	(void)log_push();
	errno = saved;
}

/* fatal() and the end of main(): give the backlog a bounded chance to go out. */
static void
log_drain_at_exit(void)
{
	struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
	struct timespec ts;
	long long deadline, now;

	if (getpid() != log_pid)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + LOG_EXIT_WAIT_MS;
	while (log_push() == 0 && log_ring_len > 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0 ||
		    (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
			break;
	}
}

static void
log_line(const char *line, size_t n)
{
	(void)log_push();
	/* while a backlog is stuck, new lines are dropped until it is out */
	if (log_drops_unsaid > 0 || !log_ring_put(line, n)) {
		log_drops_unsaid++;
		log_drops_total++;
		return;
	}
	(void)log_push();
}

static void
vlog(const char *level, int err, const char *fmt, va_list ap)
{
	char msg[1024], line[LOG_LINE_MAX];
	int saved = errno, n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		n = snprintf(line, sizeof(line), "%s: %s: %s: %s\n", log_tag,
		    level, msg, strerror(err));
	else
		n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_tag,
		    level, msg);
	if (n > 0) {
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		log_line(line, (size_t)n);
	}
	errno = saved;
}

#define LOGFN(name, level, witherr)			\
void							\
name(const char *fmt, ...)				\
{							\
	int saved = errno;				\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(level, witherr ? saved : 0, fmt, ap);	\
	va_end(ap);					\
	errno = saved;					\
}

LOGFN(log_warn, "warning", 1)
LOGFN(log_warnx, "warning", 0)
LOGFN(log_info, "info", 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_level_verbose)
		return;
	va_start(ap, fmt);
	vlog("debug", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
