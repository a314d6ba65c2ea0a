/*
 * One epoll loop. Timers are absolute (monotonic ms); each wait lasts until
 * the earliest of them (epoll_pwait2, microseconds), so the loop neither
 * drifts with processing delays nor spends a system call to re-arm a timer
 * whenever the earliest one moves (every heartbeat heard).
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotpath.h"
#include "log.h"
#include "loop.h"

#define LOOP_MAX_FDS	256

struct loop_fd {
	int		 fd;
	loop_fd_cb	 cb;
	void		*arg;
};

static HOTDATA int epfd = -1;
static struct loop_fd fds[LOOP_MAX_FDS];
static HOTDATA struct loop_timer *timers;
static HOTDATA bool no_pwait2;		/* an older kernel (< 5.11): ms timeouts */

HOTPATH uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

HOTPATH uint64_t
now_ms(void)
{
	return now_us() / 1000;
}

HOTPATH uint64_t
now_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
loop_init(void)
{
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		fds[i].fd = -1;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	return 0;
}

void
loop_finalise(void)
{
	if (epfd != -1)
		close(epfd);
	epfd = -1;
	timers = NULL;
}

int
loop_add_fd(int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };

	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (fds[i].fd != -1)
			continue;
		/* the slot, to dispatch without a search; the fd, to check it */
		ev.data.u64 = (uint64_t)i << 32 | (uint32_t)fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			return -1;
		fds[i] = (struct loop_fd){ fd, cb, arg };
		return 0;
	}
	errno = EMFILE;
	return -1;
}

void
loop_del_fd(int fd)
{
	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (fds[i].fd == fd) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
			fds[i].fd = -1;
			return;
		}
	}
}

HOTPATH static void
unlink_timer(struct loop_timer *t)
{
	struct loop_timer **pp;

	if (!t->linked)
		return;
	for (pp = &timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->linked = false;
	t->next = NULL;
}

HOTPATH void
loop_timer_set(struct loop_timer *t, uint64_t when, loop_timer_cb cb, void *arg)
{
	t->when = when ? when : 1;
	t->cb = cb;
	t->arg = arg;
	/* the list is unordered: re-arming one in it (every heartbeat) is free */
	if (!t->linked) {
		t->next = timers;
		t->linked = true;
		timers = t;
	}
}

HOTPATH void
loop_timer_cancel(struct loop_timer *t)
{
	unlink_timer(t);
	t->when = 0;
}

/* How long to wait: until the earliest timer; -1 (forever) if none. */
HOTPATH static int64_t
wait_us(void)
{
	uint64_t first = 0, now;

	for (struct loop_timer *t = timers; t; t = t->next)
		if (first == 0 || t->when < first)
			first = t->when;
	if (first == 0)
		return -1;
	now = now_us();
	return first * 1000 > now ? (int64_t)(first * 1000 - now) : 0;
}

HOTPATH static int
wait_events(struct epoll_event *evs, int max)
{
	int64_t us = wait_us();
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
	int n;

	if (!no_pwait2) {
		n = epoll_pwait2(epfd, evs, max, us < 0 ? NULL : &ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return n;
		no_pwait2 = true;
	}
	/* rounded up: never early */
	return epoll_wait(epfd, evs, max, us < 0 ? -1 : (int)((us + 999) / 1000));
}

HOTPATH static void
run_timers(void)
{
	uint64_t now = now_ms();
	struct loop_timer *t;

	/*
	 * Due ones in time order (late after a freeze, several are due); a
	 * callback may re-arm or cancel any timer: rescan after each.
	 */
	for (;;) {
		struct loop_timer *first = NULL;

		for (t = timers; t; t = t->next)
			if (t->when <= now && (!first || t->when < first->when))
				first = t;
		if (first == NULL)
			return;
		unlink_timer(first);
		first->when = 0;
		first->cb(first->arg);
	}
}

HOTPATH int
loop_run_once(void)
{
	struct epoll_event evs[32];
	int n;

	n = wait_events(evs, 32);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const struct loop_fd *f = &fds[evs[i].data.u64 >> 32];
		int fd = (int)(uint32_t)evs[i].data.u64;

		/* not if an earlier callback of this round removed it (an fd
		   number reused in the same slot meanwhile would still get it) */
		if (f->fd == fd)
			f->cb(fd, evs[i].events, f->arg);
	}
	run_timers();
	return 0;
}
