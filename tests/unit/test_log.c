/*
 * Logging never blocks: stderr is a pipe, a stream socket (journald) or a
 * tty whose reader stops reading. A second thread logs (so that a blocking
 * logger fails the deadline instead of hanging the test); the main thread
 * only waits, then drains.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "unit.h"
#include "unit_sandbox.h"

#define LINES		5000	/* far more than a pipe and the ring hold */
#define DEADLINE_MS	10000	/* generous: only a blocked logger misses it */

static atomic_bool spam_done;
static int log_rd = -1;		/* the reader's end of stderr */
static char *got;		/* everything read from it */
static size_t got_len, got_cap;

static void *
spam(void *arg)
{
	for (int i = 0; i < LINES; i++)
		log_info("line %d of a stalled log", i);
	atomic_store(&spam_done, true);
	return NULL;
}

/* Everything the pipe holds now, appended to got. */
static void
drain(void)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(log_rd, buf, sizeof(buf))) > 0) {
		if (got_len + (size_t)n + 1 > got_cap) {
			got_cap = (got_len + (size_t)n + 1) * 2;
			if ((got = realloc(got, got_cap)) == NULL)
				abort();
		}
		memcpy(got + got_len, buf, (size_t)n);
		got_len += (size_t)n;
		got[got_len] = '\0';
	}
}

static bool
drained_has(void *needle)
{
	drain();
	return got && strstr(got, needle) != NULL;
}

static void
on_log(int fd, uint32_t events, void *arg)
{
	log_flush();
}

enum kind { PIPE, SOCKET, TTY };

/* fds[0] the reader's end, fds[1] what becomes stderr. */
static int
open_pair(enum kind k, int fds[2])
{
	struct termios t;

	switch (k) {
	case PIPE:
		return pipe2(fds, O_CLOEXEC);
	case SOCKET:
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
	case TTY:
		if (openpty(&fds[0], &fds[1], NULL, NULL, NULL) == -1)
			return -1;
		cfmakeraw(&t);		/* no \n -> \r\n */
		return tcsetattr(fds[1], TCSANOW, &t);
	}
	return -1;
}

static void
test_stalled_reader(enum kind k)
{
	static const char *const names[] = { "pipe", "socket", "tty" };
	char want[128];
	const char *p;
	pthread_t th;
	uint64_t dropped, before = log_dropped();
	bool in_time, said, flowing, nonblock;
	int fds[2], saved, lines = 0, torn = 0, next = 0, order_ok = 1;

	CHECK_EQ(open_pair(k, fds), 0);
	CHECK_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	log_rd = fds[0];
	got_len = 0;
	if (got)
		got[0] = '\0';
	atomic_store(&spam_done, false);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	/* no CHECK until stderr is back: a failure report would go into the pipe */

	/* the reader reads nothing while thousands of lines are logged */
	if (pthread_create(&th, NULL, spam, NULL) != 0)
		abort();
	for (uint64_t end = now_ms() + DEADLINE_MS;
	    !atomic_load(&spam_done) && now_ms() < end;)
		poll(NULL, 0, 10);
	in_time = atomic_load(&spam_done);
	while (!atomic_load(&spam_done))	/* a blocked logger: let it finish */
		drain();
	pthread_join(th, NULL);
	dropped = log_dropped() - before;

	/* the reader catches up: the loop, set up as main.c does, says what was lost */
	if (loop_add_fd(log_fd(), EPOLLOUT | EPOLLET, on_log, NULL) == -1)
		abort();
	snprintf(want, sizeof(want), "test_log: warning: log output stalled: "
	    "dropped %llu lines\n", (unsigned long long)dropped);
	said = unit_run_until(drained_has, want, DEADLINE_MS);
	log_info("flowing again");
	flowing = unit_run_until(drained_has, "test_log: info: flowing again\n",
	    DEADLINE_MS);
	loop_del_fd(log_fd());
	/* the file description we share with others is left as it was */
	nonblock = fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK;
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(log_rd);

	printf("test_log: stderr is a %s: %llu of %d lines dropped\n", names[k],
	    (unsigned long long)dropped, LINES);
	CHECK(!nonblock);
	CHECK(in_time);
	CHECK(dropped > 0);
	CHECK(said);
	CHECK(flowing);
	/* whole lines, in order, the gap exactly where the count line says */
	for (p = got; p && *p; p = strchr(p, '\n') + 1) {
		int n, end = 0;

		if (sscanf(p, "test_log: info: line %d of a stalled log%n", &n,
		    &end) == 1 && p[end] == '\n') {
			order_ok &= n == next;
			next = n + 1;
			lines++;
		} else if (strncmp(p, want, strlen(want)) == 0) {
			next += (int)dropped;
		} else if (strncmp(p, "test_log: info: flowing again\n", 30) != 0)
			torn++;
		if (strchr(p, '\n') == NULL)
			break;
	}
	CHECK_EQ(torn, 0);
	CHECK(order_ok);
	CHECK_EQ(lines + (long long)dropped, LINES);
	CHECK_EQ(unit_count(got, "dropped"), 1);
	CHECK_EQ(log_dropped() - before, dropped);
}

int
main(void)
{
	log_init("test_log", 0);
	unit_sandbox_start("test_log");
	test_stalled_reader(PIPE);
	test_stalled_reader(SOCKET);
	test_stalled_reader(TTY);
	free(got);
	unit_sandbox_end();
	return unit_summary("test_log");
}
