/*
 * Carrying out what each VIP group's state machine decides: its VIPs
 * (through holder.c), its hooks, and what the heartbeats say about every
 * group; what the peer says goes to each group it names. Node-wide events
 * (stop, maintenance, a freeze) go to every group.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arbiter.h"
#include "failoverd.h"
#include "holder.h"
#include "hooks.h"
#include "hotpath.h"
#include "log.h"
#include "loop.h"
#include "names.h"
#include "peers.h"
#include "proto.h"
#include "quorum.h"
#include "sdnotify.h"
#include "vip.h"

static HOTDATA struct loop_timer hb_timer;
static HOTDATA bool ready_sent;
static HOTDATA uint64_t hb_due;	/* when the heartbeat tick is due */
static HOTDATA uint64_t hb_due_boot; /* the same on CLOCK_BOOTTIME (counts suspend) */
static HOTDATA uint64_t hb_watch; /* the loop must have run by then (stall watch) */
static HOTDATA uint64_t hb_sent; /* when the last heartbeat went out */
static HOTDATA unsigned hb_said; /* the send period it told the peer */
static HOTDATA bool stalled;	/* every group's FSM has been told */
/* the other nodes, as they describe themselves; page-aligned: a message
   reads its head and the sender's first lines (peers.h) */
static struct peers peers __attribute__((aligned(4096)));
static HOTDATA bool keyless;		/* quorum lost, VIPs kept: we hear every peer */
static uint64_t keyless_flagged;	/* ms; the first heartbeat saying so (0: none) */

static bool check_stall(uint64_t now);
static unsigned heartbeat_period(void);
static unsigned arm_tick(void);
static void watch_from(uint64_t now, unsigned ms);
static uint64_t next_send(unsigned p);
static void heartbeat_tick(void *);
static void feed(struct vgroup *, enum fsm_event, const struct fsm_peer *,
    const char *reason);

HOTPATH static const struct cfg_group *
gcfg(const struct vgroup *g)
{
	return &d.cfg.groups[g->idx];
}

HOTPATH static const char *
gname(const struct vgroup *g)
{
	return gcfg(g)->name;
}

static void
vips_text(const struct vgroup *g, char *buf, size_t len)
{
	const struct cfg_group *cg = gcfg(g);
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < cg->nvips && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? " " : "", d.cfg.vips[cg->first_vip + i].text);
}

_Static_assert(CFG_MAX_GROUPS <= PROTO_MAX_GROUPS, "a message carries every group");
_Static_assert(sizeof(((struct cfg_group *)0)->name) == PROTO_NAME_LEN &&
    sizeof(((struct fsm_peer *)0)->name) == PROTO_NAME_LEN,
    "names are copied whole");

/* a node with only the implicit group speaks 0.1's format: rolling upgrade */
HOTPATH static bool
speaks_v2(void)
{
	/* more nodes need version 2's per-link handover target */
	return d.cfg.groups_explicit || d.peer_v2 || peers.n > 1;
}

/* What the heartbeats say: every group's state, sent on every link. */
HOTPATH static void
say(void)
{
	struct msg m;
	char to[PROTO_MAX_GROUPS][PROTO_NAME_LEN];
	bool targets = false, flagged = false;
	unsigned period = heartbeat_period();

	/* each record is written whole below; the ones after stay untouched */
	memset(&m, 0, offsetof(struct msg, groups));
	m.version = speaks_v2() ? 2 : 1;
	/* a huge dead_ms / 2: we then send as often as we can say */
	m.period_ms = (uint16_t)(period > UINT16_MAX ? UINT16_MAX : period);
	m.ngroups = d.ngroups;
	for (int i = 0; i < d.ngroups; i++) {
		const struct vgroup *g = &d.groups[i];
		struct msg_group *mg = &m.groups[i];

		to[i][0] = '\0';
		if (g->fsm.peer_known && (g->fsm.handover ||
		    g->fsm.state == FSM_STOPPING)) {
			memcpy(to[i], g->fsm.peer.name, PROTO_NAME_LEN);
			targets = true;
		}

		*mg = (struct msg_group){ .state = (uint8_t)g->fsm.state,
		    .priority = (uint8_t)g->fsm.eff_priority };
		memcpy(mg->name, gname(g), sizeof(mg->name));
		if (gcfg(g)->preempt)
			mg->flags |= PROTO_F_PREEMPT;
		if (g->fsm.state == FSM_MAINTENANCE)
			mg->flags |= PROTO_F_MAINTENANCE;
		if (g->fsm.handover)
			mg->flags |= PROTO_F_HANDOVER;
		if (holder_usable(&g->vips) && fsm_holds_vips(&g->fsm))
			mg->flags |= PROTO_F_HOLDS;
		if (g->fsm.eff_priority < gcfg(g)->priority)
			mg->flags |= PROTO_F_DEGRADED;
		if (g->fsm.placed && g->fsm.state == FSM_ACTIVE && m.version >= 2)
			mg->xflags |= PROTO_X_PLACED;
		if (quorum_held(i))
			mg->xflags |= PROTO_X_KEY;
		/* renewed beyond the lease: a taker waits for our copy to go */
		if (keyless && holder_usable(&g->vips)) {
			mg->xflags |= PROTO_X_KEYLESS;
			flagged = true;
		}
		/* until the peer echoes one of these (see role_peer_message) */
		if (g->yielded_at)
			mg->flags |= PROTO_F_YIELDED;
		/* 0.1 ignores it; a newer peer answers in version 2 */
		if (m.version == 1)
			mg->flags |= PROTO_F_V2;
	}
	/* before the send: the echo of this one is stamped later */
	if (!flagged)
		keyless_flagged = 0;
	else if (!keyless_flagged)
		keyless_flagged = now_ms();
	link_send_all(&m, targets ? to : NULL);
	hb_sent = now_ms();
	hb_said = m.period_ms;
}

static void run_hooks_for(struct vgroup *, const char *kind,
    const struct fsm_transition *, hooks_done_cb, void *arg);

static void
hook_done(void *arg, const char *kind, bool ok, const char *failed)
{
	struct vgroup *g = arg;

	if (strcmp(kind, "promote") != 0)
		return;
	if (!ok) {
		g->promote_gate = false;
		faults_hook_failed(g->idx, failed ? failed : "?");
		return;
	}
	/* hooks-first: the VIPs come up only now, if still wanted */
	if (g->promote_gate && fsm_holds_vips(&g->fsm)) {
		g->promote_gate = false;
		holder_up(&g->vips);
		say();
	}
}

/* A fence job's arg: its group and round (a later fencing makes it moot). */
#define FENCE_ARG(gi, round)	((void *)((uintptr_t)(round) << 6 | (uintptr_t)(gi)))
#define FENCE_GROUP(arg)	((int)((uintptr_t)(arg) & 63))
#define FENCE_ROUND(arg)	((uintptr_t)(arg) >> 6)
_Static_assert(CFG_MAX_GROUPS <= 64, "FENCE_ARG");

static void
fence_done(void *arg, const char *kind, bool ok, const char *failed)
{
	struct vgroup *g = &d.groups[FENCE_GROUP(arg)];
	char why[FSM_REASON_MAX + 32];

	/* a verdict on the peer's earlier death says nothing about this one */
	if (FENCE_ROUND(arg) != g->fence_round)
		return;
	if (ok)
		log_info("group %s: fencing of %s done", gname(g),
		    g->fsm.peer.name);
	else {
		snprintf(why, sizeof(why), "fence hook %s failed", failed ? failed : "?");
		log_warnx("group %s: FENCING FAILED: %s; %s", gname(g), why,
		    d.cfg.fence == FENCE_REQUIRED ?
		    "NOT taking over (cluster.fence = \"required\")" :
		    "taking over anyway (cluster.fence = \"optional\")");
	}
	feed(g, EV_FENCED, NULL, ok ? NULL : why);
}

/* fence = "optional" with nothing in fence.d: nothing to wait for */
static void
fence_none(void *arg)
{
	feed(arg, EV_FENCED, NULL, NULL);
}

/* Hooks of one transition see that transition, not whatever came later. */
static void
run_hooks_for(struct vgroup *g, const char *kind, const struct fsm_transition *t,
    hooks_done_cb done, void *arg)
{
	char vips[4096];
	struct hook_env env = {
		.event = kind,
		.state = fsm_state_name(t ? t->to : g->fsm.state),
		.prev_state = fsm_state_name(t ? t->from : g->fsm.prev),
		.reason = t ? t->reason : g->fsm.reason,
		.node = d.cfg.node_name,
		.peer = g->fsm.peer_known ? g->fsm.peer.name : "",
		.vips = vips,
		.group = gname(g),
		.cluster_id = d.cfg.cluster_id,
	};

	vips_text(g, vips, sizeof(vips));
	env.require_one = strcmp(kind, "fence") == 0 && d.cfg.fence == FENCE_REQUIRED;
	if (hooks_run(kind, &env, done, arg) == -1)
		log_warnx("group %s: cannot queue %s hooks", gname(g), kind);
}

/* how long a graceful stop waits for the peer to take the VIPs */
unsigned
role_stop_timeout_ms(const struct config *c)
{
	return c->dead_ms * 4 > 2000 ? c->dead_ms * 4 : 2000;
}

static void
release(struct vgroup *g)
{
	g->promote_after_ready = false;
	holder_release(&g->vips);
}

void
role_release_all(void)
{
	for (int i = 0; i < d.ngroups; i++)
		if (fsm_holds_vips(&d.groups[i].fsm))
			release(&d.groups[i]);
}

/* Every VIP usable: clients may be told, and the peer may let go of its copy. */
static void
vips_ready(void *arg)
{
	struct vgroup *g = arg;

	holder_announce(&g->vips);
	say();
	if (g->promote_after_ready) {
		g->promote_after_ready = false;
		run_hooks_for(g, "promote", NULL, hook_done, g);
	}
}

/* systemd's STATUS=: every group's state */
void
role_status_line(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (d.ngroups == 1 && !d.cfg.groups_explicit) {
		snprintf(buf, len, "%s (%s)", fsm_state_name(d.groups[0].fsm.state),
		    d.groups[0].fsm.reason);
		return;
	}
	for (int i = 0; i < d.ngroups && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s",
		    i ? ", " : "", gname(&d.groups[i]),
		    fsm_state_name(d.groups[i].fsm.state));
}

bool
role_stopping(void)
{
	return d.ngroups > 0 && d.groups[0].fsm.state == FSM_STOPPING;
}

/*
 * Quorum: whom to take group g's key from, make-before-break: a live
 * holder that hands the group to us, or one we preempt (we win); else
 * nobody (the key is taken only once free: a dead holder's lease expired).
 */
static const char *
key_from(const struct vgroup *g)
{
	const struct fsm *f = &g->fsm;
	const struct fsm_peer *p = &f->peer;

	if (!f->peer_known || now_ms() - f->peer_heard >= d.cfg.dead_ms ||
	    !p->key)
		return NULL;
	/* shown handing over or stopping only when it is meant for us */
	if (p->handover || p->state == FSM_STOPPING ||
	    (f->state == FSM_ACTIVE && strcmp(f->reason, "preempt") == 0))
		return p->name;
	return NULL;
}

/*
 * A holder that kept its VIPs without the key (etcd lost, keep-while-
 * peers) renews them for 1 s at a time and releases once it stops hearing
 * every peer: its copy may outlive its silence by dead_ms, KEEP_SLACK_MS
 * and that second with the kernel's lateness. The key is free meanwhile:
 * wait that long.
 */
#define KEYLESS_GRACE_MS	2000

static void want_key(struct vgroup *);

static void
key_timer_tick(void *arg)
{
	struct vgroup *g = arg;

	if (g->key_gate)
		want_key(g);
}

/*
 * Until when a node taking group g waits: the grace after the last word of
 * any peer that said it kept g without the key (not only the peer its
 * machine is shown now: that may change to another node meanwhile).
 */
static uint64_t
keyless_wait_until(const struct vgroup *g)
{
	uint64_t after = 0;

	for (int i = 0; i < peers.n; i++) {
		const struct peer *p = &peers.p[i];

		if (p->groups[g->idx].has && p->groups[g->idx].view.keyless &&
		    p->heard + d.cfg.dead_ms + KEYLESS_GRACE_MS > after)
			after = p->heard + d.cfg.dead_ms + KEYLESS_GRACE_MS;
	}
	return after;
}

static void
want_key(struct vgroup *g)
{
	const char *from = key_from(g);
	uint64_t after = keyless_wait_until(g);

	fsm_set_key(&g->fsm, from ? FSM_KEY_TAKING : FSM_KEY_WAIT);
	if (!from && now_ms() < after) {
		loop_timer_set(&g->key_timer, after, key_timer_tick, g);
		return;
	}
	quorum_want(g->idx, from);
}

/*
 * Quorum: holding the VIPs while another node has the key, outside a
 * handover (its target took it but we never heard it hold, say): let go.
 * now: the caller's (a clock read per group and tick adds up).
 */
HOTPATH static void
key_check(struct vgroup *g, uint64_t now)
{
	bool handing = g->fsm.handover || g->fsm.state == FSM_STOPPING;
	const char *h;

	if (!quorum_enabled() || !fsm_holds_vips(&g->fsm) || g->key_gate ||
	    quorum_held(g->idx)) {
		g->key_moved_at = 0;
		return;
	}
	/* handing over: the target took the key, it adds the VIPs next */
	if (handing && now - g->key_polled >= 100) {
		g->key_polled = now;
		quorum_refresh(g->idx);
	}
	h = quorum_holder(g->idx);
	if (!h[0] || name_eq(h, d.cfg.node_name)) {
		g->key_moved_at = 0;
		return;
	}
	if (handing && g->key_moved_at == 0)
		g->key_moved_at = now;
	/* ... and says so within dead_ms, or we stop waiting to hear it */
	if (handing && now - g->key_moved_at < d.cfg.dead_ms)
		return;
	log_warnx("group %s: %s holds its quorum key: releasing", gname(g), h);
	feed(g, EV_KEY_LOST, NULL, handing ? "not heard" : NULL);
}

HOTPATH static void
apply(struct vgroup *g, unsigned acts)
{
	char status[512];

	if (acts & ACT_NOTIFY) {
		/* READY once we have a role, not merely once we run */
		role_status_line(status, sizeof(status));
		sdnotify("%s%sSTATUS=%s", ready_sent ? "" : "READY=1\n",
		    g->fsm.state == FSM_STOPPING ? "STOPPING=1\n" : "", status);
		ready_sent = true;
	}
	if ((acts & ACT_FENCE) && d.cfg.fence == FENCE_OPTIONAL &&
	    hooks_count("fence") == 0)
		loop_timer_set(&g->fence_timer, now_ms(), fence_none, g);
	else if (acts & ACT_FENCE)
		run_hooks_for(g, "fence", NULL, fence_done,
		    FENCE_ARG(g - d.groups, ++g->fence_round));
	if (acts & ACT_ARBITER) {
		log_info("group %s: peer %s silent: taking over once an arbiter "
		    "target answers", gname(g), g->fsm.peer_known ?
		    g->fsm.peer.name : "(unknown)");
		arbiter_probe();
	}
	/* quorum: nothing comes up before the group's key is ours */
	if ((acts & ACT_ADD_VIPS) && quorum_enabled() && !quorum_held(g->idx)) {
		g->key_gate = true;
		g->key_promote |= (acts & ACT_PROMOTE) != 0;
		acts &= ~(unsigned)(ACT_ADD_VIPS | ACT_ANNOUNCE | ACT_PROMOTE);
		want_key(g);
	}
	if ((acts & ACT_ADD_VIPS) && d.cfg.hooks_order == HOOKS_HOOKS_FIRST) {
		/* promote hooks gate the VIPs: hook_done() brings them up */
		g->promote_gate = true;
		acts &= ~(unsigned)ACT_ANNOUNCE;
	} else if (acts & ACT_ADD_VIPS)
		holder_up(&g->vips);
	else if (acts & ACT_ANNOUNCE)
		holder_announce(&g->vips);
	if (acts & ACT_DEL_VIPS) {
		g->promote_gate = g->key_gate = g->key_promote = false;
		release(g);
		fsm_set_key(&g->fsm, FSM_KEY_NONE);
		quorum_drop(g->idx);	/* after the VIPs went */
	}
	/* after the VIPs changed: the peer learns the outcome, not the intent */
	if (acts & ACT_SEND_NOW)
		say();
	/* vip-first: promote hooks see usable VIPs (IPv6 may need a moment) */
	if ((acts & ACT_PROMOTE) && !g->promote_gate &&
	    !holder_usable(&g->vips) && fsm_holds_vips(&g->fsm))
		g->promote_after_ready = true;
	else if (acts & ACT_PROMOTE)
		run_hooks_for(g, "promote", NULL, hook_done, g);
	if (acts & ACT_DEMOTE)
		run_hooks_for(g, "demote", NULL, hook_done, g);
	/* one event may pass through two states (init -> standby -> active) */
	for (; g->notified < g->fsm.nhistory; g->notified++) {
		const struct fsm_transition *t =
		    &g->fsm.log->history[g->notified % FSM_HISTORY];

		if (d.cfg.groups_explicit)
			log_info("group %s: state %s -> %s (%s)", gname(g),
			    fsm_state_name(t->from), fsm_state_name(t->to),
			    t->reason);
		else
			log_info("state %s -> %s (%s)", fsm_state_name(t->from),
			    fsm_state_name(t->to), t->reason);
		run_hooks_for(g, "notify", t, hook_done, g);
	}
	/* a handover started or ended: who has the key now? */
	if (g->was_handover != g->fsm.handover) {
		g->was_handover = g->fsm.handover;
		quorum_refresh(g->idx);
	}
	/* switchover GROUP NODE: the operator's choice ends with its handover */
	if (g->switching && !g->fsm.handover) {
		g->switching = false;
		g->switch_to[0] = '\0';
	}
	if (acts & ACT_EXIT)
		g->exit_ok = true;
	if (acts & ACT_EXIT) {
		bool all = true;

		for (int i = 0; i < d.ngroups; i++)
			all &= d.groups[i].exit_ok;
		d.exiting = all;
	}
}

static void show(struct vgroup *, int from, uint64_t epoch, uint64_t now);
static HOTDATA bool feeding_all;	/* feed(): arm_tick() after the last group */

static void
fsm_tick(void *arg)
{
	struct vgroup *g = arg;
	uint64_t now = now_ms();

	/* a peer silent "for dead_ms" while we were frozen may be alive */
	if (check_stall(now)) {
		loop_timer_set(&g->fsm_timer, now + d.cfg.interval_ms,
		    fsm_tick, g);
		return;
	}
	show(g, -1, 0, now);	/* a peer may have died: whom the machine sees changes */
	feed(g, EV_TICK, NULL, NULL);
}

HOTPATH static void
schedule(struct vgroup *g)
{
	uint64_t next = fsm_next_deadline(&g->fsm);

	if (next == UINT64_MAX)
		loop_timer_cancel(&g->fsm_timer);
	else
		loop_timer_set(&g->fsm_timer, next, fsm_tick, g);
}

HOTPATH static void
feed_at(struct vgroup *g, enum fsm_event ev, const struct fsm_peer *p,
    const char *reason, uint64_t now)
{
	apply(g, fsm_event(&g->fsm, ev, p, reason, now));
	schedule(g);
	if (!feeding_all)
		arm_tick();	/* the send period may have changed */
}

HOTPATH static void
feed(struct vgroup *g, enum fsm_event ev, const struct fsm_peer *p,
    const char *reason)
{
	feed_at(g, ev, p, reason, now_ms());
}

void
role_feed(int gi, enum fsm_event ev, const char *reason)
{
	if (gi >= 0) {
		feed(&d.groups[gi], ev, NULL, reason);
		return;
	}
	for (int i = 0; i < d.ngroups; i++)
		feed(&d.groups[i], ev, NULL, reason);
}

void
role_set_priority(int gi, int eff)
{
	struct vgroup *g = &d.groups[gi];

	apply(g, fsm_set_priority(&g->fsm, eff, now_ms()));
	schedule(g);
}

void
role_no_preempt(int gi)
{
	fsm_no_preempt(&d.groups[gi].fsm);
}

/*
 * Two active nodes: the loser releases once the winner heard it (fsm.c:
 * make-before-break) or after dead_ms. Both log the episode; the
 * winner too when the loser heard it first and released before the winner
 * ever heard it active (the loser then says so: PROTO_F_YIELDED). A peer
 * heard lately as standby, or still raising its VIPs, is preempting: no
 * split brain.
 */
HOTPATH static void
dual_active_watch(struct vgroup *g, const struct fsm_peer *p, uint64_t now)
{
	const struct fsm *f = &g->fsm;
	/* not after a freeze: we yield, and the peer's message is old news */
	bool dual = f->state == FSM_ACTIVE && p->state == FSM_ACTIVE &&
	    !p->handover && !f->handover && !f->stalled &&
	    holder_usable(&g->vips);	/* still raising them: our own preemption */
	uint64_t gap, est;
	bool preempting = fsm_peer_alive(f, now) &&
	    (f->peer.state != FSM_ACTIVE || !f->peer.holds);

	if (dual && g->dual_since == 0 && !preempting) {
		g->dual_since = now;
		d.cnt.dual_active++;
		/* not the message's time: a heartbeat another group sent since
		   says nothing of the yield */
		if (!fsm_wins(f, p))
			g->yielded_at = now_ms();
		log_warnx("group %s: both nodes active (a healed partition?): %s",
		    gname(g), fsm_wins(f, p) ? "this node wins and keeps the VIPs" :
		    "the peer wins, this node releases the VIPs once it has "
		    "announced them");
	} else if (!dual && g->dual_since) {
		log_info("group %s: dual-active episode over after %llu ms",
		    gname(g), (unsigned long long)(now - g->dual_since));
		g->dual_since = 0;
		g->dual_logged = true;
	} else if (!dual && p->yielded && !g->dual_logged &&
	    f->state == FSM_ACTIVE) {
		/*
		 * silent for the partition; it held the VIPs after dead_ms.
		 * Never heard before (peer_heard 0): at most since we are active.
		 */
		gap = now - f->peer_heard;
		est = !f->peer_known ? now - f->since :
		    gap > d.cfg.dead_ms ? gap - d.cfg.dead_ms : 0;
		d.cnt.dual_active++;
		log_warnx("group %s: both nodes were active (a healed partition?): "
		    "the peer heard this node first and released the VIPs",
		    gname(g));
		log_info("group %s: dual-active episode over after %llu ms "
		    "(estimated)", gname(g), (unsigned long long)est);
		g->dual_logged = true;
	}
	if (!p->yielded && !g->dual_since)
		g->dual_logged = false;
}

/* How late the heartbeat tick is, in ms; the boot clock also counts a suspend. */
HOTPATH static uint64_t
tick_lateness(uint64_t now)
{
	uint64_t boot = now_boot_ms(), late;

	if (hb_due == 0)
		return 0;
	late = now > hb_due ? now - hb_due : 0;
	if (boot > hb_due_boot && boot - hb_due_boot > late)
		late = boot - hb_due_boot;
	return late;
}

static void
set_stalled(bool on)
{
	stalled = on;
	role_feed(-1, on ? EV_STALLED : EV_RESUMED, NULL);
}

/*
 * Whatever runs first after a freeze (SIGSTOP, a VM pause, starvation) asks
 * this before it acts: a peer message, the heartbeat, the lease refresh, an
 * announcement, the FSM's clock, a netlink notification. More than dead_ms
 * past the heartbeat's due time we were frozen and the peer has likely
 * taken over: the FSMs claim nothing until they have read the peer's
 * messages, and yield to an active peer instead of fighting it. The first
 * heartbeat on time again ends the stall.
 */
HOTPATH static bool
check_stall(uint64_t now)
{
	uint64_t late;

	if (stalled)
		return true;
	if ((late = tick_lateness(now)) < d.cfg.dead_ms)
		return false;
	log_warnx("event loop stalled for about %llu ms (frozen?): yielding to "
	    "an active peer", (unsigned long long)(late + d.cfg.interval_ms));
	set_stalled(true);
	return true;
}

/* Groups only one side configures hold their VIPs alone: say so once. */
static void
groups_compare(int pi, const struct msg *m)
{
	static char unknown_logged[PROTO_MAX_GROUPS][PROTO_NAME_LEN];
	const struct peer *p = &peers.p[pi];
	bool ours;

	for (int i = 0; i < d.ngroups; i++) {
		struct vgroup *g = &d.groups[i];
		bool has = p->at[i] != -1;

		/* some peer's heartbeats carry it (changes only with their lists) */
		g->peer_has = false;
		for (int k = 0; k < peers.n; k++)
			g->peer_has |= peers.p[k].groups[i].has;

		if (!has && !g->peer_lacks_logged)
			log_warnx("group %s: the peer %s does not configure it%s",
			    gname(g), m->name, peers.n == 1 ?
			    ": this node holds it alone" : "");
		g->peer_lacks_logged = !has;
	}
	for (int k = 0; k < m->ngroups; k++) {
		ours = false;
		for (int i = 0; i < d.ngroups; i++)
			ours |= strcmp(gname(&d.groups[i]), m->groups[k].name) == 0;
		if (!ours && strncmp(unknown_logged[k], m->groups[k].name,
		    PROTO_NAME_LEN) != 0) {
			log_warnx("group %.31s: the peer %s configures it, this "
			    "node does not", m->groups[k].name, m->name);
			memcpy(unknown_logged[k], m->groups[k].name, PROTO_NAME_LEN);
		}
	}
}

/*
 * Whether this module's bookkeeping of group g waits on a message: a
 * dual-active episode or its log, our yield until echoed, a quorum key to
 * ask for, an operator's switchover, a handover's key holder to look up
 * (show() and apply()).
 */
HOTPATH static bool
waits_on_message(const struct vgroup *g)
{
	return g->dual_since || g->dual_logged || g->yielded_at ||
	    g->key_gate || g->switching || g->was_handover != g->fsm.handover;
}

/*
 * Show group g's machine the peer that matters now (peers.h) when that is
 * news: a message from it (from: the sender), or another peer than before.
 * epoch: peers_epoch() after the message.
 */
HOTPATH static void
show(struct vgroup *g, int from, uint64_t epoch, uint64_t now)
{
	const struct peer *p = from >= 0 ? &peers.p[from] : NULL;
	struct fsm_peer v;
	int i;

	/* the one shown says what it said, nothing else moved: its times */
	if (p && g->steady_from == from + 1 && g->steady_epoch == epoch &&
	    !waits_on_message(g) &&
	    fsm_peer_times(&g->fsm, p->heard, p->acked, p->hold_ms, now)) {
		schedule(g);
		return;
	}
	i = peers_pick(&peers, g->idx, &g->fsm, g->switch_to, link_all_named(),
	    now, &v);
	if (i == -1 || (i != from && g->fsm.peer_known &&
	    name_eq(v.name, g->fsm.peer.name)))
		return;
	/* it says what it said, in a steady state: only its times move */
	if (!waits_on_message(g) && !v.yielded &&
	    fsm_peer_again(&g->fsm, &v, now)) {
		g->steady_from = from + 1;
		g->steady_epoch = epoch;
		schedule(g);
		return;
	}
	/* it heard a heartbeat sent after we yielded: it knows */
	if (g->yielded_at && v.acked_at >= g->yielded_at)
		g->yielded_at = 0;
	dual_active_watch(g, &v, now);
	feed_at(g, EV_PEER, &v, NULL, now);	/* the time the shortcut had */
	if (g->key_gate)
		want_key(g);
}

const struct peers *
role_peers(void)
{
	return &peers;
}

HOTPATH void
daemon_peer_message(int link, const struct msg *m, bool stood_still,
    uint64_t now)
{
	static HOTDATA bool full_logged;
	uint64_t epoch;
	unsigned period;
	int pi;

	/* its last word: a peer downgraded to 0.1 understands version 1 only */
	d.peer_v2 = m->version >= 2 || (m->groups[0].flags & PROTO_F_V2);
	if (stood_still && !stalled) {
		/* our clock missed time the peer's counted: a restored VM clock */
		log_warnx("the peer's clock moved on while ours stood still "
		    "(frozen?): yielding to an active peer");
		set_stalled(true);
	}
	/*
	 * The loop runs on time: the stall watch starts again from now, with
	 * room for the peer's next message (a tick at the same moment would
	 * wake the loop once more).
	 */
	if (!check_stall(now))
		watch_from(now, 2 * d.cfg.interval_ms);
	if ((pi = peers_lookup(&peers, m->name)) == -1) {
		if (!full_logged)
			log_warnx("node %s: more than %d peers: ignored",
			    m->name, PEERS_MAX);
		full_logged = true;
		return;
	}
	if (peers_update(&peers, pi, m, link_acked_at(m->name, now),
	    d.links[link].hold_ms, now))
		groups_compare(pi, m);
	/* every group's machine hears of it; the send period is worked out once */
	feeding_all = true;
	epoch = peers_epoch(&peers, now);
	for (int k = 0; k < d.ngroups; k++)
		show(&d.groups[k], pi, epoch, now);
	feeding_all = false;
	period = arm_tick();
	/* a sparse heartbeat about due rides on this wakeup (see arm_tick()) */
	if (!stalled && period > d.cfg.interval_ms &&
	    now_ms() + d.cfg.interval_ms / 2 >= next_send(period)) {
		say();
		arm_tick();
	}
}

int
daemon_switchover(uint32_t mask, const char *to, const char **why)
{
	const char *none = d.cfg.groups_explicit ? "this node holds no group" :
	    "this node is not active";
	const char *w = none;
	int n = 0;

	/* every group asked for must be able to go: all or nothing */
	for (int i = 0; i < d.ngroups; i++) {
		struct vgroup *g = &d.groups[i];

		if (mask == 0 ? g->fsm.state != FSM_ACTIVE :
		    !(mask & (1u << i)))
			continue;
		if (to) {
			/* the machine is shown the node named, if it can take over */
			snprintf(g->switch_to, sizeof(g->switch_to), "%s", to);
			show(g, -1, 0, now_ms());
			if (!g->fsm.peer_known || strcmp(g->fsm.peer.name, to) != 0) {
				w = "that node is not a live standby of the group";
				break;
			}
		}
		if (!fsm_can_switchover(&g->fsm, now_ms(), &w))
			break;
		n++;
		w = NULL;
	}
	if (w != NULL || n == 0) {
		for (int i = 0; to && i < d.ngroups; i++)
			if (!d.groups[i].switching)
				d.groups[i].switch_to[0] = '\0';
		*why = w ? w : none;
		return -1;
	}
	for (int i = 0; i < d.ngroups; i++) {
		struct vgroup *g = &d.groups[i];

		if (mask == 0 ? g->fsm.state != FSM_ACTIVE :
		    !(mask & (1u << i)))
			continue;
		log_info("group %s: switchover to %s requested", gname(g),
		    g->fsm.peer.name);
		feed(g, EV_SWITCHOVER, NULL, NULL);
		g->switching = g->fsm.handover;
		if (!g->switching)
			g->switch_to[0] = '\0';
	}
	return 0;
}

void
daemon_maintenance(bool on)
{
	bool changed = false;

	for (int i = 0; i < d.ngroups; i++)
		changed |= on != (d.groups[i].fsm.state == FSM_MAINTENANCE);
	if (!changed)
		return;
	log_info("maintenance %s", on ? "on" : "off");
	role_feed(-1, on ? EV_MAINT_ON : EV_MAINT_OFF, NULL);
}

/*
 * A node that holds nothing sends every standby_interval_ms (and at once on
 * any change): the active node's heartbeats are what a takeover watches.
 * It tells its period in version 2; a version 1 peer (0.1) holds it alive
 * for its dead_ms only. A preemption needs the peer's echo of a recent
 * heartbeat: while one is pending, every interval_ms.
 */
HOTPATH static unsigned
heartbeat_period(void)
{
	unsigned sb = d.cfg.standby_interval_ms;

	for (int i = 0; i < d.ngroups; i++)
		if ((d.groups[i].fsm.state != FSM_STANDBY &&
		    d.groups[i].fsm.state != FSM_FAULT) ||
		    d.groups[i].fsm.preempt_at)
			return d.cfg.interval_ms;
	if (!speaks_v2() && sb > d.cfg.dead_ms / 2)
		sb = d.cfg.dead_ms / 2;
	/* quorum: a holder cut from etcd must notice a silent peer in time */
	if (quorum_enabled() && sb > d.cfg.dead_ms / 3)
		sb = d.cfg.dead_ms / 3;
	return sb > d.cfg.interval_ms ? sb : d.cfg.interval_ms;
}

/*
 * The tick runs when the next heartbeat is due, or soon after the loop
 * last ran on time (the tick, a peer message): later than that, we were
 * frozen (check_stall()). A standby hears the active node every
 * interval_ms, so it wakes for little else. The period the peer was told
 * holds until the next heartbeat tells another.
 */
HOTPATH static uint64_t
next_send(unsigned p)
{
	return hb_sent + (hb_said && hb_said < p ? hb_said : p);
}

/* Returns the send period it armed for. */
HOTPATH static unsigned
arm_tick(void)
{
	unsigned period = heartbeat_period();
	uint64_t when = next_send(period), now;

	if (hb_watch == 0)
		return period;		/* not started */
	/*
	 * Sparse: the active node's message due about then carries it; the
	 * tick is the fallback when none comes, one interval late at most
	 * (the peer holds us alive for that much more than our period).
	 */
	if (period > d.cfg.interval_ms)
		when += d.cfg.interval_ms;
	/* stalled: only a tick on time ends it, not a send */
	if (stalled || hb_watch < when)
		when = hb_watch;
	if (when == hb_due)
		return period;
	now = now_ms();		/* after the work that brought us here */
	hb_due = when;
	hb_due_boot = now_boot_ms() + (when > now ? when - now : 0);
	loop_timer_set(&hb_timer, when, heartbeat_tick, NULL);
	return period;
}

HOTPATH static void
watch_from(uint64_t now, unsigned ms)
{
	hb_watch = now + ms;
}

/*
 * How long a peer may go unheard before a node that keeps its VIPs
 * without the key lets them go: dead_ms, and up to KEEP_SLACK_MS more
 * once that peer has seen us keyless. It then waits dead_ms and
 * KEYLESS_GRACE_MS before it takes over, and our last 1 s renewal lasts
 * KERNEL_LATE_MS longer at most (quorum.c): 500 + 1000 + 300 < 2000. A
 * late heartbeat (a busy host) must not drop every VIP while etcd is down.
 */
#define KEEP_SLACK_MS	500

/*
 * The silence allowed to peer p: with the slack once this run of it has
 * echoed a heartbeat that said keyless (every one since did).
 */
static unsigned
keep_bound(const struct peer *p)
{
	if (keyless && keyless_flagged && p->echoed > keyless_flagged &&
	    p->echoed >= p->epoch_at)
		return d.cfg.dead_ms + (d.cfg.dead_ms < KEEP_SLACK_MS ?
		    d.cfg.dead_ms : KEEP_SLACK_MS);
	return d.cfg.dead_ms;
}

/*
 * Every node we know of heard lately, and hearing us (two-way evidence):
 * none can take a group unnoticed. One that stops hearing us may take it
 * dead_ms later, once it has the key; a node taking over from one that
 * kept its VIPs this way waits KEYLESS_GRACE_MS more (want_key()).
 * Returns -1, or the first peer that is not (peers.n: a link has heard
 * nobody yet).
 */
static int
unheard_peer(uint64_t now)
{
	if (!link_all_named())
		return peers.n;
	/* an echo comes in a message: heard lately whenever it is */
	for (int i = 0; i < peers.n; i++)
		if (now - peers.p[i].echoed >= keep_bound(&peers.p[i]))
			return i;
	return -1;
}

static void
log_keeping(bool keep, bool fresh, int pi, uint64_t now)
{
	const struct peer *p = pi >= 0 && pi < peers.n ? &peers.p[pi] : NULL;

	if (keep)
		log_warnx("quorum: etcd unreachable; every peer heard: keeping "
		    "what this node holds (on_quorum_loss = keep-while-peers)");
	else if (fresh)
		log_warnx("quorum: keeping no more: the etcd lease is renewed");
	else if (d.cfg.quorum.on_loss != QUORUM_KEEP_WHILE_PEERS)
		log_warnx("quorum: keeping no more: on_quorum_loss = release");
	else if (p && now - p->heard >= keep_bound(p))
		log_warnx("quorum: keeping no more: %s not heard for %llu ms",
		    p->name, (unsigned long long)(now - p->heard));
	else if (p)
		log_warnx("quorum: keeping no more: %s has not echoed our "
		    "heartbeats for %llu ms", p->name,
		    (unsigned long long)(now - p->echoed));
	else
		log_warnx("quorum: keeping no more: %s", peers.n ? "a link has "
		    "not heard its peer" : "no peer heard");
}

/*
 * on_quorum_loss: with the lease no longer reliable, a node keeps what it
 * holds only while it hears every peer (keep-while-peers: none of them
 * can take over without etcd either, nor unnoticed), else every group
 * goes to fault ("quorum-lost") and its VIPs go, before etcd could give
 * the keys to another node. Not before the first lease, within
 * init_dead_ms of the start.
 */
HOTPATH static void
quorum_policy(uint64_t now)
{
	static bool faulted, ever_ok;
	bool lost, keep, fresh;
	int pi = -1;

	if (!quorum_enabled())
		return;
	lost = !quorum_lease_ok(now);
	ever_ok |= !lost;
	if (!ever_ok && now - d.started_ms < d.cfg.init_dead_ms)
		return;
	/* from the moment the VIPs' lifetime could outlive the lease */
	fresh = quorum_lease_fresh(now);
	keep = !fresh && d.cfg.quorum.on_loss == QUORUM_KEEP_WHILE_PEERS &&
	    peers.n > 0 && (pi = unheard_peer(now)) == -1;
	if (keep != keyless) {
		log_keeping(keep, fresh, pi, now);
		for (int i = 0; i < d.ngroups; i++)
			if (d.groups[i].fsm.key == (keep ? FSM_KEY_WAIT :
			    FSM_KEY_KEYLESS) && !d.groups[i].key_gate)
				fsm_set_key(&d.groups[i].fsm, keep ?
				    FSM_KEY_KEYLESS : FSM_KEY_WAIT);
		keyless_flagged = 0;
	}
	keyless = keep;
	if ((lost && !keep) != faulted) {
		faulted = lost && !keep;
		fault_set("quorum-lost", faulted);
	}
}

bool
role_keyless(void)
{
	return keyless;
}

void
role_quorum_lease(bool ok, void *arg)
{
	quorum_policy(now_ms());
}

/* A renewal moved the lease's end: so may the VIPs' lifetimes. */
void
role_quorum_renewed(void *arg)
{
	quorum_policy(now_ms());
	for (int i = 0; i < d.ngroups; i++)
		if (quorum_held(i))
			holder_refresh(&d.groups[i].vips);
}

void
role_quorum_key(int gi, bool held, void *arg)
{
	struct vgroup *g = &d.groups[gi];
	unsigned acts;

	if (!fsm_holds_vips(&g->fsm)) {
		if (held)
			quorum_drop(gi);	/* no longer wanted */
		return;
	}
	if (!held) {
		/*
		 * gone with the lease (keep-while-peers may keep the VIPs),
		 * taken by the node we hand over to (it says when it holds),
		 * or by another node (key_check): take it back once free
		 */
		fsm_set_key(&g->fsm, keyless ? FSM_KEY_KEYLESS : FSM_KEY_WAIT);
		quorum_want(gi, NULL);
		say();
		key_check(g, now_ms());
		return;
	}
	fsm_set_key(&g->fsm, FSM_KEY_HELD);
	if (g->key_gate) {
		acts = ACT_ADD_VIPS | ACT_ANNOUNCE | ACT_SEND_NOW |
		    (g->key_promote ? ACT_PROMOTE : 0);
		g->key_gate = g->key_promote = false;
		apply(g, acts);
	} else
		say();
}

HOTPATH static void
heartbeat_tick(void *arg)
{
	uint64_t now = now_ms();

	quorum_policy(now);
	for (int i = 0; i < d.ngroups; i++)
		key_check(&d.groups[i], now);
	/* late: claim nothing before the peer's messages are read */
	if (tick_lateness(now) >= d.cfg.dead_ms)
		check_stall(now);
	else if (stalled)
		set_stalled(false);
	if (!stalled) {
		if (hb_sent == 0 || now >= next_send(heartbeat_period()))
			say();
		link_check(now);
	}
	/* skip slots after a stall */
	watch_from(now, d.cfg.interval_ms);
	hb_due = 0;
	arm_tick();
}

void
role_addr_deleted(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	d.cnt.vip_repairs = 0;
	for (int i = 0; i < d.ngroups; i++) {
		holder_addr_deleted(&d.groups[i].vips, family, addr, plen, ifindex);
		d.cnt.vip_repairs += d.groups[i].vips.repairs;
	}
}

void
role_addr_ready(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	for (int i = 0; i < d.ngroups; i++)
		holder_addr_ready(&d.groups[i].vips, family, addr, plen, ifindex);
}

/* A group's state machine's view of a configuration (start and reload). */
static void
fsm_config(const struct config *c, int gi, struct fsm_config *fc)
{
	static const int fence[] = {
		[FENCE_OFF] = FSM_FENCE_OFF,
		[FENCE_OPTIONAL] = FSM_FENCE_OPTIONAL,
		[FENCE_REQUIRED] = FSM_FENCE_REQUIRED,
	};
	const struct cfg_group *cg = &c->groups[gi];

	memset(fc, 0, sizeof(*fc));
	snprintf(fc->name, sizeof(fc->name), "%s", c->node_name);
	fc->priority = cg->priority;
	fc->dead_ms = c->dead_ms;
	fc->init_dead_ms = c->init_dead_ms;
	fc->preempt = cg->preempt;
	fc->preempt_delay_ms = cg->preempt_delay_ms;
	fc->stop_timeout_ms = role_stop_timeout_ms(c);
	fc->fence = fence[c->fence];
	fc->arbiter = c->narbiter > 0;
	fc->quorum = c->quorum.enabled;
}

static unsigned
vips_lifetime(void *arg)
{
	uint64_t now = now_ms();
	unsigned l = quorum_vip_lifetime_s(d.cfg.vip_lease_s, now);

	/*
	 * kept without the lease: 1 s at a time, KEYLESS in the heartbeats,
	 * while every peer is heard (asked here too: a renewal may come
	 * between two heartbeat ticks, and a tick may be late)
	 */
	return l == HOLDER_KEEP && keyless && unheard_peer(now) == -1 ? 1 : l;
}

static bool
vips_held_off(void *arg)
{
	return check_stall(now_ms());
}

/* The groups' state machines and VIPs, before anything feeds them. */
void
role_init(void)
{
	/* apart from d.groups: a heartbeat walks the machines, not their logs */
	static struct fsm_log logs[CFG_MAX_GROUPS];
	struct fsm_config fc;

	static char names[CFG_MAX_GROUPS][PROTO_NAME_LEN];

	d.ngroups = d.cfg.ngroups;
	for (int i = 0; i < d.ngroups; i++)
		snprintf(names[i], sizeof(names[i]), "%s", d.cfg.groups[i].name);
	peers_init(&peers, d.cfg.dead_ms, names, d.ngroups);
	for (int i = 0; i < d.ngroups; i++) {
		struct vgroup *g = &d.groups[i];
		const struct holder_events ev = {
			.ready = vips_ready, .hold_off = vips_held_off,
			.lifetime = vips_lifetime, .arg = g,
		};

		g->idx = i;
		fsm_config(&d.cfg, i, &fc);
		fsm_init(&g->fsm, &fc, &logs[i], d.started_ms);
		holder_init(&g->vips, &d.cfg, d.cfg.groups[i].first_vip,
		    d.cfg.groups[i].nvips, &ev);
	}
}

/* Start the heartbeats and the state machines' clocks. */
void
role_start(void)
{
	heartbeat_tick(NULL);
	role_feed(-1, EV_TICK, NULL);
}

/* Reload, before nc replaces the running config: VIPs it drops go now. */
void
role_reload_begin(const struct config *nc)
{
	for (int i = 0; i < d.ngroups; i++)
		holder_reload(&d.groups[i].vips, nc, nc->groups[i].first_vip,
		    nc->groups[i].nvips);
}

/*
 * Reload, after: new VIPs come up through the same gate as at takeover and
 * are announced; priorities, preemption, the new interval and lease apply
 * from now.
 */
void
role_reload_end(void)
{
	struct fsm_config fc;

	peers_reconfigure(&peers, d.cfg.dead_ms);
	for (int i = 0; i < d.ngroups; i++) {
		struct vgroup *g = &d.groups[i];

		fsm_config(&d.cfg, i, &fc);
		fsm_reconfigure(&g->fsm, &fc);
		holder_rebind(&g->vips, &d.cfg, d.cfg.groups[i].first_vip,
		    d.cfg.groups[i].nvips);
		schedule(g);
	}
	watch_from(now_ms(), d.cfg.interval_ms);
	arm_tick();
}

void
role_stop(void)
{
	role_feed(-1, EV_STOP, NULL);
}

/* A second stop signal: do not wait for the peer. */
void
role_stop_now(void)
{
	for (int i = 0; i < d.ngroups; i++) {
		d.groups[i].fsm.stop_holds = false;
		apply(&d.groups[i], ACT_DEL_VIPS | ACT_EXIT);
	}
}
