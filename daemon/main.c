/*
 * failoverd: one epoll loop (timerfd, signalfd, sockets, netlink). The
 * state machine decides; this file only carries out its actions.
 */
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/epoll.h>

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sdnotify.h"
#include "vip.h"

#define DEFAULT_CONF	"/etc/failoverd/failoverd.conf"
#define EXIT_GRACE_MS	3000	/* hooks still running at exit get this long */

struct daemon d;

static const char *conf_path = DEFAULT_CONF;
static struct loop_timer hb_timer, fsm_timer, announce_timer, refresh_timer,
    reannounce_timer, watchdog_timer;
static bool ready_sent;
static unsigned notified;	/* transitions of fsm.history already announced */
static unsigned announce_left;

static void fsm_feed(enum fsm_event, const struct fsm_peer *, const char *);
static void heartbeat_tick(void *);
static void track_init(void);

static void
vips_text(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < d.cfg.nvips && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? " " : "", d.cfg.vips[i].text);
}

/*
 * Local faults (failed checks, lost carrier, unreachable arbiter, failed
 * promote hook), each keyed by its reason. The first one sends the FSM to
 * fault; the last one gone lets it elect again.
 */
#define FAULT_MAX	(CFG_MAX_CHECKS + CFG_MAX_TRACK + CFG_MAX_VIPS + 4)
#define HOOK_FAULT_HOLD_MS 30000	/* a failed promote hook keeps us out this long */

static char faults[FAULT_MAX][FSM_REASON_MAX];
static int nfaults;
static struct loop_timer hook_fault_timer;
static char hook_fault[FSM_REASON_MAX];

static void
fault_set(const char *reason, bool on)
{
	int i;

	for (i = 0; i < nfaults; i++)
		if (strcmp(faults[i], reason) == 0)
			break;
	if (on && i == nfaults && nfaults < FAULT_MAX) {
		snprintf(faults[nfaults++], FSM_REASON_MAX, "%s", reason);
		log_warnx("fault: %s", reason);
		fsm_feed(EV_FAULT, NULL, reason);
	} else if (!on && i < nfaults) {
		log_info("fault cleared: %s", reason);
		memmove(faults[i], faults[i + 1], (size_t)(nfaults - i - 1) * FSM_REASON_MAX);
		if (--nfaults == 0)
			fsm_feed(EV_FAULT_CLEAR, NULL, NULL);
	}
}

static void
hook_fault_expired(void *arg)
{
	/* back to standby, but no preempting into the same failing hook */
	d.fsm.no_preempt = true;
	fault_set(hook_fault, false);
}

static void vips_up_now(void);

static void
hook_done(void *arg, const char *kind, bool ok, const char *failed)
{
	if (strcmp(kind, "promote") != 0)
		return;
	if (ok) {
		/* hooks-first: the VIPs come up only now, if still wanted */
		if (d.promote_gate && fsm_holds_vips(&d.fsm)) {
			d.promote_gate = false;
			vips_up_now();
			link_send_all();
		}
		return;
	}
	d.promote_gate = false;
	/* a promotion that did not work: let the peer serve */
	snprintf(hook_fault, sizeof(hook_fault), "hook-failed:%s",
	    failed ? failed : "?");
	log_warnx("promote hook %s failed: giving up the active role",
	    failed ? failed : "?");
	loop_timer_set(&hook_fault_timer, now_ms() + HOOK_FAULT_HOLD_MS,
	    hook_fault_expired, NULL);
	fault_set(hook_fault, true);
}

static void
fence_done(void *arg, const char *kind, bool ok, const char *failed)
{
	char why[FSM_REASON_MAX + 32];

	if (ok)
		log_info("fencing of %s done", d.fsm.peer.name);
	else {
		snprintf(why, sizeof(why), "fence hook %s failed", failed ? failed : "?");
		log_warnx("FENCING FAILED: %s; %s", why,
		    d.cfg.fence == FENCE_REQUIRED ?
		    "NOT taking over (cluster.fence = \"required\")" :
		    "taking over anyway (cluster.fence = \"optional\")");
	}
	if (d.cfg.fence == FENCE_REQUIRED)
		fsm_feed(EV_FENCED, NULL, ok ? NULL : why);
}

/* Hooks of one transition see that transition, not whatever came later. */
static void
run_hooks_for(const char *kind, const struct fsm_transition *t, hooks_done_cb done)
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
	if (hooks_run(kind, &env, done, NULL) == -1)
		log_warnx("cannot queue %s hooks", kind);
}

static void
run_hooks(const char *kind, hooks_done_cb done)
{
	run_hooks_for(kind, NULL, done);
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
static unsigned
stop_timeout_ms(const struct config *c)
{
	return c->dead_ms * 4 > 2000 ? c->dead_ms * 4 : 2000;
}

static unsigned
refresh_period_ms(void)
{
	unsigned p = d.cfg.vip_lease_s * 1000 / 3;

	return p < 250 ? 250 : p;
}

static void
vips_add_all(void)
{
	for (int i = 0; i < d.cfg.nvips; i++)
		if (vip_add(&d.cfg.vips[i], d.cfg.vip_lease_s) == -1)
			log_warnx("could not add VIP %s on %s", d.cfg.vips[i].text,
			    d.cfg.vips[i].ifname);
}

static void
refresh_tick(void *arg)
{
	if (!fsm_holds_vips(&d.fsm) || d.cfg.vip_lease_s == 0)
		return;
	vips_add_all();		/* NLM_F_REPLACE: renews the lifetime */
	loop_timer_set(&refresh_timer, now_ms() + refresh_period_ms(),
	    refresh_tick, NULL);
}

static void
vips_del_all(void)
{
	d.vips_up = false;
	loop_timer_cancel(&refresh_timer);
	loop_timer_cancel(&announce_timer);
	loop_timer_cancel(&reannounce_timer);
	for (int i = 0; i < d.cfg.nvips; i++)
		if (vip_del(&d.cfg.vips[i]) == -1)
			log_warnx("could not remove VIP %s from %s",
			    d.cfg.vips[i].text, d.cfg.vips[i].ifname);
}

static void
vips_up_now(void)
{
	vips_add_all();
	d.vips_up = true;
	if (d.cfg.vip_lease_s)
		loop_timer_set(&refresh_timer, now_ms() + refresh_period_ms(),
		    refresh_tick, NULL);
	announce_start();
}

static void
apply(unsigned acts)
{
	if (acts & ACT_NOTIFY) {
		/* READY once we have a role, not merely once we run */
		sdnotify("%sSTATUS=%s (%s)", ready_sent ? "" : "READY=1\n",
		    fsm_state_name(d.fsm.state), d.fsm.reason);
		ready_sent = true;
	}
	if (acts & ACT_FENCE)
		run_hooks("fence", fence_done);
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
		vips_del_all();
	}
	/* after the VIPs changed: the peer learns the outcome, not the intent */
	if (acts & ACT_SEND_NOW)
		link_send_all();
	if (acts & ACT_PROMOTE)
		run_hooks("promote", hook_done);
	if (acts & ACT_DEMOTE)
		run_hooks("demote", hook_done);
	/* one event may pass through two states (init -> standby -> active) */
	for (; notified < d.fsm.nhistory; notified++) {
		const struct fsm_transition *t =
		    &d.fsm.history[notified % FSM_HISTORY];

		log_info("state %s -> %s (%s)", fsm_state_name(t->from),
		    fsm_state_name(t->to), t->reason);
		run_hooks_for("notify", t, hook_done);
	}
	if (acts & ACT_EXIT) {
		if (!d.exiting)
			sdnotify("STOPPING=1\nSTATUS=stopping");
		d.exiting = true;
	}
}

static void
watchdog_tick(void *arg)
{
	/* petted from the loop itself: a stuck loop stops the pets */
	sdnotify("WATCHDOG=1");
	loop_timer_set(&watchdog_timer, now_ms() + sdnotify_watchdog_ms(),
	    watchdog_tick, NULL);
}

static void
fsm_tick(void *arg)
{
	fsm_feed(EV_TICK, NULL, NULL);
}

static void
fsm_feed(enum fsm_event ev, const struct fsm_peer *p, const char *reason)
{
	uint64_t next;

	apply(fsm_event(&d.fsm, ev, p, reason, now_ms()));
	next = fsm_next_deadline(&d.fsm);
	if (next == UINT64_MAX)
		loop_timer_cancel(&fsm_timer);
	else
		loop_timer_set(&fsm_timer, next, fsm_tick, NULL);
}

static void
dual_active_watch(const struct fsm_peer *p)
{
	bool dual = d.fsm.state == FSM_ACTIVE && p->state == FSM_ACTIVE &&
	    !p->handover && !d.fsm.handover;

	if (dual && d.dual_since == 0) {
		d.dual_since = now_ms();
		d.cnt.dual_active++;
		log_warnx("both nodes active (a healed partition?): %s",
		    fsm_wins(&d.fsm, p) ? "this node wins and keeps the VIPs" :
		    "the peer wins, this node releases the VIPs");
	} else if (!dual && d.dual_since) {
		log_info("dual-active episode over after %llu ms",
		    (unsigned long long)(now_ms() - d.dual_since));
		d.dual_since = 0;
	}
}

/*
 * Called before any input is handled: if the heartbeat is overdue by more
 * than dead_ms we were frozen (SIGSTOP, a VM pause, starvation) and the
 * peer has likely taken over. The FSM then yields to an active peer
 * instead of fighting it; the heartbeat timer marks the stall as over.
 */
static void
check_stall(void)
{
	uint64_t now = now_ms();

	if (d.fsm.stalled || hb_timer.when == 0 ||
	    now < hb_timer.when + d.cfg.dead_ms)
		return;
	log_warnx("event loop stalled for about %llu ms (frozen?): yielding to "
	    "an active peer", (unsigned long long)(now - hb_timer.when +
	    d.cfg.interval_ms));
	fsm_feed(EV_STALLED, NULL, NULL);
}

void
daemon_peer_message(int i, const struct msg *m)
{
	struct link_state *ls = &d.links[i];
	struct fsm_peer p = { 0 };
	uint64_t now = now_ms(), t = now_us();

	if (!ls->was_up)
		log_info("link %d (%s): peer %s heard", i, d.cfg.links[i].ifname,
		    m->name);
	ls->was_up = true;
	ls->heard = true;
	ls->heard_at = now;
	if (m->echo_time_us && t >= m->echo_time_us + m->echo_delay_us) {
		ls->rtt_us = t - m->echo_time_us - m->echo_delay_us;
		ls->rtt_valid = true;
	}
	ls->peer_tx_us = m->tx_time_us;
	ls->peer_rx_us = t;
	check_stall();

	snprintf(p.name, sizeof(p.name), "%s", m->name);
	p.state = (enum fsm_state)m->state;
	p.priority = m->priority;
	p.handover = (m->flags & PROTO_F_HANDOVER) != 0;
	p.holds = (m->flags & PROTO_F_HOLDS) != 0;
	dual_active_watch(&p);
	fsm_feed(EV_PEER, &p, NULL);
}

void
daemon_switchover(void)
{
	log_info("switchover to %s requested", d.fsm.peer.name);
	fsm_feed(EV_SWITCHOVER, NULL, NULL);
}

void
daemon_maintenance(bool on)
{
	if (on == (d.fsm.state == FSM_MAINTENANCE))
		return;
	log_info("maintenance %s", on ? "on" : "off");
	fsm_feed(on ? EV_MAINT_ON : EV_MAINT_OFF, NULL, NULL);
}

static bool
same_vip(const struct cfg_vip *a, const struct cfg_vip *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, 16) == 0 && strcmp(a->ifname, b->ifname) == 0 &&
	    strcmp(a->label, b->label) == 0;
}

static bool
has_vip(const struct config *c, const struct cfg_vip *v)
{
	for (int i = 0; i < c->nvips; i++)
		if (same_vip(&c->vips[i], v))
			return true;
	return false;
}

static bool
same_links(const struct config *a, const struct config *b)
{
	if (a->nlinks != b->nlinks || a->port != b->port)
		return false;
	for (int i = 0; i < a->nlinks; i++)
		if (strcmp(a->links[i].ifname, b->links[i].ifname) != 0 ||
		    memcmp(&a->links[i].local, &b->links[i].local, sizeof(a->links[i].local)) ||
		    memcmp(&a->links[i].peer, &b->links[i].peer, sizeof(a->links[i].peer)))
			return false;
	return true;
}

/* Load and vet a new configuration; nothing running changes here. */
static struct auth *
reload_load(struct config *nc, char *err, size_t errlen)
{
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	struct auth *na;

	if (config_load(conf_path, nc, err, errlen) == -1)
		return NULL;
	if (strcmp(nc->node_name, d.cfg.node_name) != 0 ||
	    nc->cluster_id != d.cfg.cluster_id ||
	    strcmp(nc->state_dir, d.cfg.state_dir) != 0 ||
	    strcmp(nc->runtime_dir, d.cfg.runtime_dir) != 0) {
		snprintf(err, errlen, "%s: node.name, cluster.id, state_dir and "
		    "runtime_dir need a restart\n", conf_path);
		return NULL;
	}
	if (auth_load_key(nc->key_file, key, &keylen, err, errlen) == -1)
		return NULL;
	na = auth_new(key, keylen);
	explicit_bzero(key, sizeof(key));
	if (na == NULL)
		snprintf(err, errlen, "cannot set up HMAC-SHA256\n");
	return na;
}

/*
 * Apply a vetted configuration without a failover: VIPs still configured
 * stay untouched, added ones come up (when we hold the VIPs), removed ones
 * go; timers apply from the next heartbeat.
 */
static void
reload_apply(struct config *nc, struct auth *na)
{
	bool holds = fsm_holds_vips(&d.fsm);

	auth_free(d.auth);
	d.auth = na;
	if (hooks_init(nc->hooks_dir, nc->hooks_timeout_ms) == -1)
		log_warnx("reload: hooks in %s cannot be set up", nc->hooks_dir);
	for (int i = 0; holds && i < d.cfg.nvips; i++)
		if (!has_vip(nc, &d.cfg.vips[i])) {
			log_info("reload: removing VIP %s", d.cfg.vips[i].text);
			vip_del(&d.cfg.vips[i]);
		}
	for (int i = 0; holds && i < nc->nvips; i++)
		if (!has_vip(&d.cfg, &nc->vips[i])) {
			log_info("reload: adding VIP %s", nc->vips[i].text);
			if (vip_add(&nc->vips[i], nc->vip_lease_s) == 0)
				announce_vip(&nc->vips[i]);
		}
	if (!same_links(&d.cfg, nc)) {
		link_close_all();
		memset(d.links, 0, sizeof(d.links));
		memcpy(&d.cfg, nc, sizeof(*nc));
		if (link_open_all() == -1)
			log_warnx("reload: some heartbeat links could not be opened");
	}
	memcpy(&d.cfg, nc, sizeof(*nc));
	d.fsm.cfg.dead_ms = nc->dead_ms;
	d.fsm.cfg.init_dead_ms = nc->init_dead_ms;
	d.fsm.cfg.preempt = nc->preempt;
	d.fsm.cfg.preempt_delay_ms = nc->preempt_delay_ms;
	d.fsm.cfg.stop_timeout_ms = stop_timeout_ms(nc);
	d.fsm.cfg.fence = nc->fence == FENCE_REQUIRED ? FSM_FENCE_REQUIRED :
	    nc->fence == FENCE_OPTIONAL ? FSM_FENCE_OPTIONAL : FSM_FENCE_OFF;
	if (holds && nc->vip_lease_s)
		loop_timer_set(&refresh_timer, now_ms() + refresh_period_ms(),
		    refresh_tick, NULL);
	loop_timer_set(&hb_timer, now_ms() + d.cfg.interval_ms, heartbeat_tick, NULL);
	track_init();
	if (d.fsm.cfg.priority != nc->priority) {
		d.fsm.eff_priority += nc->priority - d.fsm.cfg.priority;
		d.fsm.cfg.priority = nc->priority;
		fsm_feed(EV_PRIORITY, NULL, NULL);
	}
}

int
daemon_reload(char *err, size_t errlen)
{
	static struct config nc;
	struct auth *na;

	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_us());
	if ((na = reload_load(&nc, err, errlen)) == NULL) {
		log_warnx("reload refused, keeping the running configuration: %s", err);
		sdnotify("READY=1\nSTATUS=%s (reload refused)",
		    fsm_state_name(d.fsm.state));
		return -1;
	}
	reload_apply(&nc, na);
	sdnotify("READY=1\nSTATUS=%s (%s)", fsm_state_name(d.fsm.state), d.fsm.reason);
	log_info("configuration reloaded from %s", conf_path);
	return 0;
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

	if (d.fsm.stalled)
		fsm_feed(EV_RESUMED, NULL, NULL);
	link_send_all();
	check_links(now);
	/* fixed cadence from the previous slot; skip slots after a stall */
	hb_timer.when = 0;
	loop_timer_set(&hb_timer, now + d.cfg.interval_ms, heartbeat_tick, NULL);
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

static void
on_addr_deleted(void *arg, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	const struct cfg_vip *v;

	if (!fsm_holds_vips(&d.fsm) || !our_vip(family, addr, plen, ifindex, &v))
		return;
	/* someone removed our VIP while we serve it: put it back at once */
	d.cnt.vip_repairs++;
	log_warnx("VIP %s was removed from %s by someone else: restoring it",
	    v->text, v->ifname);
	if (vip_add(v, d.cfg.vip_lease_s) == 0)
		announce_vip(v);
}

/*
 * Interface tracking: carrier loss on a VIP interface or a tracked one is
 * a fault after track_debounce_ms; carrier back clears it at once.
 */
struct tracked {
	char			ifname[IF_NAMESIZE];
	bool			down;
	struct loop_timer	timer;
};
static struct tracked tracked[CFG_MAX_TRACK + CFG_MAX_VIPS];
static int ntracked;

static void
track_reason(const struct tracked *t, char *buf, size_t len)
{
	snprintf(buf, len, "interface-down:%s", t->ifname);
}

static void
track_debounced(void *arg)
{
	struct tracked *t = arg;
	char reason[FSM_REASON_MAX];

	track_reason(t, reason, sizeof(reason));
	fault_set(reason, true);
}

static void
track_update(struct tracked *t, bool carrier, unsigned debounce_ms)
{
	char reason[FSM_REASON_MAX];

	if (carrier) {
		loop_timer_cancel(&t->timer);
		t->down = false;
		track_reason(t, reason, sizeof(reason));
		fault_set(reason, false);
		return;
	}
	if (t->down)
		return;
	t->down = true;
	log_warnx("interface %s lost carrier%s", t->ifname,
	    debounce_ms ? " (debouncing)" : "");
	if (debounce_ms)
		loop_timer_set(&t->timer, now_ms() + debounce_ms, track_debounced, t);
	else
		track_debounced(t);
}

static void
track_add(const char *ifname)
{
	for (int i = 0; i < ntracked; i++)
		if (strcmp(tracked[i].ifname, ifname) == 0)
			return;
	if (ntracked == (int)(sizeof(tracked) / sizeof(tracked[0])))
		return;
	snprintf(tracked[ntracked].ifname, IF_NAMESIZE, "%s", ifname);
	ntracked++;
}

/* (Re)build the tracked set from the config and read each carrier now. */
static void
track_init(void)
{
	char reason[FSM_REASON_MAX];

	for (int i = 0; i < ntracked; i++) {
		loop_timer_cancel(&tracked[i].timer);
		track_reason(&tracked[i], reason, sizeof(reason));
		fault_set(reason, false);
	}
	ntracked = 0;
	for (int i = 0; i < d.cfg.nvips; i++)
		track_add(d.cfg.vips[i].ifname);
	for (int i = 0; i < d.cfg.ntrack; i++)
		track_add(d.cfg.track_interfaces[i]);
	for (int i = 0; i < ntracked; i++) {
		tracked[i].down = false;
		track_update(&tracked[i], vip_link_carrier(tracked[i].ifname) == 1, 0);
	}
}

static void
on_link_changed(void *arg, const char *ifname, int ifindex, bool carrier)
{
	for (int i = 0; i < ntracked; i++)
		if (strcmp(tracked[i].ifname, ifname) == 0)
			track_update(&tracked[i], carrier, d.cfg.track_debounce_ms);
}

static void
on_netlink(int fd, uint32_t events, void *arg)
{
	vip_watch_read();
}

static void
on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (d.fsm.state == FSM_STOPPING) {
				log_warnx("second stop signal: leaving now");
				d.fsm.stop_holds = false;
				apply(ACT_DEL_VIPS | ACT_EXIT);
				break;
			}
			log_info("stop requested");
			fsm_feed(EV_STOP, NULL, NULL);
			break;
		case SIGHUP:
			d.reload_requested = true;
			break;
		}
	}
}

static int
setup_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -1;
	return loop_add_fd(fd, EPOLLIN, on_signal, NULL);
}

static void
go_realtime(void)
{
	struct sched_param sp = { .sched_priority = 50 };

	if (sched_setscheduler(0, SCHED_FIFO, &sp) == -1)
		log_warn("realtime: SCHED_FIFO");
	if (mlockall(MCL_CURRENT | MCL_FUTURE) == -1)
		log_warn("realtime: mlockall");
}

static int
check_only(void)
{
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	char err[CFG_ERR_MAX];

	if (auth_load_key(d.cfg.key_file, key, &keylen, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", d.cfg.path, err);
		return 1;
	}
	printf("%s: configuration OK\n", d.cfg.path);
	return 0;
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: failoverd [-f FILE] [-t] [-v] [-V]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct vip_events vev = {
		.addr_deleted = on_addr_deleted,
		.link_changed = on_link_changed,
	};
	char err[CFG_ERR_MAX];
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	struct fsm_config fc = { 0 };
	int ch, test = 0, verbose = 0;
	uint64_t exit_deadline = 0;

	while ((ch = getopt(argc, argv, "f:tvV")) != -1) {
		switch (ch) {
		case 'f':
			conf_path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("failoverd %s\n", FOD_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("failoverd", verbose);

	if (config_load(conf_path, &d.cfg, err, sizeof(err)) == -1) {
		fputs(err, stderr);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return 1;
	}
	if (test)
		return check_only();
	if (auth_load_key(d.cfg.key_file, key, &keylen, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((d.auth = auth_new(key, keylen)) == NULL)
		fatalx("cannot set up HMAC-SHA256");
	explicit_bzero(key, sizeof(key));
	if (epoch_next(d.cfg.state_dir, &d.epoch, err, sizeof(err)) == -1)
		fatalx("%s", err);
	replay_reset(&d.replay);

	static char tag[64];
	snprintf(tag, sizeof(tag), "failoverd[%s]", d.cfg.node_name);
	log_set_tag(tag);

	if (d.cfg.realtime)
		go_realtime();
	if (loop_init() == -1)
		fatal("event loop");
	if (setup_signals() == -1)
		fatal("signals");
	if (vip_init(&vev) == -1)
		fatalx("netlink: cannot open route sockets");
	if (loop_add_fd(vip_watch_fd(), EPOLLIN, on_netlink, NULL) == -1)
		fatal("netlink watch");
	if (announce_init() == -1)
		fatalx("cannot open ARP/NA sockets");
	if (hooks_init(d.cfg.hooks_dir, d.cfg.hooks_timeout_ms) == -1)
		fatalx("hooks");
	/* a copy left by an earlier run (crash, kill -9) must not linger */
	for (int i = 0; i < d.cfg.nvips; i++)
		if (vip_present(&d.cfg.vips[i]) == 1) {
			log_info("removing stale VIP %s from %s", d.cfg.vips[i].text,
			    d.cfg.vips[i].ifname);
			vip_del(&d.cfg.vips[i]);
		}
	if (link_open_all() == -1)
		fatalx("cannot open heartbeat links");
	if (control_init() == -1)
		fatalx("cannot open the control socket in %s", d.cfg.runtime_dir);

	snprintf(fc.name, sizeof(fc.name), "%s", d.cfg.node_name);
	fc.priority = d.cfg.priority;
	fc.dead_ms = d.cfg.dead_ms;
	fc.init_dead_ms = d.cfg.init_dead_ms;
	fc.preempt = d.cfg.preempt;
	fc.preempt_delay_ms = d.cfg.preempt_delay_ms;
	fc.stop_timeout_ms = stop_timeout_ms(&d.cfg);
	fc.fence = d.cfg.fence == FENCE_REQUIRED ? FSM_FENCE_REQUIRED :
	    d.cfg.fence == FENCE_OPTIONAL ? FSM_FENCE_OPTIONAL : FSM_FENCE_OFF;
	d.started_ms = now_ms();
	fsm_init(&d.fsm, &fc, d.started_ms);
	log_info("started (version %s, epoch %llu, priority %d, %d link(s), %d VIP(s))",
	    FOD_VERSION, (unsigned long long)d.epoch, d.cfg.priority,
	    d.cfg.nlinks, d.cfg.nvips);

	sdnotify_init();
	if (sdnotify_watchdog_ms())
		watchdog_tick(NULL);
	heartbeat_tick(NULL);
	track_init();
	fsm_feed(EV_TICK, NULL, NULL);

	for (;;) {
		if (loop_run_once() == -1)
			fatal("epoll_wait");
		if (d.reload_requested) {
			d.reload_requested = false;
			char rerr[CFG_ERR_MAX];

			(void)daemon_reload(rerr, sizeof(rerr));
		}
		if (!d.exiting)
			continue;
		if (exit_deadline == 0)
			exit_deadline = now_ms() + d.cfg.hooks_timeout_ms + EXIT_GRACE_MS;
		/* let demote hooks of a graceful stop finish, within a bound */
		if (hooks_pending() == 0 || now_ms() >= exit_deadline)
			break;
		loop_timer_set(&fsm_timer, now_ms() + 50, fsm_tick, NULL);
	}
	if (fsm_holds_vips(&d.fsm))
		vips_del_all();
	hooks_finalise();
	control_finalise();
	link_close_all();
	announce_finalise();
	vip_finalise();
	auth_free(d.auth);
	loop_finalise();
	sdnotify_finalise();
	log_info("stopped");
	return 0;
}
