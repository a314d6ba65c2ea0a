/*
 * The failover state machine, table driven as in OpenBSD ospfd: each row
 * names the states it applies to, an event and a handler. Handlers change
 * only the state and flags; fsm_event() derives the VIP actions from
 * whether we held the VIPs before and after, so no handler can forget them.
 */
#include <stdio.h>
#include <string.h>

#include "fsm.h"
#include "hotpath.h"
#include "names.h"

#define S(x)	(1u << (FSM_##x))
#define ANY	(~0u)

typedef unsigned (*fsm_handler)(struct fsm *, const char *, uint64_t);

static const char *const state_names[FSM_NSTATES] = {
	"init", "standby", "active", "fault", "maintenance", "stopping"
};

const char *
fsm_state_name(enum fsm_state s)
{
	return (unsigned)s < FSM_NSTATES ? state_names[s] : "unknown";
}

int
fsm_state_parse(const char *name)
{
	for (int i = 0; i < FSM_NSTATES; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

/* Every reason go() is given, up to its ':' (faults.c adds the names). */
static const char *const reason_kinds[] = {
	"other", "startup", "election", "peer-active", "peer-dead",
	"peer-resigned", "peer-fault", "switchover", "preempt", "dual-active",
	"stalled", "shutdown", "maintenance", "maintenance-off", "fault-cleared",
	"fault", "check-failed", "interface-down", "hook-failed",
	"arbiter-unreachable", "no-heartbeat-link", "quorum-lost", "key-lost",
};
#define NKINDS	(sizeof(reason_kinds) / sizeof(reason_kinds[0]))

unsigned
fsm_reason_kind(const char *reason)
{
	size_t len = strcspn(reason, ":");

	for (unsigned k = 1; k < NKINDS; k++)
		if (strlen(reason_kinds[k]) == len &&
		    strncmp(reason, reason_kinds[k], len) == 0)
			return k;
	return 0;
}

const char *
fsm_reason_kind_name(unsigned kind)
{
	return kind < NKINDS ? reason_kinds[kind] : reason_kinds[0];
}

static void
count_transition(struct fsm_log *l, enum fsm_state from, enum fsm_state to,
    const char *reason)
{
	unsigned kind = fsm_reason_kind(reason), i;

	for (i = 0; i < l->ncounts; i++)
		if (l->counts[i].from == from && l->counts[i].to == to &&
		    l->counts[i].kind == kind)
			break;
	if (i == FSM_COUNTS_MAX) {
		l->counts_lost++;
		return;
	}
	if (i == l->ncounts)
		l->counts[l->ncounts++] = (struct fsm_count){ (uint8_t)from,
		    (uint8_t)to, (uint8_t)kind, 0 };
	l->counts[i].n++;
}

void
fsm_init(struct fsm *f, const struct fsm_config *cfg, struct fsm_log *log,
    uint64_t now)
{
	memset(f, 0, sizeof(*f));
	memset(log, 0, sizeof(*log));
	f->log = log;
	f->cfg = *cfg;
	f->state = f->prev = FSM_INIT;
	f->since = f->started = now;
	f->eff_priority = cfg->priority;
	snprintf(f->reason, sizeof(f->reason), "startup");
}

HOTPATH bool
fsm_wins(const struct fsm *f, const struct fsm_peer *p)
{
	if (f->eff_priority != p->priority)
		return f->eff_priority > p->priority;
	return strcmp(f->cfg.name, p->name) < 0;
}

HOTPATH bool
fsm_holds_vips(const struct fsm *f)
{
	switch (f->state) {
	case FSM_ACTIVE:
		return true;
	case FSM_MAINTENANCE:
		return f->maint_active;
	case FSM_STOPPING:
		return f->stop_holds;
	default:
		return false;
	}
}

/*
 * How long the last message keeps the peer alive: dead_ms, or longer when
 * it said it sends sparsely (standby in every group). An active peer sends
 * every interval_ms: a takeover still waits dead_ms only.
 */
HOTPATH static uint64_t
peer_deadline(const struct fsm *f)
{
	return f->peer_heard + (f->peer.hold_ms > f->cfg.dead_ms ?
	    f->peer.hold_ms : f->cfg.dead_ms);
}

HOTPATH static bool
peer_alive(const struct fsm *f, uint64_t now)
{
	return f->peer_known && now < peer_deadline(f);
}

HOTPATH bool
fsm_peer_alive(const struct fsm *f, uint64_t now)
{
	return peer_alive(f, now);
}

/*
 * Two-way evidence: the peer echoed a heartbeat we sent lately, after the
 * link was last silent. Hearing the peer is not enough to take anything
 * from it: after a link heal our own heartbeats may still wait for ARP
 * while we already hear it, and it would keep the VIPs we take. (Giving
 * the VIPs away needs no such check: we release only once the peer says it
 * holds them, which it does only after hearing our request.)
 */
static bool
peer_hears_us(const struct fsm *f, uint64_t now)
{
	return f->peer.acked_at && now - f->peer.acked_at < f->cfg.dead_ms;
}

/* The peer holds the VIPs and is not giving them up. */
HOTPATH static bool
peer_holds(const struct fsm_peer *p)
{
	if (p->state == FSM_ACTIVE)
		return p->holds && !p->handover;
	return p->state == FSM_MAINTENANCE && p->holds;
}

/* The peer is giving up (or cannot hold) the role: take over at once. */
HOTPATH static bool
peer_resigns(const struct fsm_peer *p)
{
	return p->state == FSM_STOPPING || p->state == FSM_FAULT ||
	    (p->state == FSM_ACTIVE && p->handover);
}

static const char *
resign_reason(const struct fsm_peer *p)
{
	if (p->handover)
		return "switchover";
	return p->state == FSM_FAULT ? "peer-fault" : "peer-resigned";
}

static unsigned
go(struct fsm *f, enum fsm_state to, const char *reason, uint64_t now)
{
	struct fsm_transition *t;

	if (to == f->state)
		return 0;
	t = &f->log->history[f->nhistory++ % FSM_HISTORY];
	t->from = f->state;
	t->to = to;
	t->at = now;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
	count_transition(f->log, f->state, to, reason);
	f->prev = f->state;
	f->state = to;
	f->since = now;
	f->preempt_at = 0;
	f->preempt_unheard = false;
	f->yielding = false;
	f->handover = false;
	f->arbiter_wait = false;
	f->placed = false;
	return ACT_NOTIFY | ACT_SEND_NOW;
}

/*
 * With an arbiter, a node claims the VIPs from a silent peer (or at start)
 * only if a target answered since: one cut off from everything must not.
 * The first time it asks, the targets are pinged at once (ACT_ARBITER), so
 * a connected node waits about one round trip, not an arbiter interval.
 */
static bool
arbiter_confirms(struct fsm *f, uint64_t since, unsigned *acts)
{
	*acts = 0;
	if (!f->cfg.arbiter || f->arbiter_reply >= since)
		return true;
	if (!f->arbiter_wait) {
		f->arbiter_wait = true;
		*acts = ACT_ARBITER;
	}
	return false;
}

/* The peer resigns to us; a switchover places us: nobody preempts that. */
static unsigned
take_handed_over(struct fsm *f, const struct fsm_peer *p, uint64_t now)
{
	unsigned acts = go(f, FSM_ACTIVE, resign_reason(p), now);

	f->placed = p->handover;
	return acts;
}

/* init: elect as soon as we hear the peer; claim after init_dead_ms of silence */
static unsigned standby_peer(struct fsm *, const char *, uint64_t);

static unsigned
init_peer(struct fsm *f, const char *why, uint64_t now)
{
	const struct fsm_peer *p = &f->peer;

	/*
	 * Quorum: active with neither the VIPs nor the key, it only waits
	 * for a key, maybe ours (a holder restarted within its lease's TTL
	 * adopts it): as if standby, else the key is given up to it for
	 * nothing and we preempt back.
	 */
	bool waits_for_key = f->cfg.quorum && p->state == FSM_ACTIVE &&
	    !peer_holds(p) && !p->key;

	if (peer_resigns(p))
		return take_handed_over(f, p, now);
	/* active (its VIPs may still be on their way up: hooks-first) */
	if (peer_holds(p) || (p->state == FSM_ACTIVE && !waits_for_key)) {
		unsigned acts = go(f, FSM_STANDBY, "peer-active", now);

		return acts | standby_peer(f, why, now);	/* preempt? */
	}
	/* a peer in maintenance without the VIPs will not take them */
	if (p->state == FSM_MAINTENANCE)
		return go(f, FSM_ACTIVE, "election", now);
	if (p->state == FSM_INIT || p->state == FSM_STANDBY || waits_for_key)
		return go(f, fsm_wins(f, p) ? FSM_ACTIVE : FSM_STANDBY,
		    "election", now);
	return 0;
}

static unsigned
init_tick(struct fsm *f, const char *why, uint64_t now)
{
	unsigned acts;

	if (now - f->started < f->cfg.init_dead_ms)
		return 0;
	if (!arbiter_confirms(f, f->started, &acts))
		return acts;
	return go(f, FSM_ACTIVE, "startup", now);
}

HOTPATH static unsigned
standby_peer(struct fsm *f, const char *why, uint64_t now)
{
	const struct fsm_peer *p = &f->peer;
	unsigned acts;

	f->fencing = f->fence_failed = false;	/* it lives: nothing to fence */
	/*
	 * Back from a freeze, we read what we missed: old news. Act on what
	 * the peer says once we run on time again (EV_RESUMED), or each
	 * message of the backlog flips us between active and standby.
	 */
	if (f->stalled)
		return 0;
	if (peer_resigns(p))
		return take_handed_over(f, p, now);
	if (!peer_holds(p)) {
		f->no_preempt = false;
		f->preempt_at = 0;
		f->preempt_unheard = false;
		/* nobody holds the VIPs: the election winner takes them */
		if (p->state == FSM_MAINTENANCE ||
		    ((p->state == FSM_STANDBY || p->state == FSM_INIT) &&
		    fsm_wins(f, p)))
			return go(f, FSM_ACTIVE, "election", now);
		return 0;
	}
	/*
	 * maintenance freezes the roles: no preempting a peer in it either;
	 * nor one an operator placed there (more than two nodes)
	 */
	if (!f->cfg.preempt || f->no_preempt || p->placed || !fsm_wins(f, p) ||
	    p->state == FSM_MAINTENANCE) {
		f->preempt_at = 0;
		f->preempt_unheard = false;
		return 0;
	}
	if (f->preempt_at == 0)
		f->preempt_at = now + f->cfg.preempt_delay_ms;
	if (now < f->preempt_at)
		return 0;
	/*
	 * The next message that echoes us decides. A standby sends sparsely:
	 * send now, so that the echo comes within one of the peer's heartbeats.
	 */
	if (!peer_hears_us(f, now)) {
		acts = f->preempt_unheard ? 0 : ACT_SEND_NOW;
		f->preempt_unheard = true;
		return acts;
	}
	return go(f, FSM_ACTIVE, "preempt", now);
}

/* The peer went silent: fence it first if so configured. */
static unsigned
take_over_dead_peer(struct fsm *f, uint64_t now)
{
	unsigned acts;

	/*
	 * A reply from after the peer's deadline: one from before could
	 * predate the cut that silenced it, which may have cut us off too.
	 */
	if (!arbiter_confirms(f, peer_deadline(f), &acts))
		return acts;
	/* fence hooks run first; EV_FENCED says how they went */
	if (f->cfg.fence == FSM_FENCE_OFF)
		return go(f, FSM_ACTIVE, "peer-dead", now);
	if (f->fencing || f->fence_failed)
		return 0;
	f->fencing = true;
	return ACT_FENCE;
}

static unsigned
fenced(struct fsm *f, const char *why, uint64_t now)
{
	if (!f->fencing)
		return 0;
	f->fencing = false;
	if (peer_alive(f, now))
		return 0;	/* it came back meanwhile: no takeover */
	if (why && f->cfg.fence == FSM_FENCE_REQUIRED) {
		f->fence_failed = true;
		snprintf(f->reason, sizeof(f->reason), "fence-failed");
		return 0;
	}
	return go(f, FSM_ACTIVE, "peer-dead", now);
}

static unsigned
standby_tick(struct fsm *f, const char *why, uint64_t now)
{
	if (!peer_alive(f, now))
		return take_over_dead_peer(f, now);
	if (f->preempt_at && now >= f->preempt_at)
		return standby_peer(f, why, now);
	return 0;
}

/*
 * Two holders: with quorum the one holding the key stays (the other kept
 * its VIPs without etcd, or waits for a key it will not get), unless this
 * node is taking the key over (a preemption): then the election decides,
 * as without quorum. Both sides reach the same answer.
 */
static bool
dual_wins(const struct fsm *f, const struct fsm_peer *p)
{
	bool mine = f->key == FSM_KEY_HELD || f->key == FSM_KEY_TAKING;

	if (f->cfg.quorum && mine != p->key)
		return mine;
	return fsm_wins(f, p);
}

/*
 * Quorum: the key went to another node: let go; in a handover only if
 * told so (why: the node we hand over to took it but was not heard
 * holding the VIPs in time).
 */
static unsigned
key_lost(struct fsm *f, const char *why, uint64_t now)
{
	if ((f->handover || f->state == FSM_STOPPING) && why == NULL)
		return 0;	/* the node we hand over to took it: it says when */
	if (f->state == FSM_STOPPING) {
		f->stop_holds = false;
		return ACT_EXIT;
	}
	return go(f, FSM_STANDBY, "key-lost", now);
}

HOTPATH static unsigned
active_peer(struct fsm *f, const char *why, uint64_t now)
{
	const struct fsm_peer *p = &f->peer;

	/*
	 * Frozen meanwhile: what we read now is old news (the peer's heartbeats
	 * from before it took over), and our VIPs may have expired. Claim and
	 * announce nothing; yield below if the peer holds the VIPs.
	 */
	if (f->stalled && !peer_holds(p))
		return 0;
	/*
	 * The peer was cut off or held the VIPs itself (it says it yielded:
	 * we may never have heard it hold them; or it let them go after
	 * handing over to us): clients may have been told its MAC meanwhile,
	 * or missed our first announcement, so tell them ours again.
	 */
	if (peer_resigns(p))	/* it waits to see us active: tell it now */
		return ACT_SEND_NOW | (f->peer_let_go ? ACT_ANNOUNCE : 0);
	if (!peer_holds(p)) {
		f->yielding = false;
		return f->peer_was_gone || f->peer_yield_news || f->peer_let_go ?
		    ACT_ANNOUNCE | ACT_SEND_NOW : 0;
	}
	if (f->handover) {
		f->no_preempt = true;
		return go(f, FSM_STANDBY, "switchover", now);
	}
	/* frozen while the peer took over: it serves now; preempt takes it back */
	if (f->stalled)		/* stays set: standby_peer() waits for EV_RESUMED */
		return go(f, FSM_STANDBY, "stalled", now);
	/* both active (a healed partition, or a preemption): one heartbeat decides */
	if (dual_wins(f, p))
		return ACT_ANNOUNCE | ACT_SEND_NOW;
	/* heard a heartbeat ago without the VIPs: it preempted us, no split brain */
	if (!f->peer_was_gone)
		return go(f, FSM_STANDBY, "preempt", now);
	/*
	 * A healed partition, and the peer wins. Clients on our side know our
	 * MAC: keep serving until the winner has heard us active, which makes
	 * it announce its VIPs (make-before-break), or for dead_ms at most.
	 */
	if (!f->yielding) {
		f->yielding = true;
		f->yield_since = now;
		return ACT_SEND_NOW;
	}
	if (p->acked_at >= f->yield_since ||
	    now >= f->yield_since + f->cfg.dead_ms)
		return go(f, FSM_STANDBY, "dual-active", now);
	return 0;
}

static unsigned
active_tick(struct fsm *f, const char *why, uint64_t now)
{
	if (f->yielding && now >= f->yield_since + f->cfg.dead_ms)
		return go(f, FSM_STANDBY, "dual-active", now);
	if (f->handover && now >= f->handover_deadline) {
		f->handover = false;	/* the peer never took over: keep serving */
		return ACT_SEND_NOW;
	}
	return 0;
}

static unsigned
active_switchover(struct fsm *f, const char *why, uint64_t now)
{
	if (!fsm_can_switchover(f, now, NULL))
		return 0;
	f->handover = true;
	f->handover_deadline = now + 2 * f->cfg.dead_ms + f->cfg.stop_timeout_ms;
	return ACT_SEND_NOW;
}

/* make-before-break: keep the VIPs until the peer says it holds them */
static unsigned
hand_over_and_stop(struct fsm *f, const char *why, uint64_t now)
{
	unsigned acts;

	f->stop_holds = fsm_holds_vips(f) && peer_alive(f, now) &&
	    f->peer.state == FSM_STANDBY;
	if (f->stop_holds) {
		/* go() checks holds via state; keep the flag across it */
		acts = go(f, FSM_STOPPING, "shutdown", now);
		f->stop_deadline = now + f->cfg.stop_timeout_ms;
		return acts;
	}
	return go(f, FSM_STOPPING, "shutdown", now) | ACT_EXIT;
}

static unsigned
stopping_peer(struct fsm *f, const char *why, uint64_t now)
{
	if (f->stop_holds && peer_holds(&f->peer)) {
		f->stop_holds = false;
		return ACT_EXIT;
	}
	return 0;
}

static unsigned
stopping_tick(struct fsm *f, const char *why, uint64_t now)
{
	if (now >= f->stop_deadline || !peer_alive(f, now)) {
		f->stop_holds = false;
		return ACT_EXIT;
	}
	return 0;
}

static unsigned
to_fault(struct fsm *f, const char *why, uint64_t now)
{
	f->faulted = true;
	return go(f, FSM_FAULT, why ? why : "fault", now);
}

static unsigned
note_fault(struct fsm *f, const char *why, uint64_t now)
{
	f->faulted = true;	/* maintenance: acted on when it ends */
	return 0;
}

static unsigned
fault_clear(struct fsm *f, const char *why, uint64_t now)
{
	f->faulted = false;
	if (f->state != FSM_FAULT)
		return 0;
	f->started = now;	/* elect again, as at start */
	return go(f, FSM_INIT, "fault-cleared", now);
}

static unsigned
maint_on(struct fsm *f, const char *why, uint64_t now)
{
	f->maint_active = fsm_holds_vips(f);
	return go(f, FSM_MAINTENANCE, "maintenance", now);
}

static unsigned
maint_off(struct fsm *f, const char *why, uint64_t now)
{
	if (f->faulted)
		return go(f, FSM_FAULT, "maintenance-off", now);
	return go(f, f->maint_active ? FSM_ACTIVE : FSM_STANDBY,
	    "maintenance-off", now);
}

static unsigned
priority_changed(struct fsm *f, const char *why, uint64_t now)
{
	unsigned acts = ACT_SEND_NOW;

	if (f->state == FSM_STANDBY && peer_alive(f, now))
		acts |= standby_peer(f, why, now);
	return acts;
}

static unsigned
stalled(struct fsm *f, const char *why, uint64_t now)
{
	f->stalled = true;
	return 0;
}

static unsigned
resumed(struct fsm *f, const char *why, uint64_t now)
{
	f->stalled = false;
	return 0;
}

static const struct {
	unsigned	states;
	enum fsm_event	event;
	fsm_handler	fn;
} fsm_table[] = {
	{ S(INIT),		EV_PEER,	init_peer },
	{ S(INIT),		EV_TICK,	init_tick },
	{ S(STANDBY),		EV_PEER,	standby_peer },
	{ S(STANDBY),		EV_TICK,	standby_tick },
	{ S(ACTIVE),		EV_PEER,	active_peer },
	{ S(ACTIVE),		EV_TICK,	active_tick },
	{ S(ACTIVE),		EV_SWITCHOVER,	active_switchover },
	{ S(STOPPING),		EV_PEER,	stopping_peer },
	{ S(STOPPING),		EV_TICK,	stopping_tick },
	{ ANY & ~S(STOPPING),	EV_STOP,	hand_over_and_stop },
	{ S(INIT) | S(STANDBY) | S(ACTIVE), EV_FAULT, to_fault },
	{ S(MAINTENANCE),	EV_FAULT,	note_fault },
	{ ANY,			EV_FAULT_CLEAR,	fault_clear },
	{ S(INIT) | S(STANDBY) | S(ACTIVE) | S(FAULT), EV_MAINT_ON, maint_on },
	{ S(MAINTENANCE),	EV_MAINT_OFF,	maint_off },
	{ S(STANDBY) | S(ACTIVE), EV_PRIORITY,	priority_changed },
	{ S(STANDBY),		EV_FENCED,	fenced },
	{ ANY,			EV_STALLED,	stalled },
	{ ANY,			EV_RESUMED,	resumed },
	{ S(INIT),		EV_ARBITER,	init_tick },
	{ S(STANDBY),		EV_ARBITER,	standby_tick },
	{ S(ACTIVE) | S(STOPPING), EV_KEY_LOST, key_lost },
};

/* When a message was heard: its own time (0: now), never in our future. */
HOTPATH static uint64_t
heard_time(uint64_t heard_at, uint64_t now)
{
	return heard_at && heard_at <= now ? heard_at : now;
}

/* What EV_PEER learns before its handler runs. */
HOTPATH static void
take_peer(struct fsm *f, const struct fsm_peer *peer, uint64_t now)
{
	/* what we knew before this message, for active_peer(); a node we
	   were not shown before counts as silent until now */
	f->peer_was_gone = !peer_alive(f, now) || peer_holds(&f->peer) ||
	    !name_eq(f->peer.name, peer->name);
	f->peer_yield_news = peer->yielded &&
	    (!f->peer.yielded || !name_eq(f->peer.name, peer->name));
	f->peer_let_go = f->peer.holds && !peer->holds &&
	    name_eq(f->peer.name, peer->name);
	f->peer = *peer;
	f->peer_known = true;
	f->peer_heard = heard_time(peer->heard_at, now);
	f->arbiter_wait = false;	/* no claim pending: it lives */
}

/* Everything a message says but its times. */
HOTPATH static bool
same_news(const struct fsm_peer *a, const struct fsm_peer *b)
{
	return name_eq(a->name, b->name) && a->state == b->state &&
	    a->priority == b->priority && a->handover == b->handover &&
	    a->holds == b->holds && a->degraded == b->degraded &&
	    a->yielded == b->yielded && a->placed == b->placed &&
	    a->key == b->key && a->keyless == b->keyless;
}

/*
 * The steady states, where EV_PEER with the same news only moves the
 * peer's times: standby beside a holder it does not preempt
 * (standby_peer()), active beside a live standby (active_peer()). The
 * writes are theirs; test_fsm checks the outcome against EV_PEER.
 */
HOTPATH bool
fsm_peer_again(struct fsm *f, const struct fsm_peer *p, uint64_t now)
{
	if (!f->peer_known || !peer_alive(f, now) || f->stalled ||
	    !same_news(&f->peer, p) || peer_resigns(p))
		return false;
	switch (f->state) {
	case FSM_STANDBY:
		if (!peer_holds(p) || (f->cfg.preempt && !f->no_preempt &&
		    !p->placed && fsm_wins(f, p) && p->state != FSM_MAINTENANCE))
			return false;
		f->fencing = f->fence_failed = false;
		f->preempt_at = 0;
		f->preempt_unheard = false;
		break;
	case FSM_ACTIVE:
		if (peer_holds(p))
			return false;
		f->yielding = false;
		break;
	default:
		return false;
	}
	take_peer(f, p, now);
	f->again = true;
	return true;
}

/* take_peer() of the same news: only the times move. */
HOTPATH bool
fsm_peer_times(struct fsm *f, uint64_t heard_at, uint64_t acked_at,
    unsigned hold_ms, uint64_t now)
{
	if (!f->again || !peer_alive(f, now))
		return false;
	f->peer.heard_at = heard_at;
	f->peer.acked_at = acked_at;
	f->peer.hold_ms = hold_ms;
	f->peer_heard = heard_time(heard_at, now);
	return true;
}

HOTPATH unsigned
fsm_event(struct fsm *f, enum fsm_event ev, const struct fsm_peer *peer,
    const char *reason, uint64_t now)
{
	bool held = fsm_holds_vips(f);
	unsigned acts = 0;

	f->again = false;
	if (ev == EV_PEER) {
		if (peer == NULL)
			return 0;
		take_peer(f, peer, now);
	}
	if (ev == EV_ARBITER) {
		f->arbiter_reply = now;
		if (!f->arbiter_wait)
			return 0;
		f->arbiter_wait = false;
	}
	for (size_t i = 0; i < sizeof(fsm_table) / sizeof(fsm_table[0]); i++) {
		if ((fsm_table[i].states & (1u << f->state)) &&
		    fsm_table[i].event == ev) {
			acts = fsm_table[i].fn(f, reason, now);
			break;
		}
	}
	if (!held && fsm_holds_vips(f))
		acts |= ACT_ADD_VIPS | ACT_ANNOUNCE | ACT_PROMOTE | ACT_SEND_NOW;
	else if (held && !fsm_holds_vips(f))
		acts |= ACT_DEL_VIPS | ACT_DEMOTE | ACT_SEND_NOW;
	return acts;
}

unsigned
fsm_set_priority(struct fsm *f, int eff, uint64_t now)
{
	if (eff == f->eff_priority)
		return 0;
	f->eff_priority = eff;
	return fsm_event(f, EV_PRIORITY, NULL, NULL, now);
}

void
fsm_set_key(struct fsm *f, enum fsm_key k)
{
	f->again = false;
	f->key = k;
}

void
fsm_no_preempt(struct fsm *f)
{
	f->again = false;
	f->no_preempt = true;
}

/* The effective priority stays: the caller works out the new one (checks). */
void
fsm_reconfigure(struct fsm *f, const struct fsm_config *c)
{
	f->again = false;
	f->cfg = *c;
}

bool
fsm_can_switchover(const struct fsm *f, uint64_t now, const char **why)
{
	const char *w = NULL;

	if (f->state != FSM_ACTIVE)
		w = "this node is not active";
	else if (!peer_alive(f, now))
		w = "the peer is not heard";
	else if (f->peer.state != FSM_STANDBY)
		w = "the peer is not standby";
	else if (f->peer.degraded)
		w = "the peer's health checks are failing";
	else if (f->handover)
		w = "a switchover is already under way";
	if (why)
		*why = w;
	return w == NULL;
}

HOTPATH static uint64_t
earliest(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

HOTPATH uint64_t
fsm_next_deadline(const struct fsm *f)
{
	uint64_t d = 0;

	switch (f->state) {
	case FSM_INIT:
		if (!f->arbiter_wait)
			d = f->started + f->cfg.init_dead_ms;
		break;
	case FSM_STANDBY:
		if (f->peer_known && !f->fencing && !f->fence_failed &&
		    !f->arbiter_wait)
			d = peer_deadline(f);
		if (!f->preempt_unheard)
			d = earliest(d, f->preempt_at);
		break;
	case FSM_ACTIVE:
		if (f->handover)
			d = f->handover_deadline;
		if (f->yielding)
			d = earliest(d, f->yield_since + f->cfg.dead_ms);
		break;
	case FSM_STOPPING:
		if (f->stop_holds)
			d = earliest(f->stop_deadline, peer_deadline(f));
		break;
	default:
		break;
	}
	return d ? d : UINT64_MAX;
}
