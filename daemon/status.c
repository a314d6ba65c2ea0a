/*
 * status_fill(): the one place that reads the daemon for `failoverctl
 * status`, through the modules' own accessors where they offer one.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "arbiter.h"
#include "checks.h"
#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "quorum.h"
#include "status.h"
#include "vip.h"

static void
addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
		    (socklen_t)len);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    buf, (socklen_t)len);
}

/* One VIP group; without groups, the top-level vips are "default" (design 9). */
static void
fill_group(struct status_group *g, int gi, uint64_t now)
{
	const struct fsm *f = &d.groups[gi].fsm;
	const struct cfg_group *cg = &d.cfg.groups[gi];
	unsigned n = f->nhistory < FSM_HISTORY ? f->nhistory : FSM_HISTORY;
	const char *faults[STATUS_FAULTS_MAX];

	snprintf(g->name, sizeof(g->name), "%s", cg->name);
	g->state = f->state;
	snprintf(g->reason, sizeof(g->reason), "%s", f->reason);
	g->since_ms_ago = now - f->since;
	g->priority = cg->priority;
	g->eff_priority = f->eff_priority;
	g->preempt = cg->preempt;
	g->preempt_delay_ms = cg->preempt_delay_ms;
	g->peer.known = f->peer_known;
	snprintf(g->peer.name, sizeof(g->peer.name), "%s",
	    f->peer_known ? f->peer.name : "");
	g->peer.has = d.groups[gi].peer_has;
	g->peer.alive = fsm_peer_alive(f, now);
	g->peer.state = f->peer.state;
	g->peer.priority = f->peer_known ? f->peer.priority : 0;
	g->nfaults = faults_of_group(gi, faults, 8);
	for (int i = 0; i < g->nfaults; i++)
		snprintf(g->faults[i], sizeof(g->faults[i]), "%s", faults[i]);

	g->nvips = cg->nvips;
	for (int i = 0; i < cg->nvips; i++) {
		const struct cfg_vip *v = &d.cfg.vips[cg->first_vip + i];
		struct status_vip *sv = &g->vips[i];

		snprintf(sv->address, sizeof(sv->address), "%s", v->text);
		snprintf(sv->ifname, sizeof(sv->ifname), "%s", v->ifname);
		sv->present = vip_present(v) == 1;
		sv->expected = fsm_holds_vips(f);

	}

	g->ntransitions = (int)n;
	for (unsigned k = 0; k < n; k++) {
		const struct fsm_transition *t =
		    &f->log->history[(f->nhistory - 1 - k) % FSM_HISTORY];
		struct status_transition *st = &g->transitions[k];

		st->from = t->from;
		st->to = t->to;
		snprintf(st->reason, sizeof(st->reason), "%s", t->reason);
		st->ms_ago = now - t->at;
	}
	g->ncounts = (int)f->log->ncounts;
	memcpy(g->counts, f->log->counts, sizeof(f->log->counts[0]) *
	    f->log->ncounts);
	g->vip_repairs = d.groups[gi].vips.repairs;
}

static void
fill_peers(struct status_snapshot *s, uint64_t now)
{
	const struct peers *ps = role_peers();

	s->npeers = ps->n;
	for (int i = 0; i < ps->n; i++) {
		snprintf(s->peers[i].name, sizeof(s->peers[i].name), "%s",
		    ps->p[i].name);
		s->peers[i].alive = peers_alive(ps, i, now);
		s->peers[i].heard_ms_ago = now - ps->p[i].heard;
	}
}

static void
fill_links(struct status_snapshot *s, uint64_t now)
{
	s->nlinks = d.cfg.nlinks;
	for (int i = 0; i < d.cfg.nlinks; i++) {
		const struct cfg_link *l = &d.cfg.links[i];
		const struct link_state *ls = &d.links[i];
		struct status_link *sl = &s->links[i];

		snprintf(sl->ifname, sizeof(sl->ifname), "%s", l->ifname);
		snprintf(sl->node, sizeof(sl->node), "%s", ls->peer_name);
		addr_text(&l->local, sl->local, sizeof(sl->local));
		addr_text(&l->peer, sl->peer, sizeof(sl->peer));
		sl->up = link_up(i, now);
		sl->heard = ls->heard;
		sl->heard_ms_ago = ls->heard ? now - ls->heard_at : 0;
		sl->rtt_valid = ls->rtt_valid;
		sl->rtt_us = ls->rtt_valid ? ls->rtt_us : 0;
		sl->echoed = sl->up && ls->acked_us != 0;
		sl->echoed_ms_ago = sl->echoed && now >= ls->acked_us / 1000 ?
		    now - ls->acked_us / 1000 : 0;
		sl->sent = ls->sent;
		sl->received = ls->received;
		sl->send_errors = ls->send_errors;
	}
}

static void
fill_health(struct status_snapshot *s, uint64_t now)
{
	const char *f[STATUS_FAULTS_MAX];
	struct check_info ci;
	struct arbiter_info ai;

	s->nfaults = faults_get(f, STATUS_FAULTS_MAX);
	for (int i = 0; i < s->nfaults; i++)
		snprintf(s->faults[i], sizeof(s->faults[i]), "%s", f[i]);

	s->nchecks = 0;
	for (int i = 0; i < d.cfg.nchecks; i++) {
		struct status_check *sc = &s->checks[s->nchecks];

		if (checks_info(i, &ci) == -1)
			continue;
		snprintf(sc->name, sizeof(sc->name), "%s", d.cfg.checks[i].name);
		sc->healthy = ci.healthy;
		sc->recovering = ci.recovering;
		sc->ok_run = ci.ok_run;
		sc->fail_run = ci.fail_run;
		sc->recover_runs = ci.recover_runs;
		sc->last_exit = ci.last_exit;
		sc->ran = ci.last_run_ms != 0;
		sc->last_run_ms_ago = sc->ran ? now - ci.last_run_ms : 0;
		sc->penalty = d.cfg.checks[i].on_fail_penalty;
		sc->runs = ci.runs;
		sc->failures = ci.failures;
		s->nchecks++;
	}

	arbiter_get(&ai);
	s->arbiter.enabled = ai.enabled;
	s->arbiter.reachable = ai.reachable;
	s->arbiter.misses = ai.misses;
	s->arbiter.replied = ai.last_reply_ms != 0;
	s->arbiter.last_reply_ms_ago = s->arbiter.replied ? now - ai.last_reply_ms : 0;
}

void
status_fill(struct status_snapshot *s, uint64_t now)
{
	snprintf(s->version, sizeof(s->version), "%s", FOD_VERSION);
	snprintf(s->node, sizeof(s->node), "%s", d.cfg.node_name);
	s->cluster_id = d.cfg.cluster_id;
	s->maintenance = d.ngroups > 0 &&
	    d.groups[0].fsm.state == FSM_MAINTENANCE;
	s->epoch = d.epoch;
	s->uptime_ms = now - d.started_ms;
	s->groups_explicit = d.cfg.groups_explicit;

	/* the peer as the group that heard it last knows it */
	memset(&s->peer, 0, sizeof(s->peer));
	for (int i = 0; i < d.ngroups; i++) {
		const struct fsm *f = &d.groups[i].fsm;

		if (!f->peer_known || (s->peer.known &&
		    now - f->peer_heard >= s->peer.heard_ms_ago))
			continue;
		s->peer.known = true;
		snprintf(s->peer.name, sizeof(s->peer.name), "%s", f->peer.name);
		s->peer.alive = fsm_peer_alive(f, now);
		s->peer.heard_ms_ago = now - f->peer_heard;
	}

	s->ngroups = d.ngroups;
	for (int i = 0; i < d.ngroups; i++)
		fill_group(&s->groups[i], i, now);
	fill_peers(s, now);
	fill_links(s, now);

	s->timers.interval_ms = d.cfg.interval_ms;
	s->timers.dead_ms = d.cfg.dead_ms;
	s->timers.init_dead_ms = d.cfg.init_dead_ms;
	s->timers.standby_interval_ms = d.cfg.standby_interval_ms;
	s->timers.preempt = d.cfg.preempt;
	s->timers.preempt_delay_ms = d.cfg.preempt_delay_ms;
	s->timers.vip_lease_s = d.cfg.vip_lease_s;

	fill_health(s, now);

	memset(&s->quorum, 0, sizeof(s->quorum));
	if (quorum_enabled())
		etcd_to_status(&s->quorum, now);
	s->quorum_ok = quorum_lease_ok(now);
	s->quorum_keyless = role_keyless();
	s->quorum_release = d.cfg.quorum.on_loss == QUORUM_RELEASE;

	s->cnt = d.cnt;
	s->log_dropped = log_dropped();
	s->hooks_skipped = hooks_skipped();
	hooks_get_stats(&s->hooks);
	announce_get_stats(&s->announce);
	reload_get_stats(&s->reloads);
}
