/*
 * Carrying out the role the state machine decides: VIPs (add, refresh,
 * remove, repair), announcements, hooks, heartbeats and what the peer says.
 */
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "arbiter.h"
#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sdnotify.h"
#include "vip.h"

#define VIP_READY_MAX_MS 20	/* bound on waiting for the kernel's word */

static struct loop_timer hb_timer, fsm_timer, announce_timer, refresh_timer,
    reannounce_timer, ready_timer, fence_timer;
static bool vip_waiting[CFG_MAX_VIPS];	/* added, not yet usable (IPv6) */
static bool ready_sent;
static unsigned notified;	/* transitions of fsm.history already announced */
static unsigned announce_left;
static bool promote_after_ready;	/* promote hooks wait for vips_ready() */

static uint64_t hb_due;		/* when the heartbeat tick is due */
static uint64_t hb_due_boot;	/* the same on CLOCK_BOOTTIME (counts suspend) */

static void vips_up_now(void);
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
		vips_up_now();
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

static void
announce_all(void)
{
	for (int i = 0; i < d.cfg.nvips; i++)
		announce_vip(&d.cfg.vips[i]);
}

static void
announce_tick(void *arg)
{
	if (!fsm_holds_vips(&d.fsm))
		return;
	if (check_stall()) {	/* announce only what we still hold */
		loop_timer_set(&announce_timer, now_ms() + d.cfg.interval_ms,
		    announce_tick, NULL);
		return;
	}
	announce_all();
	if (--announce_left > 0)
		loop_timer_set(&announce_timer, now_ms() + d.cfg.announce_interval_ms,
		    announce_tick, NULL);
}

static void
reannounce_tick(void *arg)
{
	if (!fsm_holds_vips(&d.fsm) || d.cfg.announce_refresh_ms == 0)
		return;
	if (check_stall()) {
		loop_timer_set(&reannounce_timer, now_ms() + d.cfg.interval_ms,
		    reannounce_tick, NULL);
		return;
	}
	announce_all();
	loop_timer_set(&reannounce_timer, now_ms() + d.cfg.announce_refresh_ms,
	    reannounce_tick, NULL);
}

static void
announce_start(void)
{
	if (d.cfg.announce_count == 0)
		return;
	announce_all();
	announce_left = d.cfg.announce_count;
	if (--announce_left > 0)
		loop_timer_set(&announce_timer, now_ms() + d.cfg.announce_interval_ms,
		    announce_tick, NULL);
	if (d.cfg.announce_refresh_ms)
		loop_timer_set(&reannounce_timer, now_ms() + d.cfg.announce_refresh_ms,
		    reannounce_tick, NULL);
}

/* how long a graceful stop waits for the peer to take the VIPs */
unsigned
role_stop_timeout_ms(const struct config *c)
{
	return c->dead_ms * 4 > 2000 ? c->dead_ms * 4 : 2000;
}

static unsigned
refresh_period_ms(void)
{
	unsigned p = d.cfg.vip_lease_s * 1000 / 3;

	return p < 250 ? 250 : p;
}

/* Add (or refresh) every VIP; with waiting, mark the IPv6 ones added. */
static bool
vips_add_all(bool *waiting)
{
	bool any = false;

	for (int i = 0; i < d.cfg.nvips; i++)
		if (vip_add(&d.cfg.vips[i], d.cfg.vip_lease_s) == -1)
			log_warnx("could not add VIP %s on %s", d.cfg.vips[i].text,
			    d.cfg.vips[i].ifname);
		else if (waiting && d.cfg.vips[i].family == AF_INET6)
			any = waiting[i] = true;
	return any;
}

static void
refresh_tick(void *arg)
{
	if (!fsm_holds_vips(&d.fsm) || d.cfg.vip_lease_s == 0)
		return;
	/* after a freeze: only once we know the peer did not take over */
	if (check_stall()) {
		loop_timer_set(&refresh_timer, now_ms() + d.cfg.interval_ms,
		    refresh_tick, NULL);
		return;
	}
	vips_add_all(NULL);	/* NLM_F_REPLACE: renews the lifetime */
	loop_timer_set(&refresh_timer, now_ms() + refresh_period_ms(),
	    refresh_tick, NULL);
}

void
role_release(void)
{
	d.vips_up = false;
	promote_after_ready = false;
	memset(vip_waiting, 0, sizeof(vip_waiting));
	loop_timer_cancel(&ready_timer);
	loop_timer_cancel(&refresh_timer);
	loop_timer_cancel(&announce_timer);
	loop_timer_cancel(&reannounce_timer);
	for (int i = 0; i < d.cfg.nvips; i++)
		if (vip_del(&d.cfg.vips[i]) == -1)
			log_warnx("could not remove VIP %s from %s",
			    d.cfg.vips[i].text, d.cfg.vips[i].ifname);
}

/* Every VIP usable: clients may be told, and the peer may let go of its copy. */
static void
vips_ready(void *arg)
{
	if (arg != NULL)
		log_debug("no word from the kernel on the new VIPs after %d ms",
		    VIP_READY_MAX_MS);
	memset(vip_waiting, 0, sizeof(vip_waiting));
	loop_timer_cancel(&ready_timer);
	if (!fsm_holds_vips(&d.fsm) || d.vips_up)
		return;
	d.vips_up = true;
	announce_start();
	link_send_all();
	if (promote_after_ready) {
		promote_after_ready = false;
		run_hooks("promote", hook_done);
	}
}

static void
vips_up_now(void)
{
	bool wait = vips_add_all(vip_waiting);

	if (d.cfg.vip_lease_s)
		loop_timer_set(&refresh_timer, now_ms() + refresh_period_ms(),
		    refresh_tick, NULL);
	if (!wait) {
		vips_ready(NULL);
		return;
	}
	/* until then heartbeats say "active, not holding": make-before-break */
	loop_timer_set(&ready_timer, now_ms() + VIP_READY_MAX_MS, vips_ready,
	    &ready_timer);
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
		vips_up_now();
	else if (acts & ACT_ANNOUNCE)
		announce_start();
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

static bool
our_vip(int family, const unsigned char *addr, int plen, int ifindex,
    const struct cfg_vip **out)
{
	for (int i = 0; i < d.cfg.nvips; i++) {
		const struct cfg_vip *v = &d.cfg.vips[i];

		if (v->family != family || v->prefixlen != plen ||
		    memcmp(v->addr, addr, family == AF_INET ? 4 : 16) != 0)
			continue;
		if (vip_ifindex(v->ifname) != ifindex)
			continue;
		*out = v;
		return true;
	}
	return false;
}

void
role_addr_deleted(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	const struct cfg_vip *v;

	if (!fsm_holds_vips(&d.fsm) || !our_vip(family, addr, plen, ifindex, &v))
		return;
	/* the news may be of our own removal, before we added it again */
	if (vip_present(v) == 1)
		return;
	/* expired while we were frozen: the refresh restores it if still ours */
	if (check_stall())
		return;
	/* the news of our own release may arrive after we took the VIPs back */
	if (vip_present(v) == 1)
		return;
	/* someone removed our VIP while we serve it: put it back at once */
	d.cnt.vip_repairs++;
	log_warnx("VIP %s was removed from %s by someone else: restoring it",
	    v->text, v->ifname);
	if (vip_add(v, d.cfg.vip_lease_s) == 0)
		announce_vip(v);
}

void
role_addr_ready(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	const struct cfg_vip *v;
	bool waiting = false;

	if (!our_vip(family, addr, plen, ifindex, &v))
		return;
	vip_waiting[v - d.cfg.vips] = false;
	for (int i = 0; i < d.cfg.nvips; i++)
		waiting |= vip_waiting[i];
	if (!waiting && ready_timer.when != 0)
		vips_ready(NULL);
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

/* Start heartbeats and the state machine's clock. */
void
role_start(void)
{
	heartbeat_tick(NULL);
	role_feed(EV_TICK, NULL, NULL);
}

/* After a reload: new interval and lease apply from now. */
void
role_reschedule(void)
{
	if (fsm_holds_vips(&d.fsm) && d.cfg.vip_lease_s)
		loop_timer_set(&refresh_timer, now_ms() + refresh_period_ms(),
		    refresh_tick, NULL);
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
