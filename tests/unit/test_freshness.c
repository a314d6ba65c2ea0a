/* Unit tests of heartbeat freshness: frozen sender, frozen receiver, late delivery. */
#include <string.h>

#include "freshness.h"
#include "unit.h"

#define MS	1000ull		/* freshness works in microseconds */
#define S	(1000 * MS)
#define DEAD	(500 * MS)
#define IVL	(100 * MS)

/* The peer's clock runs BOOT_OFF ahead of ours. */
#define BOOT_OFF (77 * S)

static void
test_steady(void)
{
	struct fresh f = { 0 };
	uint64_t t;

	CHECK_EQ(fresh_check(&f, 7, BOOT_OFF + 1 * S, 0, 1 * S, DEAD), FRESH_OK);
	for (t = 1 * S + IVL; t < 5 * S; t += IVL)
		CHECK_EQ(fresh_check(&f, 7, BOOT_OFF + t, t - IVL, t, DEAD),
		    FRESH_OK);
	/* the same one again, or an older one: sent before what we heard */
	CHECK_EQ(fresh_check(&f, 7, BOOT_OFF + t - IVL, t - 2 * IVL, t, DEAD),
	    FRESH_LATE);
}

/*
 * Late delivery: heartbeats withheld on the path (or by ARP after a cut)
 * and delivered after the peer died prove nothing beyond when they were made.
 */
static void
test_late_delivery(void)
{
	struct fresh f = { 0 };
	uint64_t t;

	for (t = 1 * S; t <= 2 * S; t += IVL)
		CHECK_EQ(fresh_check(&f, 7, BOOT_OFF + t, t - IVL, t, DEAD),
		    FRESH_OK);
	/* the peer died at 2 s; what it sent at 2.1 .. 2.4 s (withheld) comes at 4 s */
	for (uint64_t sent = 2 * S + IVL; sent < 2 * S + 5 * IVL; sent += IVL)
		CHECK_EQ(fresh_check(&f, 7, BOOT_OFF + sent, sent - IVL,
		    4 * S, DEAD), FRESH_LATE);
	/* one delivered soon after it was made still counts */
	f = (struct fresh){ 0 };
	for (t = 1 * S; t <= 2 * S; t += IVL)
		fresh_check(&f, 7, BOOT_OFF + t, t - IVL, t, DEAD);
	CHECK_EQ(fresh_check(&f, 7, BOOT_OFF + 2 * S + IVL, 2 * S,
	    2 * S + 3 * IVL, DEAD), FRESH_OK);
	/* a withheld first message of a new life proves only its echo */
	CHECK_EQ(fresh_check(&f, 8, 5 * S, 2 * S, 4 * S, DEAD), FRESH_LATE);
	CHECK_EQ(fresh_check(&f, 9, 5 * S, 3800 * MS, 4 * S, DEAD), FRESH_OK);
	/* an "echo" from our future is ignored: a new life without a proof is taken at its word, as before */
	CHECK_EQ(fresh_check(&f, 10, 5 * S, 9 * S, 4 * S, DEAD), FRESH_OK);
	CHECK_EQ(f.sent_after_us, 0);
}

/*
 * Frozen sender whose clock was restored on resume (a paused VM): its
 * clock shows no gap. Its heartbeats echo ours, so they are fresh at once
 * (the clock rule alone took 8 x (pause - dead_ms)).
 */
static void
test_frozen_sender(void)
{
	struct fresh f = { 0 };
	uint64_t t, peer = BOOT_OFF + 1 * S;

	for (t = 1 * S; t <= 2 * S; t += IVL, peer += IVL)
		CHECK_EQ(fresh_check(&f, 7, peer, t - IVL, t, DEAD), FRESH_OK);
	/* paused 10 s: we go on to 12 s, its clock to where it stopped */
	t = 12 * S;
	/* its first message after the pause echoes an old send: no proof */
	CHECK_EQ(fresh_check(&f, 7, peer, 2 * S, t, DEAD), FRESH_LATE);
	/* then it hears us: the echo proves it alive */
	CHECK_EQ(fresh_check(&f, 7, peer + IVL, t - 10 * MS, t + 20 * MS, DEAD),
	    FRESH_OK);
	/* and without the echo (one-way) the old rule still rejects it */
	f = (struct fresh){ 0 };
	peer = BOOT_OFF + 1 * S;
	for (t = 1 * S; t <= 2 * S; t += IVL, peer += IVL)
		fresh_check(&f, 7, peer, 0, t, DEAD);
	CHECK_EQ(fresh_check(&f, 7, peer + IVL, 0, 12 * S, DEAD), FRESH_LATE);
}

/*
 * Frozen receiver whose clock was restored: ours shows no gap, the peer's
 * counted the pause. Its messages are fresh, and tell us we stood still.
 */
static void
test_frozen_receiver(void)
{
	struct fresh f = { 0 };
	uint64_t t, peer = BOOT_OFF + 1 * S;

	for (t = 1 * S; t <= 2 * S; t += IVL, peer += IVL)
		CHECK_EQ(fresh_check(&f, 7, peer, t - IVL, t, DEAD), FRESH_OK);
	/* paused 10 s: the peer's clock moved on, ours did not */
	peer += 10 * S;
	CHECK_EQ(fresh_check(&f, 7, peer, 2 * S - IVL, 2 * S + 10 * MS, DEAD),
	    FRESH_STOOD_STILL);
	/* the rest of the backlog is ordinary */
	CHECK_EQ(fresh_check(&f, 7, peer + IVL, 2 * S - IVL, 2 * S + 11 * MS,
	    DEAD), FRESH_OK);
	/* a frozen receiver whose clock did move on (SIGSTOP) reads old news */
	f = (struct fresh){ 0 };
	peer = BOOT_OFF + 1 * S;
	for (t = 1 * S; t <= 2 * S; t += IVL, peer += IVL)
		fresh_check(&f, 7, peer, t - IVL, t, DEAD);
	CHECK_EQ(fresh_check(&f, 7, peer, 2 * S - IVL, 12 * S, DEAD), FRESH_LATE);
	/* a peer that was silent for long (a partition) is no sign of a freeze */
	f = (struct fresh){ 0 };
	peer = BOOT_OFF + 1 * S;
	for (t = 1 * S; t <= 2 * S; t += IVL, peer += IVL)
		fresh_check(&f, 7, peer, t - IVL, t, DEAD);
	CHECK_EQ(fresh_check(&f, 7, peer + 10 * S, 12 * S - 5 * MS, 12 * S, DEAD),
	    FRESH_OK);
}

int
main(void)
{
	test_steady();
	test_late_delivery();
	test_frozen_sender();
	test_frozen_receiver();
	return unit_summary("test_freshness");
}
