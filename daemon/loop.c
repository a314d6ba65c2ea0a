#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define LOOP_MAX_FDS	256

struct loop_fd {
	int		 fd;
	loop_fd_cb	 cb;
	void		*arg;
};

static int epfd = -1;
static int tfd = -1;
static struct loop_fd fds[LOOP_MAX_FDS];
static struct loop_timer *timers;
static uint64_t armed_at;

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
now_ms(void)
{
	return now_us() / 1000;
}

uint64_t
now_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
loop_init(void)
{
	/* edge-triggered: every expiry wakes us, and nothing needs reading */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = -1 };

	for (int i = 0; i < LOOP_MAX_FDS; i++)
		fds[i].fd = -1;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		return -1;
	ev.data.fd = tfd;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
}

void
loop_finalise(void)
{
	if (tfd != -1)
		close(tfd);
	if (epfd != -1)
		close(epfd);
	tfd = epfd = -1;
	timers = NULL;
}

int
loop_add_fd(int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (fds[i].fd != -1)
			continue;
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

static void
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

void
loop_timer_set(struct loop_timer *t, uint64_t when, loop_timer_cb cb, void *arg)
{
	unlink_timer(t);
	t->when = when ? when : 1;
	t->cb = cb;
	t->arg = arg;
	t->next = timers;
	t->linked = true;
	timers = t;
}

void
loop_timer_cancel(struct loop_timer *t)
{
	unlink_timer(t);
	t->when = 0;
}

static void
arm(void)
{
	struct itimerspec its = { 0 };
	uint64_t first = 0;

	for (struct loop_timer *t = timers; t; t = t->next)
		if (first == 0 || t->when < first)
			first = t->when;
	if (first == armed_at)
		return;
	armed_at = first;
	if (first) {
		/* absolute time: the loop never drifts with processing delays */
		its.it_value.tv_sec = first / 1000;
		its.it_value.tv_nsec = (long)(first % 1000) * 1000000;
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		fatal("timerfd_settime");
}

static void
run_timers(void)
{
	uint64_t now = now_ms();
	struct loop_timer *t;

	/* a callback may re-arm or cancel any timer: rescan after each */
	for (;;) {
		for (t = timers; t; t = t->next)
			if (t->when <= now)
				break;
		if (t == NULL)
			return;
		unlink_timer(t);
		t->when = 0;
		t->cb(t->arg);
	}
}

int
loop_run_once(void)
{
	struct epoll_event evs[32];
	int n;

	arm();
	n = epoll_wait(epfd, evs, 32, -1);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		if (fd == tfd) {
			armed_at = 0;
			continue;
		}
		for (int j = 0; j < LOOP_MAX_FDS; j++) {
			if (fds[j].fd == fd) {
				fds[j].cb(fd, evs[i].events, fds[j].arg);
				break;
			}
		}
	}
	run_timers();
	return 0;
}
