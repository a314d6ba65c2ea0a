/* loop.c: timers fire once, in time order (also when late), re-armed or cancelled at will. */
#include <stdint.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

static char fired[8];
static int nfired;

static void
note(void *arg)
{
	if (nfired < (int)sizeof(fired))
		fired[nfired++] = *(const char *)arg;
}

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
	static const char a = 'a', b = 'b', c = 'c';
	struct loop_timer ta = { 0 }, tb = { 0 }, tc = { 0 }, stop = { 0 };
	uint64_t t = now_ms();

	nfired = 0;
	loop_timer_set(&ta, t + 60, note, (void *)&a);
	loop_timer_set(&tb, t + 20, note, (void *)&b);
	loop_timer_set(&tc, t + 30, note, (void *)&c);
	/* re-armed while armed (each heartbeat does it): only the new time counts */
	loop_timer_set(&ta, t + 10, note, (void *)&a);
	loop_timer_set(&ta, t + 40, note, (void *)&a);
	loop_timer_cancel(&tc);
	loop_timer_set(&stop, t + 120, note, (void *)"s");
	run_until(&stop);
	CHECK_EQ(nfired, 3);
	CHECK(nfired == 3 && fired[0] == 'b' && fired[1] == 'a' &&
	    fired[2] == 's');
	CHECK_EQ(ta.when, 0);
	CHECK_EQ(tc.when, 0);

	/* a fired timer armed again fires again; cancelled twice is harmless */
	nfired = 0;
	loop_timer_set(&ta, now_ms() + 5, note, (void *)&a);
	loop_timer_cancel(&tb);
	loop_timer_cancel(&tb);
	loop_timer_set(&stop, now_ms() + 50, note, (void *)"s");
	run_until(&stop);
	CHECK(nfired == 2 && fired[0] == 'a' && fired[1] == 's');
}

/* After a freeze every timer is due at once: still earliest first. */
static void
test_late_in_time_order(void)
{
	static const char x = 'x', y = 'y', z = 'z';
	struct loop_timer tx = { 0 }, ty = { 0 }, tz = { 0 };
	uint64_t t = now_ms();

	nfired = 0;
	loop_timer_set(&tz, t, note, (void *)&z);
	loop_timer_set(&tx, t - 20, note, (void *)&x);
	loop_timer_set(&ty, t - 10, note, (void *)&y);
	run_until(&tz);
	CHECK(nfired == 3 && fired[0] == 'x' && fired[1] == 'y' &&
	    fired[2] == 'z');
}

int
main(void)
{
	alarm(10);	/* a lost timer would leave the loop waiting for ever */
	CHECK_EQ(loop_init(), 0);
	test_rearm_and_cancel();
	test_late_in_time_order();
	loop_finalise();
	return unit_summary("test_loop");
}
