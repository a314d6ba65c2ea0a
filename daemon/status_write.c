/*
 * The health verdict, the human view and the JSON object (version 1,
 * docs/status-json.md) of a status snapshot. Reads the snapshot only.
 * Version 1 had no groups: its top-level state, priorities and transitions
 * are those of the first group, its vips those of every group, and
 * "groups" lists each group (added with VIP groups, design 9).
 */
#include <stdio.h>

#include "status.h"

static const char *
tf(bool b)
{
	return b ? "true" : "false";
}

bool
status_healthy(const struct status_snapshot *s)
{
	for (int i = 0; i < s->ngroups; i++) {
		enum fsm_state st = s->groups[i].state;

		if (st != FSM_ACTIVE && st != FSM_STANDBY && st != FSM_MAINTENANCE)
			return false;
	}
	return true;
}

/* ---- text ---- */

static void
ago(struct out *o, uint64_t ms)
{
	if (ms < 10000)
		out_printf(o, "%llu ms ago", (unsigned long long)ms);
	else if (ms < 3600 * 1000)
		out_printf(o, "%llu s ago", (unsigned long long)(ms / 1000));
	else
		out_printf(o, "%lluh%02llum ago", (unsigned long long)(ms / 3600000),
		    (unsigned long long)(ms / 60000 % 60));
}

static const char *
key_state(enum etcd_result r)
{
	static const char *const names[] = {
		[ETCD_UNKNOWN] = "unknown", [ETCD_HELD] = "held",
		[ETCD_HELD_OTHER] = "held-by-other", [ETCD_FREE] = "free",
	};

	return (unsigned)r <= ETCD_FREE ? names[r] : "unknown";
}

static void
text_quorum(const struct status_snapshot *s, struct out *o)
{
	const struct etcd_status *q = &s->quorum;

	if (!q->enabled)
		return;
	out_printf(o, "quorum    etcd %d/%d member(s) reachable, ", q->reachable,
	    q->nmembers);
	if (q->lease_id)
		out_printf(o, "lease %llx (ttl %lld s), %lld ms left%s\n",
		    (unsigned long long)q->lease_id, (long long)q->ttl_s,
		    (long long)q->lease_ms_left, s->quorum_ok ? "" :
		    s->quorum_keyless ? " (LOST: keeping the VIPs while every "
		    "peer is heard)" : " (LOST)");
	else
		out_printf(o, "NO LEASE%s\n", s->quorum_keyless ? " (keeping "
		    "the VIPs while every peer is heard)" : "");
	for (int i = 0; i < q->ngroups; i++)
		out_printf(o, "key       %s: %s%s%s\n", q->groups[i].key,
		    key_state(q->groups[i].state), q->groups[i].holder[0] ?
		    " by " : "", q->groups[i].holder);
}

static void
text_health(const struct status_snapshot *s, struct out *o)
{
	for (int i = 0; i < s->nchecks; i++) {
		const struct status_check *c = &s->checks[i];

		out_printf(o, "check     %s: %s%s, %u ok / %u failed in a row",
		    c->name, c->healthy ? "healthy" : "FAILED",
		    c->recovering ? " (recovering)" : "", c->ok_run, c->fail_run);
		if (c->ran) {
			out_printf(o, ", last run ");
			ago(o, c->last_run_ms_ago);
		}
		out_printf(o, "\n");
	}
	if (s->arbiter.enabled) {
		out_printf(o, "arbiter   %s",
		    s->arbiter.reachable ? "reachable" : "UNREACHABLE");
		if (s->arbiter.replied) {
			out_printf(o, ", last reply ");
			ago(o, s->arbiter.last_reply_ms_ago);
		}
		out_printf(o, "\n");
	}
	text_quorum(s, o);
	for (int i = 0; i < s->nfaults; i++)
		out_printf(o, "%s %s\n", i ? "         " : "faults   ", s->faults[i]);
}

void
status_write_text(const struct status_snapshot *s, struct out *o)
{
	const struct status_group *g = &s->groups[0];
	const struct counters *c = &s->cnt;

	out_printf(o, "node      %s (cluster %u), priority %d (effective %d)\n",
	    s->node, s->cluster_id, g->priority, g->eff_priority);
	if (s->groups_explicit) {
		/* the group lines below say since when and why */
		out_printf(o, "state    ");
		for (int k = 0; k < s->ngroups; k++)
			out_printf(o, "%s %s %s", k ? "," : "", s->groups[k].name,
			    fsm_state_name(s->groups[k].state));
		out_printf(o, "\n");
	} else {
		out_printf(o, "state     %s since ", fsm_state_name(g->state));
		ago(o, g->since_ms_ago);
		out_printf(o, " (%s)\n", g->reason);
	}
	if (s->peer.known) {
		out_printf(o, "peer      %s: %s, priority %d, heard ", s->peer.name,
		    fsm_state_name(g->peer.state), g->peer.priority);
		ago(o, s->peer.heard_ms_ago);
		out_printf(o, "%s\n", s->peer.alive ? "" : " (DEAD)");
	} else
		out_printf(o, "peer      never heard\n");
	for (int i = 0; s->npeers > 1 && i < s->npeers; i++) {
		out_printf(o, "node      %s: %s, heard ", s->peers[i].name,
		    s->peers[i].alive ? "alive" : "DEAD");
		ago(o, s->peers[i].heard_ms_ago);
		out_printf(o, "\n");
	}
	for (int i = 0; i < s->nlinks; i++) {
		const struct status_link *l = &s->links[i];

		out_printf(o, "link %d    %s %s -> %s: %s", i, l->ifname, l->local,
		    l->peer, l->up ? "up" : "DOWN");
		if (l->heard) {
			out_printf(o, ", heard ");
			ago(o, l->heard_ms_ago);
		}
		if (l->rtt_valid)
			out_printf(o, ", rtt %llu us", (unsigned long long)l->rtt_us);
		out_printf(o, "\n");
	}
	for (int k = 0; k < s->ngroups; k++) {
		const struct status_group *sg = &s->groups[k];

		if (s->groups_explicit) {
			out_printf(o, "group     %s: %s since ", sg->name,
			    fsm_state_name(sg->state));
			ago(o, sg->since_ms_ago);
			out_printf(o, " (%s), priority %d (effective %d), peer %s%s%s\n",
			    sg->reason, sg->priority, sg->eff_priority,
			    s->npeers > 1 ? sg->peer.name : "",
			    s->npeers > 1 ? " " : "",
			    !sg->peer.has ? "does not configure it" :
			    sg->peer.alive ? fsm_state_name(sg->peer.state) :
			    "not heard");
		}
		for (int i = 0; i < sg->nvips; i++) {
			const struct status_vip *v = &sg->vips[i];

			out_printf(o, "vip       %s on %s: %s%s\n", v->address,
			    v->ifname, v->present ? "present" : "absent",
			    v->present == v->expected ? "" : v->expected ?
			    " (MISSING)" : " (UNEXPECTED)");
		}
	}
	text_health(s, o);
	out_printf(o, "counters  sent %llu, received %llu, auth failures %llu, "
	    "replays %llu, late %llu, unconfirmed %llu, malformed %llu, bad version %llu, "
	    "foreign %llu, wrong source %llu, vip repairs %llu\n",
	    (unsigned long long)c->sent, (unsigned long long)c->received,
	    (unsigned long long)c->auth_failures, (unsigned long long)c->replays,
	    (unsigned long long)c->late,
	    (unsigned long long)c->unconfirmed, (unsigned long long)c->malformed,
	    (unsigned long long)c->bad_version, (unsigned long long)c->foreign,
	    (unsigned long long)c->wrong_source, (unsigned long long)c->vip_repairs);
	for (int k = 0; k < g->ntransitions; k++) {
		const struct status_transition *t = &g->transitions[k];

		out_printf(o, "%s %s -> %s (%s), ", k ? "          " : "history  ",
		    fsm_state_name(t->from), fsm_state_name(t->to), t->reason);
		ago(o, t->ms_ago);
		out_printf(o, "\n");
	}
}

/* ---- JSON ---- */

/* Names and reasons are ours ([A-Za-z0-9._:-]); escape anyway. */
static void
json_str(struct out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out_printf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			out_printf(o, "\\u%04x", *s);
		else
			out_printf(o, "%c", *s);
	}
	out_printf(o, "\"");
}

/* an integer, or null when it is not known (yet) */
static void
json_opt(struct out *o, bool known, uint64_t v)
{
	if (known)
		out_printf(o, "%llu", (unsigned long long)v);
	else
		out_printf(o, "null");
}

static void
json_quorum(const struct status_snapshot *s, struct out *o)
{
	const struct etcd_status *q = &s->quorum;

	out_printf(o, ",\"quorum\":{\"enabled\":%s", tf(q->enabled));
	if (!q->enabled) {
		out_printf(o, "}");
		return;
	}
	out_printf(o, ",\"reachable\":%d,\"members\":[", q->reachable);
	for (int i = 0; i < q->nmembers; i++) {
		out_printf(o, "%s{\"url\":", i ? "," : "");
		json_str(o, q->members[i].url);
		out_printf(o, ",\"reachable\":%s,\"ok_ms_ago\":",
		    tf(q->members[i].reachable));
		json_opt(o, q->members[i].ok_ms_ago >= 0,
		    (uint64_t)q->members[i].ok_ms_ago);
		out_printf(o, ",\"error\":");
		json_str(o, q->members[i].error);
		out_printf(o, "}");
	}
	out_printf(o, "],\"lease_id\":\"%llx\",\"ttl_s\":%lld,"
	    "\"lease_ms_left\":%lld,\"lease_ok\":%s,\"keeping\":%s,"
	    "\"on_quorum_loss\":\"%s\",\"keys\":[",
	    (unsigned long long)q->lease_id, (long long)q->ttl_s,
	    (long long)q->lease_ms_left, tf(s->quorum_ok),
	    tf(s->quorum_keyless), s->quorum_release ? "release" :
	    "keep-while-peers");
	for (int i = 0; i < q->ngroups; i++) {
		out_printf(o, "%s{\"group\":", i ? "," : "");
		json_str(o, q->groups[i].name);
		out_printf(o, ",\"key\":");
		json_str(o, q->groups[i].key);
		out_printf(o, ",\"state\":\"%s\",\"holder\":",
		    key_state(q->groups[i].state));
		json_str(o, q->groups[i].holder);
		out_printf(o, "}");
	}
	out_printf(o, "]}");
}

static void
json_health(const struct status_snapshot *s, struct out *o)
{
	out_printf(o, "\"timers\":{\"interval_ms\":%u,\"dead_ms\":%u,"
	    "\"init_dead_ms\":%u,\"preempt\":%s,\"preempt_delay_ms\":%u,"
	    "\"vip_lease_s\":%u,\"standby_interval_ms\":%u},\"faults\":[",
	    s->timers.interval_ms, s->timers.dead_ms, s->timers.init_dead_ms,
	    tf(s->timers.preempt), s->timers.preempt_delay_ms,
	    s->timers.vip_lease_s, s->timers.standby_interval_ms);
	for (int i = 0; i < s->nfaults; i++) {
		out_printf(o, "%s", i ? "," : "");
		json_str(o, s->faults[i]);
	}
	out_printf(o, "],\"checks\":[");
	for (int i = 0; i < s->nchecks; i++) {
		const struct status_check *c = &s->checks[i];

		out_printf(o, "%s{\"name\":", i ? "," : "");
		json_str(o, c->name);
		out_printf(o, ",\"healthy\":%s,\"recovering\":%s,\"ok_run\":%u,"
		    "\"fail_run\":%u,\"recover_runs\":%u,\"last_exit\":%d,"
		    "\"last_run_ms_ago\":", tf(c->healthy), tf(c->recovering),
		    c->ok_run, c->fail_run, c->recover_runs, c->last_exit);
		json_opt(o, c->ran, c->last_run_ms_ago);
		out_printf(o, ",\"on_fail\":");
		if (c->penalty)
			out_printf(o, "%d}", -c->penalty);
		else
			out_printf(o, "\"fault\"}");
	}
	out_printf(o, "],\"arbiter\":{\"enabled\":%s,\"reachable\":%s,"
	    "\"misses\":%u,\"last_reply_ms_ago\":", tf(s->arbiter.enabled),
	    tf(s->arbiter.reachable), s->arbiter.misses);
	json_opt(o, s->arbiter.replied, s->arbiter.last_reply_ms_ago);
	out_printf(o, "}");
	json_quorum(s, o);
}

/* *n: VIPs written before into the same array */
static void
json_vips(struct out *o, const struct status_group *g, int *n)
{
	for (int i = 0; i < g->nvips; i++) {
		const struct status_vip *v = &g->vips[i];

		out_printf(o, "%s{\"address\":", (*n)++ ? "," : "");
		json_str(o, v->address);
		out_printf(o, ",\"interface\":");
		json_str(o, v->ifname);
		out_printf(o, ",\"present\":%s,\"expected\":%s}", tf(v->present),
		    tf(v->expected));
	}
}

static void
json_transitions(struct out *o, const struct status_group *g)
{
	out_printf(o, "\"transitions\":[");
	for (int k = 0; k < g->ntransitions; k++) {
		const struct status_transition *t = &g->transitions[k];

		out_printf(o, "%s{\"from\":\"%s\",\"to\":\"%s\",\"reason\":",
		    k ? "," : "", fsm_state_name(t->from), fsm_state_name(t->to));
		json_str(o, t->reason);
		out_printf(o, ",\"ms_ago\":%llu}", (unsigned long long)t->ms_ago);
	}
	out_printf(o, "]");
}

static void
json_group(struct out *o, const struct status_group *g)
{
	int n = 0;

	out_printf(o, "{\"name\":");
	json_str(o, g->name);
	out_printf(o, ",\"state\":\"%s\",\"since_ms_ago\":%llu,\"reason\":",
	    fsm_state_name(g->state), (unsigned long long)g->since_ms_ago);
	json_str(o, g->reason);
	out_printf(o, ",\"priority\":%d,\"effective_priority\":%d,"
	    "\"preempt\":%s,\"preempt_delay_ms\":%u,\"peer\":{\"configured\":%s,"
	    "\"alive\":%s,\"state\":\"%s\",\"priority\":%d,\"name\":",
	    g->priority, g->eff_priority, tf(g->preempt), g->preempt_delay_ms,
	    tf(g->peer.has), tf(g->peer.alive), g->peer.known && g->peer.has ?
	    fsm_state_name(g->peer.state) : "unknown", g->peer.priority);
	json_str(o, g->peer.name);
	out_printf(o, "},\"faults\":[");
	for (int i = 0; i < g->nfaults; i++) {
		out_printf(o, "%s", i ? "," : "");
		json_str(o, g->faults[i]);
	}
	out_printf(o, "],\"vips\":[");
	json_vips(o, g, &n);
	out_printf(o, "],");
	json_transitions(o, g);
	out_printf(o, "}");
}

void
status_write_json(const struct status_snapshot *s, struct out *o)
{
	const struct status_group *g = &s->groups[0];
	const struct counters *c = &s->cnt;
	int n = 0;

	out_printf(o, "{\"version\":1,\"node\":");
	json_str(o, s->node);
	out_printf(o, ",\"cluster_id\":%u,\"state\":\"%s\",\"since_ms_ago\":%llu,"
	    "\"reason\":", s->cluster_id, fsm_state_name(g->state),
	    (unsigned long long)g->since_ms_ago);
	json_str(o, g->reason);
	out_printf(o, ",\"priority\":%d,\"effective_priority\":%d,"
	    "\"maintenance\":%s,\"epoch\":%llu,\"uptime_ms\":%llu,",
	    g->priority, g->eff_priority, tf(s->maintenance),
	    (unsigned long long)s->epoch, (unsigned long long)s->uptime_ms);
	out_printf(o, "\"peer\":{\"name\":");
	json_str(o, s->peer.name);
	out_printf(o, ",\"state\":\"%s\",\"known\":%s,\"alive\":%s,"
	    "\"priority\":%d,\"heard_ms_ago\":",
	    g->peer.known ? fsm_state_name(g->peer.state) : "unknown",
	    tf(s->peer.known), tf(s->peer.alive), g->peer.priority);
	json_opt(o, s->peer.known, s->peer.heard_ms_ago);
	out_printf(o, "},\"peers\":[");
	for (int i = 0; i < s->npeers; i++) {
		out_printf(o, "%s{\"name\":", i ? "," : "");
		json_str(o, s->peers[i].name);
		out_printf(o, ",\"alive\":%s,\"heard_ms_ago\":%llu}",
		    tf(s->peers[i].alive),
		    (unsigned long long)s->peers[i].heard_ms_ago);
	}
	out_printf(o, "]");

	out_printf(o, ",\"links\":[");
	for (int i = 0; i < s->nlinks; i++) {
		const struct status_link *l = &s->links[i];

		out_printf(o, "%s{\"interface\":", i ? "," : "");
		json_str(o, l->ifname);
		out_printf(o, ",\"node\":");
		json_str(o, l->node);
		out_printf(o, ",\"local\":\"%s\",\"peer\":\"%s\",\"up\":%s,"
		    "\"heard_ms_ago\":", l->local, l->peer, tf(l->up));
		json_opt(o, l->heard, l->heard_ms_ago);
		out_printf(o, ",\"rtt_us\":");
		json_opt(o, l->rtt_valid, l->rtt_us);
		out_printf(o, ",\"echoed_ms_ago\":");
		json_opt(o, l->echoed, l->echoed_ms_ago);
		out_printf(o, "}");
	}
	out_printf(o, "],\"vips\":[");
	for (int i = 0; i < s->ngroups; i++)
		json_vips(o, &s->groups[i], &n);
	out_printf(o, "],");
	json_health(s, o);
	out_printf(o, ",\"counters\":{\"sent\":%llu,\"send_errors\":%llu,"
	    "\"received\":%llu,\"auth_failures\":%llu,\"replays\":%llu,"
	    "\"late\":%llu,\"unconfirmed\":%llu,\"malformed\":%llu,\"bad_version\":%llu,"
	    "\"foreign\":%llu,\"wrong_source\":%llu,\"vip_repairs\":%llu,"
	    "\"dual_active\":%llu,\"log_dropped\":%llu,\"hooks_skipped\":%lu}",
	    (unsigned long long)c->sent, (unsigned long long)c->send_errors,
	    (unsigned long long)c->received, (unsigned long long)c->auth_failures,
	    (unsigned long long)c->replays, (unsigned long long)c->late,
	    (unsigned long long)c->unconfirmed,
	    (unsigned long long)c->malformed, (unsigned long long)c->bad_version,
	    (unsigned long long)c->foreign, (unsigned long long)c->wrong_source,
	    (unsigned long long)c->vip_repairs, (unsigned long long)c->dual_active,
	    (unsigned long long)s->log_dropped, s->hooks_skipped);
	out_printf(o, ",");
	json_transitions(o, g);
	out_printf(o, ",\"groups\":[");
	for (int i = 0; i < s->ngroups; i++) {
		out_printf(o, "%s", i ? "," : "");
		json_group(o, &s->groups[i]);
	}
	out_printf(o, "]}\n");
}
