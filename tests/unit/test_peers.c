/*
 * Unit tests of peers.c: which peer each group's state machine is shown,
 * and a small cluster of three to five simulated nodes (fsm.c + peers.c,
 * messages delivered at once) that must elect, fail over, hand over and
 * preempt with never two holders outside a handover.
 */
#include <stdio.h>
#include <string.h>

#include "fsm.h"
#include "peers.h"
#include "unit.h"

#define DEAD	100
#define X(f)	((unsigned)(f) << 8)	/* a PROTO_X_* flag, in msg()'s flags */

/* transitions of the machines these tests do not read */
static struct fsm_log scratch_log;

static const char groups[1][PROTO_NAME_LEN] = { "web" };

/* A message from name: one group "web" in state st with flags. */
static struct msg
msg(const char *name, enum fsm_state st, int prio, unsigned flags)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.version = 2;
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.ngroups = 1;
	snprintf(m.groups[0].name, sizeof(m.groups[0].name), "web");
	m.groups[0].state = (uint8_t)st;
	m.groups[0].priority = (uint8_t)prio;
	m.groups[0].flags = (uint8_t)flags;
	m.groups[0].xflags = (uint8_t)(flags >> 8);
	return m;
}

static void
hear(struct peers *ps, const char *name, enum fsm_state st, int prio,
    unsigned flags, uint64_t now)
{
	struct msg m = msg(name, st, prio, flags);
	int i = peers_lookup(ps, name);

	CHECK(i >= 0);
	peers_update(ps, i, &m, 0, 0, now);
}

static void
me(struct fsm *f, enum fsm_state st, int prio, uint64_t now)
{
	struct fsm_config c = { .priority = prio, .dead_ms = DEAD,
	    .init_dead_ms = 300, .preempt = true, .stop_timeout_ms = 400 };

	snprintf(c.name, sizeof(c.name), "me");
	fsm_init(f, &c, &scratch_log, 0);
	f->state = st;
	(void)now;
}

static const char *
pick(struct peers *ps, struct fsm *f, bool all, uint64_t now)
{
	static struct fsm_peer v;
	int i = peers_pick(ps, 0, f, NULL, all, now, &v);

	return i == -1 ? "-" : v.name;
}

static void
test_pick_rules(void)
{
	struct peers ps;
	struct fsm f;
	struct fsm_peer v;

	peers_init(&ps, DEAD, groups, 1);
	me(&f, FSM_STANDBY, 100, 0);
	/* a holder comes first, the best of several */
	hear(&ps, "a", FSM_STANDBY, 200, 0, 10);
	hear(&ps, "b", FSM_ACTIVE, 50, PROTO_F_HOLDS, 10);
	hear(&ps, "c", FSM_ACTIVE, 60, PROTO_F_HOLDS, 10);
	CHECK_STR(pick(&ps, &f, true, 20), "c");
	/* the holder stops, for a: we see it still holding, as active */
	hear(&ps, "c", FSM_STOPPING, 60, PROTO_F_HOLDS, 30);
	hear(&ps, "b", FSM_STANDBY, 50, 0, 30);
	CHECK_EQ(peers_pick(&ps, 0, &f, NULL, true, 40, &v), 2);
	CHECK_EQ(v.state, FSM_ACTIVE);
	CHECK(v.holds && !v.handover);
	/* ... and for us: resigns */
	hear(&ps, "c", FSM_STOPPING, 60, PROTO_F_HOLDS | X(PROTO_X_TARGET), 50);
	CHECK_EQ(peers_pick(&ps, 0, &f, NULL, true, 60, &v), 2);
	CHECK_EQ(v.state, FSM_STOPPING);
	/* a switchover meant for another node: still a holder to us */
	hear(&ps, "c", FSM_ACTIVE, 60, PROTO_F_HOLDS | PROTO_F_HANDOVER, 70);
	CHECK_EQ(peers_pick(&ps, 0, &f, NULL, true, 80, &v), 2);
	CHECK(v.holds && !v.handover && v.state == FSM_ACTIVE);
	hear(&ps, "c", FSM_ACTIVE, 60, PROTO_F_HOLDS | PROTO_F_HANDOVER |
	    X(PROTO_X_TARGET), 90);
	CHECK_EQ(peers_pick(&ps, 0, &f, NULL, true, 95, &v), 2);
	CHECK(v.handover);
	CHECK_EQ(v.heard_at, 90);

	/* nobody holds: a better candidate, a */
	hear(&ps, "c", FSM_STANDBY, 60, 0, 100);
	hear(&ps, "a", FSM_STANDBY, 200, 0, 100);
	hear(&ps, "b", FSM_STANDBY, 50, 0, 100);
	CHECK_STR(pick(&ps, &f, true, 110), "a");
	/* a dies: the machine had been shown a; its silence decides */
	f.peer_known = true;
	snprintf(f.peer.name, sizeof(f.peer.name), "a");
	hear(&ps, "b", FSM_STANDBY, 50, 0, 190);
	hear(&ps, "c", FSM_STANDBY, 60, 0, 190);
	CHECK_STR(pick(&ps, &f, true, 205), "-");
	/* shown a worse one that lives: the election (we win) */
	snprintf(f.peer.name, sizeof(f.peer.name), "c");
	CHECK_STR(pick(&ps, &f, true, 205), "c");
	/* in init, not before every link heard a node */
	me(&f, FSM_INIT, 100, 0);
	CHECK_STR(pick(&ps, &f, false, 205), "-");
	CHECK_STR(pick(&ps, &f, true, 205), "c");
	/* a leaving one (fault) once nothing else lives */
	hear(&ps, "c", FSM_FAULT, 60, 0, 300);
	CHECK_STR(pick(&ps, &f, true, 310), "c");
	hear(&ps, "b", FSM_STANDBY, 50, 0, 305);
	CHECK_STR(pick(&ps, &f, true, 310), "b");
	/* a better node in maintenance without the VIPs takes none: not waited for */
	me(&f, FSM_STANDBY, 100, 0);
	hear(&ps, "a", FSM_MAINTENANCE, 200, 0, 320);
	hear(&ps, "c", FSM_STANDBY, 60, 0, 320);
	CHECK_STR(pick(&ps, &f, true, 330), "c");

	/* active: the handover target is the best healthy candidate, or the named one */
	me(&f, FSM_ACTIVE, 100, 0);
	hear(&ps, "a", FSM_STANDBY, 200, PROTO_F_DEGRADED, 400);
	hear(&ps, "b", FSM_STANDBY, 50, 0, 400);
	hear(&ps, "c", FSM_STANDBY, 60, 0, 400);
	CHECK_STR(pick(&ps, &f, true, 410), "c");
	CHECK_EQ(peers_pick(&ps, 0, &f, "b", true, 410, &v), 1);
	CHECK_EQ(peers_pick(&ps, 0, &f, "nosuch", true, 410, &v), 2);
	CHECK_EQ(peers_count_live(&ps, 0, 410), 3);
	CHECK_EQ(peers_count_live(&ps, 0, 505), 0);

	/* at most PEERS_MAX others */
	for (int k = ps.n; k < PEERS_MAX; k++) {
		char n[16];

		snprintf(n, sizeof(n), "n%d", k);
		CHECK(peers_lookup(&ps, n) == k);
	}
	CHECK_EQ(peers_lookup(&ps, "onetoomany"), -1);
	CHECK_EQ(peers_lookup(&ps, "a"), 0);
}

/* Version 1 (a 0.1 pair) names no target: it means us, while we know one peer. */
static void
test_v1_implies_target(void)
{
	struct peers ps;
	struct fsm f;
	struct fsm_peer v;
	struct msg m = msg("old", FSM_STOPPING, 100, PROTO_F_HOLDS);

	m.version = 1;
	peers_init(&ps, DEAD, groups, 1);
	me(&f, FSM_STANDBY, 50, 0);
	peers_update(&ps, peers_lookup(&ps, "old"), &m, 0, 0, 10);
	CHECK_EQ(peers_pick(&ps, 0, &f, NULL, true, 20, &v), 0);
	CHECK_EQ(v.state, FSM_STOPPING);
	/* its group list changes only when its config does */
	CHECK(!peers_update(&ps, 0, &m, 0, 0, 30));
	m.ngroups = 0;
	CHECK(peers_update(&ps, 0, &m, 0, 0, 40));
	CHECK(!ps.p[0].groups[0].has);
	CHECK_EQ(peers_pick(&ps, 0, &f, NULL, true, 50, &v), -1);
}

/* peers_epoch() moves with what peers say and who lives, not with times */
static void
test_epoch(void)
{
	struct peers ps;
	uint64_t e;

	peers_init(&ps, DEAD, groups, 1);
	hear(&ps, "a", FSM_ACTIVE, 100, PROTO_F_HOLDS, 10);
	e = peers_epoch(&ps, 10);
	hear(&ps, "a", FSM_ACTIVE, 100, PROTO_F_HOLDS, 20);
	CHECK(peers_epoch(&ps, 20) == e);
	/* another word */
	hear(&ps, "a", FSM_ACTIVE, 100, PROTO_F_HOLDS | X(PROTO_X_KEY), 30);
	CHECK(peers_epoch(&ps, 30) != e);
	e = peers_epoch(&ps, 30);
	/* another node */
	hear(&ps, "b", FSM_STANDBY, 50, 0, 40);
	CHECK(peers_epoch(&ps, 40) != e);
	e = peers_epoch(&ps, 40);
	/* a dies, then lives again */
	hear(&ps, "b", FSM_STANDBY, 50, 0, 40 + DEAD);
	CHECK(peers_epoch(&ps, 40 + DEAD) != e);
	e = peers_epoch(&ps, 40 + DEAD);
	hear(&ps, "a", FSM_ACTIVE, 100, PROTO_F_HOLDS | X(PROTO_X_KEY), 50 + DEAD);
	CHECK(peers_epoch(&ps, 50 + DEAD) != e);
}

/* ---- a simulated cluster: fsm.c + peers.c per node, instant delivery ---- */

#define NMAX	5

static struct node {
	char		name[16];
	int		prio;
	bool		up;
	struct fsm	f;
	struct fsm_log	log;
	struct peers	ps;
	int		steady_from;	/* role.c's memo for fsm_peer_times() */
	uint64_t	steady_epoch;
} nodes[NMAX];
static int nn;
static uint64_t clock_ms;
static int overlaps;	/* ticks with two holders, none of them handing over */
static bool shortcuts;	/* sim_show() takes role.c's shortcuts */
static int times_taken;	/* messages fsm_peer_times() took */
static int delivered;	/* messages */
static uint64_t trace;	/* every node's state and holding, every tick */

static void
sim_start(int i)
{
	struct fsm_config c = { .priority = nodes[i].prio, .dead_ms = DEAD,
	    .init_dead_ms = 300, .preempt = true, .stop_timeout_ms = 400 };

	snprintf(c.name, sizeof(c.name), "%s", nodes[i].name);
	fsm_init(&nodes[i].f, &c, &nodes[i].log, clock_ms);
	peers_init(&nodes[i].ps, DEAD, groups, 1);
	nodes[i].up = true;
	nodes[i].steady_from = 0;
}

static void sim_deliver(int from);

static void
sim_feed(int i, enum fsm_event ev)
{
	unsigned acts = fsm_event(&nodes[i].f, ev, NULL, NULL, clock_ms);

	if (acts & ACT_SEND_NOW)
		sim_deliver(i);
}

/*
 * role.c's show(): the machine sees the peer that matters, when that is
 * news; with shortcuts, the same news only moves the peer's times.
 */
static void
sim_show(int i, int from)
{
	struct node *n = &nodes[i];
	uint64_t epoch = from >= 0 ? peers_epoch(&n->ps, clock_ms) : 0;
	struct fsm_peer v;
	int k;

	if (shortcuts && from >= 0 && n->steady_from == from + 1 &&
	    n->steady_epoch == epoch &&
	    fsm_peer_times(&n->f, n->ps.p[from].heard, n->ps.p[from].acked,
	    n->ps.p[from].hold_ms, clock_ms)) {
		times_taken++;
		return;
	}
	k = peers_pick(&n->ps, 0, &n->f, NULL, true, clock_ms, &v);
	if (k == -1 || (k != from && n->f.peer_known &&
	    strcmp(v.name, n->f.peer.name) == 0))
		return;
	if (shortcuts && fsm_peer_again(&n->f, &v, clock_ms)) {
		n->steady_from = from + 1;
		n->steady_epoch = epoch;
		return;
	}
	if (fsm_event(&n->f, EV_PEER, &v, NULL, clock_ms) & ACT_SEND_NOW)
		sim_deliver(i);
}

/* role.c's say() and link.c's per-link target */
static void
sim_deliver(int from)
{
	struct node *s = &nodes[from];
	const struct fsm *f = &s->f;

	for (int i = 0; i < nn; i++) {
		unsigned flags = 0;
		struct msg m;
		int pi;

		if (i == from || !nodes[i].up)
			continue;
		if (fsm_holds_vips(f))
			flags |= PROTO_F_HOLDS;
		if (f->handover)
			flags |= PROTO_F_HANDOVER;
		if (f->placed && f->state == FSM_ACTIVE)
			flags |= X(PROTO_X_PLACED);
		if (f->peer_known && (f->handover || f->state == FSM_STOPPING) &&
		    strcmp(f->peer.name, nodes[i].name) == 0)
			flags |= X(PROTO_X_TARGET);
		m = msg(s->name, f->state, f->eff_priority, flags);
		pi = peers_lookup(&nodes[i].ps, s->name);
		peers_update(&nodes[i].ps, pi, &m, clock_ms, 0, clock_ms);
		delivered++;
		sim_show(i, pi);
	}
}

static int
holders(int *who)
{
	int n = 0;

	for (int i = 0; i < nn; i++)
		if (nodes[i].up && fsm_holds_vips(&nodes[i].f)) {
			*who = i;
			n++;
		}
	return n;
}

/* Run for ms: every node sends every 10 ms and ticks its machine. */
static void
sim_run(uint64_t ms)
{
	for (uint64_t end = clock_ms + ms; clock_ms < end; clock_ms += 5) {
		int who, n, handing = 0;

		for (int i = 0; i < nn; i++) {
			if (!nodes[i].up)
				continue;
			sim_show(i, -1);
			if (fsm_next_deadline(&nodes[i].f) <= clock_ms)
				sim_feed(i, EV_TICK);
			if (clock_ms % 10 == 0)
				sim_deliver(i);
			if (nodes[i].f.state == FSM_STOPPING &&
			    !fsm_holds_vips(&nodes[i].f))
				nodes[i].up = false;	/* it exits */
		}
		for (int i = 0; i < nn; i++) {
			handing += nodes[i].up && (nodes[i].f.handover ||
			    nodes[i].f.state == FSM_STOPPING);
			trace = trace * 1000003 + (uint64_t)nodes[i].f.state * 4 +
			    nodes[i].up * 2 + fsm_holds_vips(&nodes[i].f);
		}
		if ((n = holders(&who)) > 1 && !handing)
			overlaps++;
	}
}

static int
holder(void)
{
	int who = -1;

	return holders(&who) == 1 ? who : -1;
}

static void
test_cluster(int count)
{
	static const int prio[NMAX] = { 150, 100, 120, 80, 90 };
	int h;

	nn = count;
	clock_ms = 1000;
	overlaps = 0;
	for (int i = 0; i < nn; i++) {
		snprintf(nodes[i].name, sizeof(nodes[i].name), "n%d", i);
		nodes[i].prio = prio[i];
		sim_start(i);
	}
	sim_run(1000);
	CHECK_EQ(holder(), 0);
	for (int i = 1; i < nn; i++)
		CHECK_EQ(nodes[i].f.state, FSM_STANDBY);
	/* the holder dies: the next best (n2, 120) takes over */
	nodes[0].up = false;
	sim_run(400);
	CHECK_EQ(holder(), 2);
	CHECK_STR(nodes[2].f.reason, "peer-dead");
	/* it returns: preempts back */
	sim_start(0);
	sim_run(1000);
	CHECK_EQ(holder(), 0);
	CHECK_STR(nodes[0].f.reason, "preempt");
	/* a graceful stop hands over to the best standby only */
	sim_feed(0, EV_STOP);
	sim_run(500);
	CHECK_EQ(holder(), 2);
	CHECK_STR(nodes[2].f.reason, "peer-resigned");
	CHECK(!nodes[0].up);
	/* a switchover goes to the best standby, n1 */
	sim_feed(2, EV_SWITCHOVER);
	sim_run(300);
	CHECK_EQ(holder(), 1);
	CHECK_STR(nodes[1].f.reason, "switchover");
	/* placed: n2 (120 > 100) does not preempt it */
	sim_run(1000);
	CHECK_EQ(holder(), 1);
	/* a fault hands over to the best remaining */
	sim_feed(1, EV_FAULT);
	sim_run(300);
	h = holder();
	CHECK_EQ(h, 2);
	CHECK_EQ(overlaps, 0);
}

/*
 * The shortcuts change nothing: the same cluster run with them ends every
 * tick in the same states, and every machine as it ends without them (but
 * for the mark they keep), while they take more messages than the holder
 * sends (a count-th of them): its, to every standby, and more.
 */
static void
test_cluster_shortcuts(int count)
{
	static struct fsm plain[NMAX];
	uint64_t plain_trace;

	shortcuts = false;
	trace = 0;
	test_cluster(count);
	plain_trace = trace;
	for (int i = 0; i < count; i++)
		plain[i] = nodes[i].f;
	shortcuts = true;
	trace = 0;
	times_taken = delivered = 0;
	test_cluster(count);
	CHECK(trace == plain_trace);
	for (int i = 0; i < count; i++) {
		nodes[i].f.again = plain[i].again;
		CHECK(memcmp(&nodes[i].f, &plain[i], sizeof(plain[i])) == 0);
	}
	CHECK(times_taken > delivered / count);
	shortcuts = false;
}

/* Active with the key in state key, having heard p at 1000. */
static void
active_knowing(struct fsm *f, const struct fsm_config *c, enum fsm_key key,
    const struct fsm_peer *p)
{
	fsm_init(f, c, &scratch_log, 0);
	f->state = FSM_ACTIVE;
	fsm_set_key(f, key);
	f->peer_known = true;
	f->peer = *p;
	f->peer_heard = 1000;
}

/* Just started, then hears p. */
static void
starting_hears(struct fsm *f, const struct fsm_config *c,
    const struct fsm_peer *p)
{
	fsm_init(f, c, &scratch_log, 0);
	fsm_event(f, EV_PEER, p, NULL, 10);
}

/* Quorum: two holders settle on the key holder; a lost key lets go. */
static void
test_quorum_rules(void)
{
	struct fsm_config c = { .priority = 100, .dead_ms = DEAD,
	    .init_dead_ms = 300, .preempt = true, .stop_timeout_ms = 400,
	    .quorum = true };
	struct fsm_peer p = { .state = FSM_ACTIVE, .holds = true, .priority = 200,
	    .acked_at = 1000 };
	struct fsm f;
	unsigned acts;

	snprintf(c.name, sizeof(c.name), "me");
	snprintf(p.name, sizeof(p.name), "other");
	/* we hold the key, the better peer does not: we stay, and announce */
	active_knowing(&f, &c, FSM_KEY_HELD, &p);
	acts = fsm_event(&f, EV_PEER, &p, NULL, 1010);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK(acts & ACT_ANNOUNCE);
	/* kept without the key (or waiting for a free one) against the key: we go */
	p.key = true;
	p.priority = 50;
	fsm_set_key(&f, FSM_KEY_KEYLESS);
	fsm_event(&f, EV_PEER, &p, NULL, 1020);
	CHECK(f.yielding);	/* make-before-break: once it heard us */
	p.acked_at = 1025;
	fsm_event(&f, EV_PEER, &p, NULL, 1025);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "dual-active");
	/* taking it over (a preemption): the election decides */
	active_knowing(&f, &c, FSM_KEY_TAKING, &p);
	fsm_event(&f, EV_PEER, &p, NULL, 1010);
	CHECK_EQ(f.state, FSM_ACTIVE);
	/* the key went to another node: let go, unless handing over to it */
	f.handover = true;
	CHECK_EQ(fsm_event(&f, EV_KEY_LOST, NULL, NULL, 1030), 0);
	CHECK_EQ(f.state, FSM_ACTIVE);
	f.handover = false;
	acts = fsm_event(&f, EV_KEY_LOST, NULL, NULL, 1040);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "key-lost");
	CHECK(acts & ACT_DEL_VIPS);

	/*
	 * Starting (a holder restarted within its lease): a peer active with
	 * neither VIPs nor key only waits for one; the election decides.
	 */
	p = (struct fsm_peer){ .state = FSM_ACTIVE, .priority = 50 };
	snprintf(p.name, sizeof(p.name), "other");
	starting_hears(&f, &c, &p);
	CHECK_EQ(f.state, FSM_ACTIVE);
	CHECK_STR(f.reason, "election");
	p.priority = 200;
	starting_hears(&f, &c, &p);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "election");
	/* with the key (its VIPs on their way up), or the VIPs: it is active */
	p.priority = 50;
	p.key = true;
	starting_hears(&f, &c, &p);
	CHECK_EQ(f.state, FSM_STANDBY);
	CHECK_STR(f.reason, "peer-active");
	p.key = false;
	p.holds = true;
	starting_hears(&f, &c, &p);
	CHECK_STR(f.reason, "peer-active");
	/* without quorum, active is active */
	c.quorum = false;
	p.holds = false;
	starting_hears(&f, &c, &p);
	CHECK_STR(f.reason, "peer-active");
}

int
main(void)
{
	test_quorum_rules();
	test_pick_rules();
	test_v1_implies_target();
	test_epoch();
	for (int n = 3; n <= NMAX; n++)
		test_cluster(n);
	for (int n = 3; n <= NMAX; n++)
		test_cluster_shortcuts(n);
	printf("test_peers: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed != 0;
}
