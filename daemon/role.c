/*
 * Carrying out the role the state machine decides: VIPs (add, refresh,
 * remove, repair), announcements, hooks, heartbeats and what the peer says.
 */
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "checks.h"
#include "failoverd.h"
#include "holder.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sdnotify.h"
#include "vip.h"


static struct loop_timer hb_timer, fsm_timer, fence_timer;
static struct holder vipset;
static bool ready_sent;
static unsigned notified;	/* transitions of fsm.history already announced */
static bool promote_after_ready;	/* promote hooks wait for vips_ready() */

static uint64_t hb_due;		/* when the heartbeat tick is due */
static uint64_t hb_due_boot;	/* the same on CLOCK_BOOTTIME (counts suspend) */

static bool check_stall(void);

static void
vips_text(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < d.cfg.nvips && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? " " : "", d.cfg.vips[i].text);
}

static void
hook_done(void *arg, const char *kind, bool ok, const char *failed)
{
	if (strcmp(kind, "promote") != 0)
		return;
	if (!ok) {
		d.promote_gate = false;
		faults_hook_failed(failed ? failed : "?");
		return;
	}
	/* hooks-first: the VIPs come up only now, if still wanted */
	if (d.promote_gate && fsm_holds_vips(&d.fsm)) {
		d.promote_gate = false;
		holder_up(&vipset);
		link_send_all();
	}
}

static uintptr_t fence_round;	/* the fencing whose verdict counts */

static void
fence_done(void *arg, const char *kind, bool ok, const char *failed)
{
	char why[FSM_REASON_MAX + 32];

	/* a verdict on the peer's earlier death says nothing about this one */
	if ((uintptr_t)arg != fence_round)
		return;
	if (ok)
		log_info("fencing of %s done", d.fsm.peer.name);
	else {
		snprintf(why, sizeof(why), "fence hook %s failed", failed ? failed : "?");
		log_warnx("FENCING FAILED: %s; %s", why,
		    d.cfg.fence == FENCE_REQUIRED ?
		    "NOT taking over (cluster.fence = \"required\")" :
		    "taking over anyway (cluster.fence = \"optional\")");
	}
	role_feed(EV_FENCED, NULL, ok ? NULL : why);
}

/* fence = "optional" with nothing in fence.d: nothing to wait for */
static void
fence_none(void *arg)
{
	role_feed(EV_FENCED, NULL, NULL);
}

/* Hooks of one transition see that transition, not whatever came later. */
static void
run_hooks_for(const char *kind, const struct fsm_transition *t,
    hooks_done_cb done, void *arg)
{
	char vips[1024];
	struct hook_env env = {
		.event = kind,
		.state = fsm_state_name(t ? t->to : d.fsm.state),
		.prev_state = fsm_state_name(t ? t->from : d.fsm.prev),
		.reason = t ? t->reason : d.fsm.reason,
		.node = d.cfg.node_name,
		.peer = d.fsm.peer_known ? d.fsm.peer.name : "",
		.vips = vips,
		.cluster_id = d.cfg.cluster_id,
	};

	vips_text(vips, sizeof(vips));
	env.require_one = strcmp(kind, "fence") == 0 && d.cfg.fence == FENCE_REQUIRED;
	if (hooks_run(kind, &env, done, arg) == -1)
		log_warnx("cannot queue %s hooks", kind);
}

static void
run_hooks(const char *kind, hooks_done_cb done)
{
	run_hooks_for(kind, NULL, done, NULL);
}

/* how long a graceful stop waits for the peer to take the VIPs */
unsigned
role_stop_timeout_ms(const struct config *c)
{
	return c->dead_ms * 4 > 2000 ? c->dead_ms * 4 : 2000;
}

void
role_release(void)
{
	d.vips_up = false;
	promote_after_ready = false;
	holder_release(&vipset);
}

/* Every VIP usable: clients may be told, and the peer may let go of its copy. */
static void
vips_ready(void *arg)
{
	d.vips_up = true;
	holder_announce(&vipset);
	link_send_all();
	if (promote_after_ready) {
		promote_after_ready = false;
		run_hooks("promote", hook_done);
	}
}

static void
apply(unsigned acts)
{
	if (acts & ACT_NOTIFY) {
		/* READY once we have a role, not merely once we run */
		sdnotify("%s%sSTATUS=%s (%s)", ready_sent ? "" : "READY=1\n",
		    d.fsm.state == FSM_STOPPING ? "STOPPING=1\n" : "",
		    fsm_state_name(d.fsm.state), d.fsm.reason);
		ready_sent = true;
	}
	if ((acts & ACT_FENCE) && d.cfg.fence == FENCE_OPTIONAL &&
	    hooks_count("fence") == 0)
		loop_timer_set(&fence_timer, now_ms(), fence_none, NULL);
	else if (acts & ACT_FENCE)
		run_hooks_for("fence", NULL, fence_done,
		    (void *)++fence_round);
	if (acts & ACT_ARBITER) {
		log_info("peer %s silent: taking over once an arbiter target "
		    "answers", d.fsm.peer_known ? d.fsm.peer.name : "(unknown)");
		arbiter_probe();
	}
	if ((acts & ACT_ADD_VIPS) && d.cfg.hooks_order == HOOKS_HOOKS_FIRST) {
		/* promote hooks gate the VIPs: hook_done() brings them up */
		d.promote_gate = true;
		acts &= ~(unsigned)ACT_ANNOUNCE;
	} else if (acts & ACT_ADD_VIPS)
		holder_up(&vipset);
	else if (acts & ACT_ANNOUNCE)
		holder_announce(&vipset);
	if (acts & ACT_DEL_VIPS) {
		d.promote_gate = false;
		role_release();
	}
	/* after the VIPs changed: the peer learns the outcome, not the intent */
	if (acts & ACT_SEND_NOW)
		link_send_all();
	/* vip-first: promote hooks see usable VIPs (IPv6 may need a moment) */
	if ((acts & ACT_PROMOTE) && !d.promote_gate && !d.vips_up &&
	    fsm_holds_vips(&d.fsm))
		promote_after_ready = true;
	else if (acts & ACT_PROMOTE)
		run_hooks("promote", hook_done);
	if (acts & ACT_DEMOTE)
		run_hooks("demote", hook_done);
	/* one event may pass through two states (init -> standby -> active) */
	for (; notified < d.fsm.nhistory; notified++) {
		const struct fsm_transition *t =
		    &d.fsm.history[notified % FSM_HISTORY];

		log_info("state %s -> %s (%s)", fsm_state_name(t->from),
		    fsm_state_name(t->to), t->reason);
		run_hooks_for("notify", t, hook_done, NULL);
	}
	if (acts & ACT_EXIT)
		d.exiting = true;
}

static void
fsm_tick(void *arg)
{
	/* a peer silent "for dead_ms" while we were frozen may be alive */
	if (check_stall()) {
		loop_timer_set(&fsm_timer, now_ms() + d.cfg.interval_ms,
		    fsm_tick, NULL);
		return;
	}
	role_feed(EV_TICK, NULL, NULL);
}

void
role_feed(enum fsm_event ev, const struct fsm_peer *p, const char *reason)
{
	uint64_t next;

	apply(fsm_event(&d.fsm, ev, p, reason, now_ms()));
	next = fsm_next_deadline(&d.fsm);
	if (next == UINT64_MAX)
		loop_timer_cancel(&fsm_timer);
	else
		loop_timer_set(&fsm_timer, next, fsm_tick, NULL);
}

/*
 * Two active nodes: the loser releases once the winner heard it (fsm.c:
 * make-before-break) or after dead_ms. Both log the episode; the
 * winner too when the loser heard it first and released before the winner
 * ever heard it active (the loser then says so: PROTO_F_YIELDED). A peer
 * heard lately as standby, or still raising its VIPs, is preempting: no
 * split brain.
 */
static void
dual_active_watch(const struct fsm_peer *p, unsigned flags)
{
	/* not after a freeze: we yield, and the peer's message is old news */
	bool dual = d.fsm.state == FSM_ACTIVE && p->state == FSM_ACTIVE &&
	    !p->handover && !d.fsm.handover && !d.fsm.stalled;
	uint64_t now = now_ms(), gap;
	bool preempting = d.fsm.peer_known &&
	    now - d.fsm.peer_heard < d.cfg.dead_ms &&
	    (d.fsm.peer.state != FSM_ACTIVE || !d.fsm.peer.holds);

	if (dual && d.dual_since == 0 && !preempting) {
		d.dual_since = now;
		d.cnt.dual_active++;
		if (!fsm_wins(&d.fsm, p))
			d.yielded_at = now;
		log_warnx("both nodes active (a healed partition?): %s",
		    fsm_wins(&d.fsm, p) ? "this node wins and keeps the VIPs" :
		    "the peer wins, this node releases the VIPs once it has "
		    "announced them");
	} else if (!dual && d.dual_since) {
		log_info("dual-active episode over after %llu ms",
		    (unsigned long long)(now - d.dual_since));
		d.dual_since = 0;
		d.dual_logged = true;
	} else if (!dual && (flags & PROTO_F_YIELDED) && !d.dual_logged &&
	    d.fsm.state == FSM_ACTIVE) {
		/* silent for the partition; it held the VIPs after dead_ms */
		gap = now - d.fsm.peer_heard;
		d.cnt.dual_active++;
		log_warnx("both nodes were active (a healed partition?): the peer "
		    "heard this node first and released the VIPs");
		log_info("dual-active episode over after %llu ms (estimated)",
		    (unsigned long long)(gap > d.cfg.dead_ms ?
		    gap - d.cfg.dead_ms : 0));
		d.dual_logged = true;
	}
	if (!(flags & PROTO_F_YIELDED) && !d.dual_since)
		d.dual_logged = false;
}

/* How late the heartbeat tick is, in ms; the boot clock also counts a suspend. */
static uint64_t
tick_lateness(void)
{
	uint64_t now = now_ms(), boot = now_boot_ms(), late;

	if (hb_due == 0)
		return 0;
	late = now > hb_due ? now - hb_due : 0;
	if (boot > hb_due_boot && boot - hb_due_boot > late)
		late = boot - hb_due_boot;
	return late;
}

/*
 * Whatever runs first after a freeze (SIGSTOP, a VM pause, starvation) asks
 * this before it acts: a peer message, the heartbeat, the lease refresh, an
 * announcement, the FSM's clock, a netlink notification. More than dead_ms
 * past the heartbeat's due time we were frozen and the peer has likely
 * taken over: the FSM claims nothing until it has read the peer's messages,
 * and yields to an active peer instead of fighting it. The first heartbeat
 * on time again ends the stall.
 */
static bool
check_stall(void)
{
	uint64_t late;

	if (d.fsm.stalled)
		return true;
	if ((late = tick_lateness()) < d.cfg.dead_ms)
		return false;
	log_warnx("event loop stalled for about %llu ms (frozen?): yielding to "
	    "an active peer", (unsigned long long)(late + d.cfg.interval_ms));
	role_feed(EV_STALLED, NULL, NULL);
	return true;
}

/*
 * Two-way evidence on link i: the newest of our heartbeats that the peer
 * echoed since the link was last silent. Echoes of what we sent before
 * (released late by ARP after a cut, say) do not count. Ours, in ms.
 */
static uint64_t
peer_acked_at(void)
{
	uint64_t acked = 0, now = now_ms();

	for (int i = 0; i < d.cfg.nlinks; i++)
		if (link_up(i, now) && d.links[i].acked_us / 1000 > acked)
			acked = d.links[i].acked_us / 1000;
	return acked;
}

void
daemon_peer_message(int i, const struct msg *m, bool stood_still)
{
	struct link_state *ls = &d.links[i];
	struct fsm_peer p = { 0 };
	uint64_t now = now_ms(), t = now_us();

	if (!ls->was_up)
		log_info("link %d (%s): peer %s heard", i, d.cfg.links[i].ifname,
		    m->name);
	if (!link_up(i, now)) {
		ls->up_since_us = t;
		ls->acked_us = 0;
	}
	/* an echo from our future is no evidence of anything */
	if (m->echo_time_us >= ls->up_since_us && m->echo_time_us <= t &&
	    m->echo_time_us > ls->acked_us)
		ls->acked_us = m->echo_time_us;
	ls->was_up = true;
	ls->heard = true;
	ls->heard_at = now;
	if (m->echo_time_us && t >= m->echo_time_us + m->echo_delay_us) {
		ls->rtt_us = t - m->echo_time_us - m->echo_delay_us;
		ls->rtt_valid = true;
	}
	ls->peer_tx_us = m->tx_time_us;
	ls->peer_rx_us = t;
	/* it heard a heartbeat sent after we yielded: it knows */
	if (d.yielded_at && m->echo_time_us >= d.yielded_at * 1000)
		d.yielded_at = 0;
	if (stood_still && !d.fsm.stalled) {
		/* our clock missed time the peer's counted: a restored VM clock */
		log_warnx("the peer's clock moved on while ours stood still "
		    "(frozen?): yielding to an active peer");
		role_feed(EV_STALLED, NULL, NULL);
	}
	check_stall();

	snprintf(p.name, sizeof(p.name), "%s", m->name);
	p.state = (enum fsm_state)m->state;
	p.priority = m->priority;
	p.handover = (m->flags & PROTO_F_HANDOVER) != 0;
	p.holds = (m->flags & PROTO_F_HOLDS) != 0;
	p.degraded = (m->flags & PROTO_F_DEGRADED) != 0;
	p.acked_at = peer_acked_at();
	dual_active_watch(&p, m->flags);
	role_feed(EV_PEER, &p, NULL);
}

void
daemon_switchover(void)
{
	log_info("switchover to %s requested", d.fsm.peer.name);
	role_feed(EV_SWITCHOVER, NULL, NULL);
}

void
daemon_maintenance(bool on)
{
	if (on == (d.fsm.state == FSM_MAINTENANCE))
		return;
	log_info("maintenance %s", on ? "on" : "off");
	role_feed(on ? EV_MAINT_ON : EV_MAINT_OFF, NULL, NULL);
}

static void
check_links(uint64_t now)
{
	int up = 0;

	for (int i = 0; i < d.cfg.nlinks; i++)
		up += link_up(i, now);
	for (int i = 0; i < d.cfg.nlinks; i++) {
		if (d.links[i].was_up && !link_up(i, now)) {
			d.links[i].was_up = false;
			if (up)
				log_warnx("link %d (%s): peer silent; %d other "
				    "link(s) still up, no failover", i,
				    d.cfg.links[i].ifname, up);
			else
				log_warnx("link %d (%s): peer silent",
				    i, d.cfg.links[i].ifname);
		}
	}
}

static void
heartbeat_tick(void *arg)
{
	uint64_t now = now_ms();

	/* late: claim nothing before the peer's messages are read */
	if (tick_lateness() >= d.cfg.dead_ms)
		check_stall();
	else if (d.fsm.stalled)
		role_feed(EV_RESUMED, NULL, NULL);
	if (!d.fsm.stalled) {
		link_send_all();
		check_links(now);
	}
	/* fixed cadence from the previous slot; skip slots after a stall */
	hb_due = now + d.cfg.interval_ms;
	hb_due_boot = now_boot_ms() + d.cfg.interval_ms;
	loop_timer_set(&hb_timer, hb_due, heartbeat_tick, NULL);
}

void
role_addr_deleted(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	holder_addr_deleted(&vipset, family, addr, plen, ifindex);
	d.cnt.vip_repairs = vipset.repairs;
}

void
role_addr_ready(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	holder_addr_ready(&vipset, family, addr, plen, ifindex);
}

/* The state machine's view of a configuration (start and reload). */
void
role_fsm_config(const struct config *c, struct fsm_config *fc)
{
	static const int fence[] = {
		[FENCE_OFF] = FSM_FENCE_OFF,
		[FENCE_OPTIONAL] = FSM_FENCE_OPTIONAL,
		[FENCE_REQUIRED] = FSM_FENCE_REQUIRED,
	};

	memset(fc, 0, sizeof(*fc));
	snprintf(fc->name, sizeof(fc->name), "%s", c->node_name);
	fc->priority = c->priority;
	fc->dead_ms = c->dead_ms;
	fc->init_dead_ms = c->init_dead_ms;
	fc->preempt = c->preempt;
	fc->preempt_delay_ms = c->preempt_delay_ms;
	fc->stop_timeout_ms = role_stop_timeout_ms(c);
	fc->fence = fence[c->fence];
	fc->arbiter = c->narbiter > 0;
}

static bool
vips_held_off(void *arg)
{
	return check_stall();
}

/* Start heartbeats and the state machine's clock. */
void
role_start(void)
{
	static const struct holder_events ev = {
		.ready = vips_ready, .hold_off = vips_held_off,
	};

	holder_init(&vipset, &d.cfg, 0, d.cfg.nvips, &ev);
	heartbeat_tick(NULL);
	role_feed(EV_TICK, NULL, NULL);
}

/* Reload, before nc replaces the running config: VIPs it drops go now. */
void
role_reload_begin(const struct config *nc)
{
	holder_reload(&vipset, nc, 0, nc->nvips);
}

/*
 * Reload, after: new VIPs come up through the same gate as at takeover and
 * are announced; the new interval and lease apply from now.
 */
void
role_reload_end(void)
{
	holder_rebind(&vipset, &d.cfg, 0, d.cfg.nvips);
	hb_due = now_ms() + d.cfg.interval_ms;
	hb_due_boot = now_boot_ms() + d.cfg.interval_ms;
	loop_timer_set(&hb_timer, hb_due, heartbeat_tick, NULL);
}

/* A second stop signal: do not wait for the peer. */
void
role_stop_now(void)
{
	d.fsm.stop_holds = false;
	apply(ACT_DEL_VIPS | ACT_EXIT);
}
