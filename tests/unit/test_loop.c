/*
 * loop.c: timers fire once, in time order (also when late), re-armed or
 * cancelled at will; a readable fd reaches its callback.
 */
#include <sys/epoll.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

/* what fired, in order: each timer's arg */
static int fired[256];
static int nfired;

static void
note(void *arg)
{
	if (nfired < (int)(sizeof(fired) / sizeof(fired[0])))
		fired[nfired++] = (int)(intptr_t)arg;
}

static void
nop(void *arg)
{
	(void)arg;
}

#define ARG(c)	((void *)(intptr_t)(c))

/* Run the loop until the last timer, armed to end the test, fired. */
static void
run_until(const struct loop_timer *last)
{
	while (last->when != 0 && loop_run_once() == 0)
		;
}

static void
test_rearm_and_cancel(void)
{
	struct loop_timer ta = { 0 }, tb = { 0 }, tc = { 0 }, stop = { 0 };
	uint64_t t = now_ms();

	nfired = 0;
	loop_timer_set(&ta, t + 60, note, ARG('a'));
	loop_timer_set(&tb, t + 20, note, ARG('b'));
	loop_timer_set(&tc, t + 30, note, ARG('c'));
	/* re-armed while armed (each heartbeat does it): only the new time counts */
	loop_timer_set(&ta, t + 10, note, ARG('a'));
	loop_timer_set(&ta, t + 40, note, ARG('a'));
	loop_timer_cancel(&tc);
	loop_timer_set(&stop, t + 120, note, ARG('s'));
	run_until(&stop);
	CHECK_EQ(nfired, 3);
	CHECK(nfired == 3 && fired[0] == 'b' && fired[1] == 'a' &&
	    fired[2] == 's');
	CHECK_EQ(ta.when, 0);
	CHECK_EQ(tc.when, 0);

	/* a fired timer armed again fires again; cancelled twice is harmless */
	nfired = 0;
	loop_timer_set(&ta, now_ms() + 5, note, ARG('a'));
	loop_timer_cancel(&tb);
	loop_timer_cancel(&tb);
	loop_timer_set(&stop, now_ms() + 50, note, ARG('s'));
	run_until(&stop);
	CHECK(nfired == 2 && fired[0] == 'a' && fired[1] == 's');
}

/* After a freeze every timer is due at once: still earliest first. */
static void
test_late_in_time_order(void)
{
	struct loop_timer tx = { 0 }, ty = { 0 }, tz = { 0 };
	uint64_t t = now_ms();

	nfired = 0;
	loop_timer_set(&tz, t, note, ARG('z'));
	loop_timer_set(&tx, t - 20, note, ARG('x'));
	loop_timer_set(&ty, t - 10, note, ARG('y'));
	run_until(&tz);
	CHECK(nfired == 3 && fired[0] == 'x' && fired[1] == 'y' &&
	    fired[2] == 'z');
}

/*
 * Many timers, some cancelled, one re-armed while armed: each fires once,
 * in time order.
 */

static void
test_many_timers(void)
{
	static struct loop_timer ts[200], stop;
	uint64_t t = now_ms();
	int want = 0, prev = -1, ok = 1;

	memset(ts, 0, sizeof(ts));
	nfired = 0;
	/* due in reverse order of arming: 199 first */
	for (int i = 0; i < 200; i++)
		loop_timer_set(&ts[i], t + 5 + (200 - i) / 4, note, ARG(i));
	for (int i = 0; i < 200; i += 3)
		loop_timer_cancel(&ts[i]);
	/* re-armed while armed: later, once */
	loop_timer_set(&ts[1], t + 80, note, ARG(1));
	loop_timer_set(&stop, t + 100, nop, NULL);
	run_until(&stop);
	for (int i = 0; i < 200; i++)
		want += i % 3 != 0;
	CHECK_EQ(nfired, want);
	for (int k = 0; k < nfired; k++) {
		int i = fired[k], due = i == 1 ? 80 : 5 + (200 - i) / 4;

		ok &= i % 3 != 0 && due >= prev;	/* ties in any order */
		prev = due;
	}
	CHECK(ok);
	CHECK(nfired > 0 && fired[nfired - 1] == 1);
	for (int i = 0; i < 200; i++)
		CHECK_EQ(ts[i].when, 0);
}

/* A readable fd reaches its own callback; one removed meanwhile does not. */
static int pipe_a[2], pipe_b[2], calls_a, calls_b;

static void
on_a(int fd, uint32_t events, void *arg)
{
	char c;

	(void)events;
	CHECK(arg == (void *)&calls_a);
	CHECK(read(fd, &c, 1) == 1);
	calls_a++;
	loop_del_fd(pipe_b[0]);	/* b is readable too: its event must not run */
}

static void
on_b(int fd, uint32_t events, void *arg)
{
	char c;

	(void)events;
	CHECK(arg == (void *)&calls_b);
	CHECK_EQ(calls_a, 0);	/* never once a removed it */
	if (read(fd, &c, 1) == 1)
		calls_b++;
}

static void
test_fd_dispatch(void)
{
	struct loop_timer stop = { 0 };

	CHECK_EQ(pipe(pipe_a), 0);
	CHECK_EQ(pipe(pipe_b), 0);
	CHECK_EQ(loop_add_fd(pipe_a[0], EPOLLIN, on_a, &calls_a), 0);
	CHECK_EQ(loop_add_fd(pipe_b[0], EPOLLIN, on_b, &calls_b), 0);
	CHECK(write(pipe_a[1], "x", 1) == 1);
	CHECK(write(pipe_b[1], "y", 1) == 1);
	loop_timer_set(&stop, now_ms() + 30, nop, NULL);
	run_until(&stop);
	CHECK_EQ(calls_a, 1);
	CHECK(calls_b <= 1);	/* before a, or not at all */
	loop_del_fd(pipe_a[0]);
	for (int i = 0; i < 2; i++) {
		close(pipe_a[i]);
		close(pipe_b[i]);
	}
}

int
main(void)
{
	alarm(10);	/* a lost timer would leave the loop waiting for ever */
	CHECK_EQ(loop_init(), 0);
	test_rearm_and_cancel();
	test_late_in_time_order();
	test_many_timers();
	test_fd_dispatch();
	loop_finalise();
	return unit_summary("test_loop");
}
