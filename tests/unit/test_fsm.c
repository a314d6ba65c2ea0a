/* Unit tests of the pure state machine: elections, takeover, handover, preempt, faults. */
#include <stdio.h>
#include <string.h>

#include "fsm.h"
#include "unit.h"

static struct fsm_log f_log, w_log, l_log;	/* of the machines f, w and l */

static struct fsm_config
cfg(const char *name, int prio, bool preempt, unsigned delay)
{
	struct fsm_config c = {
		.priority = prio, .dead_ms = 500, .init_dead_ms = 1000,
		.preempt = preempt, .preempt_delay_ms = delay, .stop_timeout_ms = 2000,
	};
	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

static struct fsm_peer
peer(const char *name, enum fsm_state st, int prio)
{
	struct fsm_peer p = { .state = st, .priority = prio,
	    .holds = st == FSM_ACTIVE };
	snprintf(p.name, sizeof(p.name), "%s", name);
	return p;
}

/* A message that echoes the heartbeat we sent acked_at (0: none). */
static unsigned
hear_acked(struct fsm *f, const char *name, enum fsm_state st, int prio,
    uint64_t acked_at, uint64_t now)
{
	struct fsm_peer p = peer(name, st, prio);

	p.acked_at = acked_at;
	return fsm_event(f, EV_PEER, &p, NULL, now);
}

/* Two-way: the peer echoes what we sent a moment ago. */
static unsigned
hear(struct fsm *f, const char *name, enum fsm_state st, int prio, uint64_t now)
{
	return hear_acked(f, name, st, prio, now ? now - 1 : 0, now);
}

static void
test_init_alone(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 100, true, 0);
	unsigned a;

	fsm_init(&f, &c, &f_log, 1000);
	CHECK_EQ(fsm_next_deadline(&f), 2000);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 1999), 0);
	CHECK_EQ(f.state, FSM_INIT);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 2000);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "startup");
	CHECK(a & ACT_ADD_VIPS);
	CHECK(a & ACT_ANNOUNCE);
	CHECK(a & ACT_PROMOTE);
	CHECK(a & ACT_NOTIFY);
	CHECK(!(a & ACT_DEL_VIPS));
	CHECK(fsm_holds_vips(&f));
}

static void
test_election(void)
{
	struct fsm f;
	struct fsm_config c;

	/* higher priority wins */
	c = cfg("beta", 150, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_INIT, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "election");

	c = cfg("alpha", 100, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	CHECK(!(hear(&f, "beta", FSM_INIT, 150, 10) & ACT_ADD_VIPS));
	CHECK_EQ(f.state, FSM_STANDBY);

	/* tie: the lexically smaller name wins, on both sides */
	c = cfg("alpha", 100, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_INIT, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	c = cfg("beta", 100, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_STANDBY, 100, 10);
	CHECK_EQ(f.state, FSM_STANDBY);

	/* an active peer is never contested at start without preempt */
	c = cfg("alpha", 200, false, 0);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_ACTIVE, 100, 10);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "peer-active");
	hear(&f, "beta", FSM_ACTIVE, 100, 20);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_EQ(f.preempt_at, 0);
}

static void
test_peer_dead(void)
{
	struct fsm f;
	struct fsm_config c = cfg("beta", 100, true, 0);
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 100);
	CHECK_EQ(f.state, FSM_STANDBY);
	hear(&f, "alpha", FSM_ACTIVE, 150, 200);
	CHECK_EQ(fsm_next_deadline(&f), 700);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 699), 0);
	CHECK_EQ(f.state, FSM_STANDBY);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 700);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "peer-dead");
	CHECK(a & ACT_ADD_VIPS);
	CHECK(a & ACT_ANNOUNCE);
}

static void
test_peer_resigns(void)
{
	struct fsm f;
	struct fsm_config c = cfg("beta", 100, true, 0);
	struct fsm_peer p;

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	p = peer("alpha", FSM_STOPPING, 150);
	p.holds = true;		/* stopping, until it hears us hold */
	CHECK(fsm_event(&f, EV_PEER, &p, NULL, 20) & ACT_ADD_VIPS);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "peer-resigned");
	CHECK(!(fsm_event(&f, EV_PEER, &p, NULL, 30) & ACT_ANNOUNCE));
	/* its last word: it let them go */
	CHECK(hear(&f, "alpha", FSM_STOPPING, 150, 40) & ACT_ANNOUNCE);

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	hear(&f, "alpha", FSM_FAULT, 150, 20);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "peer-fault");

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	p = peer("alpha", FSM_ACTIVE, 150);
	p.handover = true;
	fsm_event(&f, EV_PEER, &p, NULL, 20);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "switchover");
	/* it still holds until it hears us hold: nothing to say again */
	CHECK(!(fsm_event(&f, EV_PEER, &p, NULL, 30) & ACT_ANNOUNCE));
	/* it let go: clients that still ask it must learn our MAC */
	CHECK(hear(&f, "alpha", FSM_STANDBY, 150, 40) & ACT_ANNOUNCE);
	CHECK(!(hear(&f, "alpha", FSM_STANDBY, 150, 50) & ACT_ANNOUNCE));
	CHECK_EQ(f.state, FSM_ACTIVE);
}

static void
test_dual_active(void)
{
	struct fsm w, l;
	struct fsm_config cw = cfg("alpha", 150, true, 0), cl = cfg("beta", 100, true, 0);
	unsigned a;

	fsm_init(&w, &cw, &w_log, 0);
	fsm_init(&l, &cl, &l_log, 0);
	fsm_event(&w, EV_TICK, NULL, NULL, 1000);
	fsm_event(&l, EV_TICK, NULL, NULL, 1000);
	CHECK_EQ(w.state, FSM_ACTIVE);
	CHECK_EQ(l.state, FSM_ACTIVE);
	/* one heartbeat each way resolves it */
	a = hear(&w, "beta", FSM_ACTIVE, 100, 1100);
	CHECK_EQ(w.state, FSM_ACTIVE);
	CHECK(a & ACT_ANNOUNCE);
	CHECK(!(a & ACT_DEL_VIPS));
	/* the loser keeps serving until the winner heard it active (and announced) */
	a = hear_acked(&l, "alpha", FSM_ACTIVE, 150, 900, 1100);
	CHECK_EQ(l.state, FSM_ACTIVE);
	CHECK(a & ACT_SEND_NOW);
	CHECK(!(a & ACT_DEL_VIPS));
	CHECK_EQ(fsm_next_deadline(&l), 1600);
	CHECK_EQ(hear_acked(&l, "alpha", FSM_ACTIVE, 150, 1099, 1101) & ACT_DEL_VIPS, 0);
	CHECK_EQ(l.state, FSM_ACTIVE);
	a = hear_acked(&l, "alpha", FSM_ACTIVE, 150, 1100, 1102);
	CHECK_EQ(l.state, FSM_STANDBY);
	CHECK_STR(l.reason, "dual-active");
	CHECK(a & ACT_DEL_VIPS);
	CHECK(a & ACT_DEMOTE);
	CHECK(!(a & ACT_ADD_VIPS));

	/* a winner that never hears the loser: released after dead_ms all the same */
	fsm_init(&l, &cl, &l_log, 0);
	fsm_event(&l, EV_TICK, NULL, NULL, 1000);
	hear_acked(&l, "alpha", FSM_ACTIVE, 150, 0, 1100);
	CHECK_EQ(fsm_event(&l, EV_TICK, NULL, NULL, 1599) & ACT_DEL_VIPS, 0);
	a = fsm_event(&l, EV_TICK, NULL, NULL, 1600);
	CHECK_EQ(l.state, FSM_STANDBY);
	CHECK_STR(l.reason, "dual-active");
	CHECK(a & ACT_DEL_VIPS);

	/* the winner let go meanwhile (it stopped, say): no yielding left */
	fsm_init(&l, &cl, &l_log, 0);
	fsm_event(&l, EV_TICK, NULL, NULL, 1000);
	hear_acked(&l, "alpha", FSM_ACTIVE, 150, 0, 1100);
	hear_acked(&l, "alpha", FSM_STANDBY, 150, 0, 1120);
	CHECK(!l.yielding);
	CHECK_EQ(fsm_next_deadline(&l), UINT64_MAX);
}

/*
 * Preempt, switchover and a graceful stop hand over only on two-way
 * evidence: after a link heal we may hear the peer while our heartbeats
 * still wait for ARP, and the peer would keep the VIPs we take.
 */
static void
test_two_way_evidence(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	const char *why;
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	a = hear_acked(&f, "beta", FSM_ACTIVE, 100, 0, 10);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK(!(a & ACT_ADD_VIPS));
	/* no busy timer while we wait for an echo */
	CHECK_EQ(fsm_next_deadline(&f), 10 + 500);
	/* an echo older than dead_ms proves nothing now */
	hear_acked(&f, "beta", FSM_ACTIVE, 100, 5, 600);
	CHECK_EQ(f.state, FSM_STANDBY);
	a = hear_acked(&f, "beta", FSM_ACTIVE, 100, 590, 620);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "preempt");
	CHECK(a & ACT_ADD_VIPS);

	/*
	 * Handing over needs no echo first: we let go only once the peer,
	 * having heard our request, says it holds the VIPs.
	 */
	fsm_init(&f, &c, &f_log, 0);
	hear_acked(&f, "beta", FSM_STANDBY, 100, 0, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK(fsm_can_switchover(&f, 20, &why));
	a = fsm_event(&f, EV_STOP, NULL, NULL, 20);
	CHECK(!(a & ACT_EXIT));
	CHECK(!(a & ACT_DEL_VIPS));
	CHECK(f.stop_holds);
}

/*
 * A sparse standby (hold_ms from its advertised period) stays alive at the
 * active node that long; the active node's death is still seen in dead_ms;
 * a preemption that finds no fresh echo sends at once, once.
 */
static void
test_sparse_standby(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	struct fsm_peer p = peer("beta", FSM_STANDBY, 100);
	const char *why;
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	p.hold_ms = 2000;
	p.acked_at = 9;
	fsm_event(&f, EV_PEER, &p, NULL, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	/* silent for four times dead_ms: still alive, still a switchover target */
	CHECK(fsm_peer_alive(&f, 2009));
	CHECK(fsm_can_switchover(&f, 2009, &why));
	/* and not "back from silence": no announcement */
	a = fsm_event(&f, EV_PEER, &p, NULL, 1900);
	CHECK(!(a & ACT_ANNOUNCE));
	/* silent for longer than it said: dead */
	CHECK(fsm_peer_alive(&f, 3899));
	CHECK(!fsm_peer_alive(&f, 3900));
	CHECK(!fsm_can_switchover(&f, 3900, &why));
	CHECK_STR(why, "the peer is not heard");
	a = fsm_event(&f, EV_PEER, &p, NULL, 4000);
	CHECK(a & ACT_ANNOUNCE);		/* back: tell the clients again */
	/* a stop waits for it while it is alive */
	a = fsm_event(&f, EV_STOP, NULL, NULL, 5900);
	CHECK(f.stop_holds);
	CHECK_EQ(fsm_next_deadline(&f), 4000 + 2000);	/* its hold, then timeout */

	/* the standby side: the active peer's messages hold it dead_ms only */
	c = cfg("beta", 100, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	p = peer("alpha", FSM_ACTIVE, 150);
	p.hold_ms = 500;			/* proto_hold_ms() of an active sender */
	fsm_event(&f, EV_PEER, &p, NULL, 100);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_EQ(fsm_next_deadline(&f), 600);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 600);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "peer-dead");

	/* preemption due, no fresh echo: send now (once), take over on the echo */
	c = cfg("alpha", 150, true, 100);
	fsm_init(&f, &c, &f_log, 0);
	hear_acked(&f, "beta", FSM_ACTIVE, 100, 0, 10);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_EQ(f.preempt_at, 110);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 110);
	CHECK(f.preempt_unheard);
	CHECK(a & ACT_SEND_NOW);
	CHECK_EQ(hear_acked(&f, "beta", FSM_ACTIVE, 100, 0, 120), 0);
	a = hear_acked(&f, "beta", FSM_ACTIVE, 100, 112, 125);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "preempt");
	CHECK(a & ACT_ADD_VIPS);
}

static void
test_heal_reannounce(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	unsigned a;

	/* the loser released before we saw it active: we still re-announce */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_EQ(hear(&f, "beta", FSM_STANDBY, 100, 20) & ACT_ANNOUNCE, 0);
	a = hear(&f, "beta", FSM_STANDBY, 100, 2000);	/* silent 1980 ms */
	CHECK(a & ACT_ANNOUNCE);
	CHECK_EQ(f.state, FSM_ACTIVE);
	/* and after the peer held the VIPs and let go */
	hear(&f, "beta", FSM_ACTIVE, 100, 2010);
	a = hear(&f, "beta", FSM_STANDBY, 100, 2020);
	CHECK(a & ACT_ANNOUNCE);
	CHECK_EQ(hear(&f, "beta", FSM_STANDBY, 100, 2030) & ACT_ANNOUNCE, 0);
}

/*
 * A lossy link: the peer took over for a moment and released again, and we
 * never heard it hold the VIPs. Its YIELDED flag says clients may have
 * followed it: announce ours again, once.
 */
static void
test_yield_news_reannounce(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	struct fsm_peer p = peer("beta", FSM_STANDBY, 100);

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_EQ(hear(&f, "beta", FSM_STANDBY, 100, 20) & ACT_ANNOUNCE, 0);
	p.yielded = true;
	p.acked_at = 29;
	CHECK(fsm_event(&f, EV_PEER, &p, NULL, 30) & ACT_ANNOUNCE);
	p.acked_at = 39;
	CHECK_EQ(fsm_event(&f, EV_PEER, &p, NULL, 40) & ACT_ANNOUNCE, 0);
	CHECK_EQ(f.state, FSM_ACTIVE);
}

static void
test_preempt(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 300);
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_ACTIVE, 100, 10);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_EQ(f.preempt_at, 310);
	CHECK_EQ(fsm_next_deadline(&f), 310);
	hear(&f, "beta", FSM_ACTIVE, 100, 200);
	CHECK_EQ(f.state, FSM_STANDBY);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 310);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "preempt");
	CHECK(a & ACT_ADD_VIPS);

	/* no delay: at once */
	c = cfg("alpha", 150, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_ACTIVE, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);

	/* preempt cancelled when the peer's priority rises above ours */
	c = cfg("alpha", 150, true, 300);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_ACTIVE, 100, 10);
	hear(&f, "beta", FSM_ACTIVE, 200, 100);
	CHECK_EQ(f.preempt_at, 0);
	fsm_event(&f, EV_TICK, NULL, NULL, 400);
	CHECK_EQ(f.state, FSM_STANDBY);

	/* preempt = false: stays standby for good */
	c = cfg("alpha", 150, false, 0);
	fsm_init(&f, &c, &f_log, 0);
	for (uint64_t t = 10; t < 5000; t += 100)
		hear(&f, "beta", FSM_ACTIVE, 100, t);
	CHECK_EQ(f.state, FSM_STANDBY);
}

static void
test_graceful_stop(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	a = fsm_event(&f, EV_STOP, NULL, NULL, 100);
	CHECK_EQ(f.state, FSM_STOPPING);
	CHECK(fsm_holds_vips(&f));	/* make before break */
	CHECK(!(a & ACT_DEL_VIPS));
	CHECK(!(a & ACT_EXIT));
	CHECK(a & ACT_SEND_NOW);
	/* the peer still standby: keep holding */
	CHECK_EQ(hear(&f, "beta", FSM_STANDBY, 100, 110) & ACT_EXIT, 0);
	a = hear(&f, "beta", FSM_ACTIVE, 100, 120);
	CHECK(a & ACT_DEL_VIPS);
	CHECK(a & ACT_DEMOTE);
	CHECK(a & ACT_EXIT);
	CHECK(!fsm_holds_vips(&f));

	/* peer never answers: give up after stop_timeout_ms (or dead_ms) */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	fsm_event(&f, EV_STOP, NULL, NULL, 100);
	hear(&f, "beta", FSM_STANDBY, 100, 400);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 899) & ACT_EXIT, 0);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 900);
	CHECK(a & ACT_EXIT);
	CHECK(a & ACT_DEL_VIPS);

	/* active with a dead peer: leave at once */
	fsm_init(&f, &c, &f_log, 0);
	fsm_event(&f, EV_TICK, NULL, NULL, 1000);
	a = fsm_event(&f, EV_STOP, NULL, NULL, 1100);
	CHECK(a & ACT_EXIT);
	CHECK(a & ACT_DEL_VIPS);

	/* standby: just leave, no demote for a role never held */
	fsm_init(&f, &c, &f_log, 0);
	c = cfg("beta", 100, true, 0);
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	a = fsm_event(&f, EV_STOP, NULL, NULL, 20);
	CHECK(a & ACT_EXIT);
	CHECK(!(a & ACT_DEMOTE));
	CHECK(!(a & ACT_DEL_VIPS));
}

static void
test_switchover(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	const char *why;
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	CHECK(!fsm_can_switchover(&f, 0, &why));
	CHECK_STR(why, "this node is not active");
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	CHECK(fsm_can_switchover(&f, 20, &why));
	CHECK(!fsm_can_switchover(&f, 2000, &why));
	CHECK_STR(why, "the peer is not heard");
	{	/* a standby whose checks fail is no place for the VIPs */
		struct fsm_peer p = peer("beta", FSM_STANDBY, 50);

		p.degraded = true;
		fsm_event(&f, EV_PEER, &p, NULL, 15);
		CHECK(!fsm_can_switchover(&f, 20, &why));
		CHECK_STR(why, "the peer's health checks are failing");
		CHECK_EQ(fsm_event(&f, EV_SWITCHOVER, NULL, NULL, 20), 0);
		CHECK(!f.handover);
		hear(&f, "beta", FSM_STANDBY, 100, 15);
		CHECK(fsm_can_switchover(&f, 20, &why));
	}
	a = fsm_event(&f, EV_SWITCHOVER, NULL, NULL, 20);
	CHECK(f.handover);
	CHECK(a & ACT_SEND_NOW);
	CHECK_EQ(f.state, FSM_ACTIVE);
	a = hear(&f, "beta", FSM_ACTIVE, 100, 30);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "switchover");
	CHECK(a & ACT_DEL_VIPS);
	/* no preempting back right after a switchover */
	hear(&f, "beta", FSM_ACTIVE, 100, 40);
	CHECK_EQ(f.state, FSM_STANDBY);
	/* once the peer stops holding, normal rules again */
	hear(&f, "beta", FSM_STOPPING, 100, 50);
	CHECK_EQ(f.state, FSM_ACTIVE);

	/* a handover the peer never takes times out */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	fsm_event(&f, EV_SWITCHOVER, NULL, NULL, 20);
	fsm_event(&f, EV_TICK, NULL, NULL, fsm_next_deadline(&f));
	CHECK(!f.handover);
	CHECK_EQ(f.state, FSM_ACTIVE);
}

static void
test_fault(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	unsigned a;

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	a = fsm_event(&f, EV_FAULT, NULL, "check-failed:web", 20);
	CHECK_EQ(f.state, FSM_FAULT);
	CHECK_STR(f.reason, "check-failed:web");
	CHECK(a & ACT_DEL_VIPS);
	/* a peer in fault is a peer that resigned */
	hear(&f, "beta", FSM_ACTIVE, 100, 30);
	CHECK_EQ(f.state, FSM_FAULT);
	a = fsm_event(&f, EV_FAULT_CLEAR, NULL, NULL, 40);
	CHECK_EQ(f.state, FSM_INIT);
	hear(&f, "beta", FSM_ACTIVE, 100, 50);
	CHECK_EQ(f.state, FSM_ACTIVE);	/* preempt, no delay */
}

static void
test_maintenance(void)
{
	struct fsm f;
	struct fsm_config c = cfg("beta", 100, true, 0);

	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	fsm_event(&f, EV_MAINT_ON, NULL, NULL, 20);
	CHECK_EQ(f.state, FSM_MAINTENANCE);
	CHECK(!f.maint_active);
	/* peer silent for long: no takeover in maintenance */
	fsm_event(&f, EV_TICK, NULL, NULL, 5000);
	CHECK_EQ(f.state, FSM_MAINTENANCE);
	CHECK(!fsm_holds_vips(&f));
	CHECK_EQ(fsm_next_deadline(&f), UINT64_MAX);
	fsm_event(&f, EV_MAINT_OFF, NULL, NULL, 5001);
	CHECK_EQ(f.state, FSM_STANDBY);
	fsm_event(&f, EV_TICK, NULL, NULL, 5002);
	CHECK_EQ(f.state, FSM_ACTIVE);

	/* active node keeps the VIPs through maintenance */
	fsm_event(&f, EV_MAINT_ON, NULL, NULL, 6000);
	CHECK(fsm_holds_vips(&f));
	CHECK_EQ(fsm_event(&f, EV_MAINT_OFF, NULL, NULL, 6001) & (ACT_ADD_VIPS | ACT_DEL_VIPS), 0);
	CHECK_EQ(f.state, FSM_ACTIVE);
}

/* The peer is in maintenance: we neither preempt it nor wait for it. */
static void
test_peer_in_maintenance(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	struct fsm_peer p = peer("beta", FSM_MAINTENANCE, 100);

	/* it holds the VIPs: we come up standby and stay so (preempt = true) */
	p.holds = true;
	fsm_init(&f, &c, &f_log, 0);
	fsm_event(&f, EV_PEER, &p, NULL, 10);
	CHECK_EQ(f.state, FSM_STANDBY);
	for (uint64_t t = 20; t < 3000; t += 100)
		fsm_event(&f, EV_PEER, &p, NULL, t);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 3000), 0);
	CHECK_EQ(f.state, FSM_STANDBY);
	/* maintenance off, it is active again: now we preempt */
	hear(&f, "beta", FSM_ACTIVE, 100, 3100);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "preempt");

	/* it holds nothing: we take the VIPs, also as the election's loser */
	c = cfg("gamma", 50, false, 0);
	p.holds = false;
	fsm_init(&f, &c, &f_log, 0);
	CHECK(fsm_event(&f, EV_PEER, &p, NULL, 10) & ACT_ADD_VIPS);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "election");
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_ACTIVE, 100, 10);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK(fsm_event(&f, EV_PEER, &p, NULL, 20) & ACT_ADD_VIPS);
	CHECK_EQ(f.state, FSM_ACTIVE);
}

static void
test_stalled(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	unsigned a;

	/* frozen active node: yields to the peer that took over... */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	CHECK_EQ(f.state, FSM_ACTIVE);
	fsm_event(&f, EV_STALLED, NULL, NULL, 5000);
	a = hear(&f, "beta", FSM_ACTIVE, 100, 5000);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "stalled");
	CHECK(a & ACT_DEL_VIPS);
	CHECK(!(a & ACT_ADD_VIPS));
	/* the rest of the backlog is old news: no flip-flop */
	CHECK_EQ(hear(&f, "beta", FSM_ACTIVE, 100, 5001), 0);
	CHECK_EQ(hear(&f, "beta", FSM_STANDBY, 100, 5002), 0);
	CHECK_EQ(f.state, FSM_STANDBY);
	/* ...then takes it back the normal way, once it runs on time */
	fsm_event(&f, EV_RESUMED, NULL, NULL, 5010);
	a = hear(&f, "beta", FSM_ACTIVE, 100, 5020);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "preempt");
	CHECK(a & ACT_ADD_VIPS);

	/* a stall with no peer around changes nothing */
	fsm_init(&f, &c, &f_log, 0);
	fsm_event(&f, EV_TICK, NULL, NULL, 1000);
	fsm_event(&f, EV_STALLED, NULL, NULL, 9000);
	CHECK_EQ(f.state, FSM_ACTIVE);
}

static void
test_fencing(void)
{
	struct fsm f;
	struct fsm_config c = cfg("beta", 100, true, 0);
	unsigned a;

	/* required: no takeover until the fence hooks succeed */
	c.fence = FSM_FENCE_REQUIRED;
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 510);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK(a & ACT_FENCE);
	CHECK(!(a & ACT_ADD_VIPS));
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 600), 0);	/* once */
	a = fsm_event(&f, EV_FENCED, NULL, NULL, 700);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK(a & ACT_ADD_VIPS);

	/* a failed fence leaves us standby, for good while the peer is silent */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	fsm_event(&f, EV_TICK, NULL, NULL, 510);
	fsm_event(&f, EV_FENCED, NULL, "fence hook 10-ipmi failed", 700);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK(f.fence_failed);
	CHECK_STR(f.reason, "fence-failed");
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 5000), 0);
	CHECK_EQ(f.state, FSM_STANDBY);
	/* the peer resigning is not a dead peer: no fencing needed */
	hear(&f, "alpha", FSM_STOPPING, 150, 6000);
	CHECK_EQ(f.state, FSM_ACTIVE);

	/* the peer comes back while fencing: no takeover */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	fsm_event(&f, EV_TICK, NULL, NULL, 510);
	hear(&f, "alpha", FSM_ACTIVE, 150, 520);
	fsm_event(&f, EV_FENCED, NULL, NULL, 530);
	CHECK_EQ(f.state, FSM_STANDBY);

	/* optional: fence hooks run first; the takeover follows either way */
	c.fence = FSM_FENCE_OPTIONAL;
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 510);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK(a & ACT_FENCE);
	CHECK(!(a & ACT_ADD_VIPS));
	a = fsm_event(&f, EV_FENCED, NULL, "fence hook 10-ipmi failed", 700);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "peer-dead");
	CHECK(a & ACT_ADD_VIPS);
}

/* With an arbiter: no claim without a reply since the peer fell silent. */
static void
test_arbiter_gate(void)
{
	struct fsm f;
	struct fsm_config c = cfg("beta", 100, true, 0);
	unsigned a;

	c.arbiter = true;
	fsm_init(&f, &c, &f_log, 0);
	fsm_event(&f, EV_ARBITER, NULL, NULL, 5);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	fsm_event(&f, EV_ARBITER, NULL, NULL, 300);
	hear(&f, "alpha", FSM_ACTIVE, 150, 400);	/* its last word */
	CHECK_EQ(fsm_next_deadline(&f), 900);
	a = fsm_event(&f, EV_TICK, NULL, NULL, 900);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_EQ(a, ACT_ARBITER);			/* ask at once, once */
	CHECK_EQ(fsm_next_deadline(&f), UINT64_MAX);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 950), 0);
	a = fsm_event(&f, EV_ARBITER, NULL, NULL, 902);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "peer-dead");
	CHECK(a & ACT_ADD_VIPS);

	/*
	 * A reply after the peer's last word but before its deadline may
	 * predate the cut that silenced it (and us): it does not count.
	 */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 400);
	fsm_event(&f, EV_ARBITER, NULL, NULL, 450);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 900), ACT_ARBITER);
	CHECK_EQ(f.state, FSM_STANDBY);
	fsm_event(&f, EV_ARBITER, NULL, NULL, 903);
	CHECK_EQ(f.state, FSM_ACTIVE);

	/* isolated: no reply comes, no claim; the peer returns: no claim due */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "alpha", FSM_ACTIVE, 150, 10);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 510), ACT_ARBITER);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 5000), 0);
	CHECK_EQ(f.state, FSM_STANDBY);
	hear(&f, "alpha", FSM_ACTIVE, 150, 5001);
	CHECK(!f.arbiter_wait);
	CHECK_EQ(fsm_event(&f, EV_ARBITER, NULL, NULL, 5002), 0);
	CHECK_EQ(f.state, FSM_STANDBY);

	/* alone at start: a reply since start, or no startup claim */
	fsm_init(&f, &c, &f_log, 1000);
	CHECK_EQ(fsm_event(&f, EV_TICK, NULL, NULL, 2000), ACT_ARBITER);
	CHECK_EQ(f.state, FSM_INIT);
	CHECK_EQ(fsm_next_deadline(&f), UINT64_MAX);
	fsm_event(&f, EV_ARBITER, NULL, NULL, 2001);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "startup");
	fsm_init(&f, &c, &f_log, 1000);
	fsm_event(&f, EV_ARBITER, NULL, NULL, 1001);
	CHECK(fsm_event(&f, EV_TICK, NULL, NULL, 2000) & ACT_ADD_VIPS);
}

static void
test_peer_without_vips(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);
	struct fsm_peer p = peer("beta", FSM_ACTIVE, 100);
	unsigned a;

	/* a graceful stop waits until the peer's VIPs are really up (hooks-first) */
	fsm_init(&f, &c, &f_log, 0);
	hear(&f, "beta", FSM_STANDBY, 100, 10);
	fsm_event(&f, EV_STOP, NULL, NULL, 20);
	p.holds = false;
	CHECK_EQ(fsm_event(&f, EV_PEER, &p, NULL, 30) & ACT_EXIT, 0);
	p.holds = true;
	a = fsm_event(&f, EV_PEER, &p, NULL, 40);
	CHECK(a & ACT_EXIT);
}

static void
test_history(void)
{
	struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);

	fsm_init(&f, &c, &f_log, 0);
	fsm_event(&f, EV_TICK, NULL, NULL, 1000);
	hear(&f, "beta", FSM_ACTIVE, 200, 1100);
	hear(&f, "beta", FSM_ACTIVE, 200, 1120);
	CHECK_EQ(f.nhistory, 2);
	CHECK_EQ(f.log->history[0].from, FSM_INIT);
	CHECK_EQ(f.log->history[0].to, FSM_ACTIVE);
	CHECK_EQ(f.log->history[1].to, FSM_STANDBY);
	CHECK_STR(f.log->history[1].reason, "dual-active");
	CHECK_STR(fsm_state_name(FSM_MAINTENANCE), "maintenance");
	CHECK_EQ(fsm_state_parse("stopping"), FSM_STOPPING);
	CHECK_EQ(fsm_state_parse("nonsense"), -1);
}

/* Transitions counted by (from, to, kind of reason), bounded. */
static void
test_counts(void)
{
	static struct fsm f;
	struct fsm_config c = cfg("alpha", 150, true, 0);

	CHECK_EQ(fsm_reason_kind("check-failed:web"), fsm_reason_kind("check-failed"));
	CHECK_STR(fsm_reason_kind_name(fsm_reason_kind("check-failed:web")),
	    "check-failed");
	CHECK_STR(fsm_reason_kind_name(fsm_reason_kind("interface-down:eth1")),
	    "interface-down");
	CHECK_STR(fsm_reason_kind_name(fsm_reason_kind("peer-dead")), "peer-dead");
	CHECK_EQ(fsm_reason_kind("bogus"), 0);
	CHECK_EQ(fsm_reason_kind("check-failedX"), 0);
	CHECK_EQ(fsm_reason_kind(""), 0);
	CHECK_STR(fsm_reason_kind_name(0), "other");
	CHECK_STR(fsm_reason_kind_name(999), "other");

	fsm_init(&f, &c, &f_log, 0);
	CHECK_EQ(f.log->ncounts, 0);
	fsm_event(&f, EV_TICK, NULL, NULL, 1000);		/* init -> active */
	fsm_event(&f, EV_FAULT, NULL, "check-failed:web", 1100);
	fsm_event(&f, EV_FAULT_CLEAR, NULL, NULL, 1200);	/* fault -> init */
	fsm_event(&f, EV_TICK, NULL, NULL, 2200);		/* init -> active */
	fsm_event(&f, EV_FAULT, NULL, "check-failed:db", 2300);
	CHECK_EQ(f.log->ncounts, 3);
	CHECK_EQ(f.log->counts[0].from, FSM_INIT);
	CHECK_EQ(f.log->counts[0].to, FSM_ACTIVE);
	CHECK_STR(fsm_reason_kind_name(f.log->counts[0].kind), "startup");
	CHECK_EQ(f.log->counts[0].n, 2);
	CHECK_EQ(f.log->counts[1].from, FSM_ACTIVE);
	CHECK_EQ(f.log->counts[1].to, FSM_FAULT);
	CHECK_STR(fsm_reason_kind_name(f.log->counts[1].kind), "check-failed");
	CHECK_EQ(f.log->counts[1].n, 2);
	CHECK_STR(fsm_reason_kind_name(f.log->counts[2].kind), "fault-cleared");
	CHECK_EQ(f.log->counts[2].n, 1);
	CHECK_EQ(f.log->counts_lost, 0);

	/* a full table counts what is new as lost, and the rest as ever */
	f.log->ncounts = FSM_COUNTS_MAX;
	fsm_event(&f, EV_MAINT_ON, NULL, NULL, 2400);
	CHECK_EQ(f.log->counts_lost, 1);
	fsm_event(&f, EV_MAINT_OFF, NULL, NULL, 2500);	/* fault: maintenance-off */
	CHECK_EQ(f.log->counts_lost, 2);
}

static unsigned rnd_state = 12345;

static unsigned
rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

/* A machine in any state with any flags, having heard some peer. */
static void
random_machine(struct fsm *f, struct fsm_log *log)
{
	static const char *const names[] = { "alpha", "beta", "me" };
	struct fsm_config c = cfg("me", 100, rnd(2), rnd(2) ? 0 : 300);

	c.quorum = rnd(4) == 0;
	fsm_init(f, &c, log, 0);
	f->state = (enum fsm_state)rnd(FSM_NSTATES);
	f->eff_priority = 50 + 50 * (int)rnd(3);
	f->key = (enum fsm_key)rnd(5);
	f->peer_known = rnd(8) != 0;
	f->peer_was_gone = rnd(2);
	f->peer_yield_news = rnd(2);
	f->peer_let_go = rnd(2);
	f->preempt_unheard = rnd(4) == 0;
	f->yielding = rnd(4) == 0;
	f->stop_holds = rnd(2);
	f->handover = rnd(4) == 0;
	f->no_preempt = rnd(4) == 0;
	f->placed = rnd(4) == 0;
	f->maint_active = rnd(2);
	f->faulted = rnd(8) == 0;
	f->stalled = rnd(8) == 0;
	f->fencing = rnd(8) == 0;
	f->fence_failed = rnd(8) == 0;
	f->arbiter_wait = rnd(8) == 0;
	f->peer_heard = 1000 + rnd(1000);
	f->preempt_at = rnd(2) ? 0 : 1000 + rnd(2000);
	f->yield_since = 1000 + rnd(1000);
	f->handover_deadline = 1000 + rnd(3000);
	f->stop_deadline = 1000 + rnd(3000);
	snprintf(f->peer.name, sizeof(f->peer.name), "%s", names[rnd(3)]);
	f->peer.state = (enum fsm_state)rnd(FSM_NSTATES);
	f->peer.priority = 50 + 50 * (int)rnd(3);
	f->peer.handover = rnd(4) == 0;
	f->peer.holds = rnd(2);
	f->peer.degraded = rnd(8) == 0;
	f->peer.yielded = rnd(8) == 0;
	f->peer.placed = rnd(8) == 0;
	f->peer.key = rnd(2);
	f->peer.keyless = rnd(8) == 0;
	f->peer.acked_at = rnd(2) ? 0 : 500 + rnd(1500);
	f->peer.heard_at = f->peer_heard;
	f->peer.hold_ms = rnd(2) ? 0 : 1500;
}

/*
 * fsm_peer_again() against EV_PEER, from random machines hearing the same
 * news again (or, now and then, other news): whenever the shortcut takes a
 * message, the machine ends as EV_PEER leaves it and EV_PEER does nothing
 * else (no action); when it declines, it changed nothing. The steady
 * states (standby beside a holder, active beside a standby) take it.
 */
static void
test_peer_again(void)
{
	static struct fsm_log log;
	int taken = 0, mismatched = 0, touched = 0;
	struct fsm base, a, b;
	struct fsm_peer p;
	bool *const flag[] = { &p.holds, &p.handover, &p.yielded, &p.placed,
	    &p.key, &p.keyless, &p.degraded };
	bool *flip;
	uint64_t now;

	for (int n = 0; n < 200000; n++) {
		random_machine(&base, &log);
		now = base.peer_heard + rnd(800);
		p = base.peer;
		p.heard_at = now;
		p.acked_at = rnd(2) ? now - rnd(50) : base.peer.acked_at;
		p.hold_ms = rnd(4) == 0 ? 1500 : base.peer.hold_ms;
		switch (rnd(10)) {	/* other news, now and then */
		case 0:
			p.state = (enum fsm_state)rnd(FSM_NSTATES);
			break;
		case 1:
			p.priority += 50;
			break;
		case 2:
			snprintf(p.name, sizeof(p.name), "%s",
			    strcmp(p.name, "alpha") ? "alpha" : "beta");
			break;
		case 3:
		case 4:
			flip = flag[rnd(sizeof(flag) / sizeof(flag[0]))];
			*flip = !*flip;
			break;
		default:
			break;
		}
		a = b = base;
		if (fsm_peer_again(&a, &p, now)) {
			taken++;
			/* the shortcut marks it for fsm_peer_times() */
			if (fsm_event(&b, EV_PEER, &p, NULL, now) != 0 ||
			    !a.again || (b.again = true, memcmp(&a, &b, sizeof(a))) != 0)
				mismatched++;
		} else if (memcmp(&a, &base, sizeof(a)) != 0)
			touched++;
	}
	CHECK_EQ(mismatched, 0);
	CHECK_EQ(touched, 0);
	CHECK(taken > 1000);

	/* standby beside the active holder, no preemption: taken */
	fsm_init(&a, &(struct fsm_config){ .priority = 100, .dead_ms = 500,
	    .init_dead_ms = 1000, .preempt = true, .stop_timeout_ms = 2000 },
	    &log, 0);
	snprintf(a.cfg.name, sizeof(a.cfg.name), "beta");
	p = peer("alpha", FSM_ACTIVE, 150);
	p.heard_at = 100;
	fsm_event(&a, EV_PEER, &p, NULL, 100);
	CHECK_EQ(a.state, FSM_STANDBY);
	p.heard_at = 110;
	CHECK(fsm_peer_again(&a, &p, 110));
	CHECK_EQ(a.peer_heard, 110);
	CHECK_EQ(fsm_next_deadline(&a), 610);
	/* one that would preempt it, once the delay is over: not taken */
	a.eff_priority = 200;
	CHECK(!fsm_peer_again(&a, &p, 120));
	/* its state changed: not taken */
	a.eff_priority = 100;
	p.state = FSM_STOPPING;
	CHECK(!fsm_peer_again(&a, &p, 120));
	/* active beside a standby that says the same: taken */
	p = peer("alpha", FSM_STANDBY, 150);
	a.state = FSM_ACTIVE;
	fsm_event(&a, EV_PEER, &p, NULL, 130);
	CHECK(fsm_peer_again(&a, &p, 140));
	/* silent past dead_ms meanwhile: EV_PEER (the peer was gone) */
	CHECK(!fsm_peer_again(&a, &p, 640));
}

/*
 * fsm_peer_times() after the shortcut took a message, from random machines:
 * the next message saying the same ends as fsm_peer_again() leaves it;
 * after any other change (an event, a key, a reload...) it declines and
 * changes nothing, as it does where the peer died meanwhile.
 */
static void
test_peer_times(void)
{
	static struct fsm_log log;
	int taken = 0, declined = 0, mismatched = 0, touched = 0;
	struct fsm a, b, c;
	struct fsm_peer p;
	uint64_t now, later;
	bool changed;

	/* a machine the shortcut never took: declined */
	random_machine(&a, &log);
	c = a;
	CHECK(!fsm_peer_times(&a, 1100, 0, 0, 1100));
	CHECK(memcmp(&a, &c, sizeof(a)) == 0);
	for (int n = 0; n < 200000; n++) {
		random_machine(&a, &log);
		now = a.peer_heard + rnd(300);
		p = a.peer;
		p.heard_at = now;
		if (!fsm_peer_again(&a, &p, now))
			continue;
		later = now + rnd(800);
		p.heard_at = later;
		p.acked_at = rnd(2) ? later - rnd(50) : p.acked_at;
		p.hold_ms = rnd(4) == 0 ? 1500 : p.hold_ms;
		changed = true;
		switch (rnd(8)) {
		case 0:
			fsm_event(&a, (enum fsm_event)(1 + rnd(EV_NEVENTS - 1)),
			    NULL, "check-failed:x", now);
			break;
		case 1:
			fsm_set_key(&a, a.key);
			break;
		case 2:
			fsm_no_preempt(&a);
			break;
		case 3:
			fsm_reconfigure(&a, &a.cfg);
			break;
		case 4:
			fsm_set_priority(&a, a.eff_priority + 10, now);
			break;
		default:
			changed = false;
			break;
		}
		b = c = a;
		if (fsm_peer_times(&a, p.heard_at, p.acked_at, p.hold_ms, later)) {
			taken++;
			if (changed || !fsm_peer_again(&b, &p, later) ||
			    memcmp(&a, &b, sizeof(a)) != 0)
				mismatched++;
		} else {
			declined++;
			if (memcmp(&a, &c, sizeof(a)) != 0)
				touched++;
			if (!changed && fsm_peer_again(&b, &p, later))
				mismatched++;
		}
	}
	CHECK_EQ(mismatched, 0);
	CHECK_EQ(touched, 0);
	CHECK(taken > 1000);
	CHECK(declined > 1000);
}

int
main(void)
{
	test_init_alone();
	test_election();
	test_peer_dead();
	test_peer_resigns();
	test_dual_active();
	test_two_way_evidence();
	test_sparse_standby();
	test_heal_reannounce();
	test_yield_news_reannounce();
	test_preempt();
	test_graceful_stop();
	test_switchover();
	test_fault();
	test_maintenance();
	test_peer_in_maintenance();
	test_stalled();
	test_fencing();
	test_arbiter_gate();
	test_peer_without_vips();
	test_history();
	test_counts();
	test_peer_again();
	test_peer_times();
	return unit_summary("test_fsm");
}
