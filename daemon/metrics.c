/*
 * The Prometheus text exposition of a status snapshot (metrics.h). Every
 * label value comes from the configuration or from a fixed list (states,
 * reason kinds, hook directories and results, drop reasons), never from
 * what happens at run time, so the number of series is bounded by the
 * configuration. Names follow Prometheus conventions: base units
 * (seconds), counters end in _total, variants are labels.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

#define LBL_MAX		256	/* one entity's labels, escaped */
#define ROWS_MAX	CFG_MAX_VIPS	/* the most entities of one kind */

_Static_assert(ROWS_MAX >= CFG_MAX_GROUPS && ROWS_MAX >= CFG_MAX_LINKS &&
    ROWS_MAX >= CFG_MAX_CHECKS, "ROWS_MAX");

enum unit { U_ONE, U_MS, U_US };	/* ms and us are written as seconds */

typedef char labels_t[LBL_MAX];

/* A label value: backslash, double quote and newline escaped. */
static size_t
esc(char *buf, size_t len, const char *v)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			buf[o++] = '\\';
			buf[o++] = *v == '\n' ? 'n' : *v;
		} else
			buf[o++] = *v;
	}
	buf[o] = '\0';
	return o;
}

/* k1="v1",k2="v2" from NULL-terminated key, value pairs. */
static const char *
labels(char *buf, size_t len, ...)
{
	va_list ap;
	const char *k, *v;
	size_t o = 0;
	char e[LBL_MAX];

	buf[0] = '\0';
	va_start(ap, len);
	while ((k = va_arg(ap, const char *)) != NULL && o < len) {
		v = va_arg(ap, const char *);
		esc(e, sizeof(e), v);
		o += (size_t)snprintf(buf + o, len - o, "%s%s=\"%s\"",
		    o ? "," : "", k, e);
	}
	va_end(ap);
	return buf;
}

static void
value(struct out *o, int64_t v, enum unit u)
{
	int64_t div = u == U_MS ? 1000 : u == U_US ? 1000000 : 1;

	if (div == 1)
		out_printf(o, " %" PRId64 "\n", v);
	else
		out_printf(o, " %" PRId64 ".%0*" PRId64 "\n", v / div,
		    u == U_MS ? 3 : 6, v % div);
}

static void
header(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{lbl} v (no braces without labels). */
static void
sample(struct out *o, const char *name, const char *lbl, int64_t v, enum unit u)
{
	out_printf(o, "%s%s%s%s", name, *lbl ? "{" : "", lbl, *lbl ? "}" : "");
	value(o, v, u);
}

/* A family with one sample, no labels. */
static void
single(struct out *o, const char *name, const char *type, const char *help,
    int64_t v, enum unit u)
{
	header(o, name, type, help);
	sample(o, name, "", v, u);
}

/*
 * A family of one sample per entity: v[i] with lbl[i], where have[i] (NULL:
 * all); nothing at all, not even the header, when no entity has one.
 */
static void
rows(struct out *o, const char *name, const char *type, const char *help,
    enum unit u, int n, const labels_t *lbl, const int64_t *v,
    const bool *have)
{
	bool any = false;

	for (int i = 0; i < n; i++)
		any |= have == NULL || have[i];
	if (!any)
		return;
	header(o, name, type, help);
	for (int i = 0; i < n; i++)
		if (have == NULL || have[i])
			sample(o, name, lbl[i], v[i], u);
}

/* A family of one sample per entity, read from a field of each. */
enum ftype { F_BOOL, F_INT, F_U64 };

struct column {
	const char	*name, *type, *help;
	enum unit	 unit;
	enum ftype	 ftype;
	size_t		 off;
	long		 have;		/* a bool field: there is a value; -1: always */
};

#define COL(st, field, ft, u, name, type, help) \
	{ name, type, help, u, ft, offsetof(st, field), -1 }
#define COL_IF(st, field, ft, u, hfield, name, type, help) \
	{ name, type, help, u, ft, offsetof(st, field), (long)offsetof(st, hfield) }

static int64_t
field(const char *e, enum ftype t, size_t off)
{
	bool b;
	int i;
	uint64_t u;

	switch (t) {
	case F_BOOL:
		memcpy(&b, e + off, sizeof(b));
		return b;
	case F_INT:
		memcpy(&i, e + off, sizeof(i));
		return i;
	default:
		memcpy(&u, e + off, sizeof(u));
		return (int64_t)u;
	}
}

/* n entities of stride bytes at base, with their labels; each column a family */
static void
columns(struct out *o, const struct column *c, size_t nc, const void *base,
    size_t stride, int n, const labels_t *lbl)
{
	int64_t v[ROWS_MAX] = { 0 };
	bool have[ROWS_MAX] = { false };

	for (size_t k = 0; k < nc; k++) {
		for (int i = 0; i < n; i++) {
			const char *e = (const char *)base + (size_t)i * stride;

			v[i] = field(e, c[k].ftype, c[k].off);
			have[i] = c[k].have < 0 || field(e, F_BOOL,
			    (size_t)c[k].have);
		}
		rows(o, c[k].name, c[k].type, c[k].help, c[k].unit, n, lbl, v,
		    have);
	}
}

#define NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct column group_cols[] = {
	COL(struct status_group, priority, F_INT, U_ONE,
	    "failoverd_group_priority", "gauge",
	    "Configured priority of each VIP group."),
	COL(struct status_group, eff_priority, F_INT, U_ONE,
	    "failoverd_group_effective_priority", "gauge",
	    "Priority after the penalties of failing checks."),
	COL(struct status_group, since_ms_ago, F_U64, U_MS,
	    "failoverd_group_last_transition_age_seconds", "gauge",
	    "Time since the group's last state transition (or the start)."),
	COL(struct status_group, vip_repairs, F_U64, U_ONE,
	    "failoverd_group_vip_repairs_total", "counter",
	    "VIPs put back after someone else removed them."),
	COL(struct status_group, nfaults, F_INT, U_ONE,
	    "failoverd_group_faults", "gauge",
	    "Local faults that keep the group out now."),
};

static const struct column link_cols[] = {
	COL(struct status_link, up, F_BOOL, U_ONE, "failoverd_link_up", "gauge",
	    "1 while the peer is heard on this link within dead_ms "
	    "(a sparse standby: a few of its send periods)."),
	COL_IF(struct status_link, heard_ms_ago, F_U64, U_MS, heard,
	    "failoverd_link_last_heard_age_seconds", "gauge",
	    "Time since the peer was last heard on this link."),
	COL_IF(struct status_link, rtt_us, F_U64, U_US, rtt_valid,
	    "failoverd_link_rtt_seconds", "gauge",
	    "Heartbeat round-trip time on this link (the peer's hold time "
	    "taken out)."),
	COL(struct status_link, sent, F_U64, U_ONE,
	    "failoverd_link_heartbeats_sent_total", "counter",
	    "Heartbeats sent on this link."),
	COL(struct status_link, received, F_U64, U_ONE,
	    "failoverd_link_heartbeats_received_total", "counter",
	    "Authentic, fresh heartbeats received on this link."),
	COL(struct status_link, send_errors, F_U64, U_ONE,
	    "failoverd_link_send_errors_total", "counter",
	    "Heartbeats that could not be sent on this link."),
};

static const struct column check_cols[] = {
	COL(struct status_check, healthy, F_BOOL, U_ONE,
	    "failoverd_check_healthy", "gauge",
	    "1 while the check's verdict is healthy (after rise/fall and "
	    "recovery)."),
	COL(struct status_check, runs, F_U64, U_ONE,
	    "failoverd_check_runs_total", "counter", "Runs of the check."),
	COL(struct status_check, failures, F_U64, U_ONE,
	    "failoverd_check_failures_total", "counter",
	    "Failed runs of the check."),
};

static void
node(const struct status_snapshot *s, struct out *o)
{
	char lbl[LBL_MAX], id[16];

	snprintf(id, sizeof(id), "%u", s->cluster_id);
	header(o, "failoverd_node_info", "gauge",
	    "This node: its name, failoverd's version and the cluster id (always 1).");
	sample(o, "failoverd_node_info", labels(lbl, sizeof(lbl), "node",
	    s->node, "version", s->version, "cluster_id", id, NULL), 1, U_ONE);
	single(o, "failoverd_uptime_seconds", "gauge",
	    "Time since the daemon started.", (int64_t)s->uptime_ms, U_MS);
	single(o, "failoverd_epoch", "gauge",
	    "The restart epoch: one more at every start.", (int64_t)s->epoch,
	    U_ONE);
	single(o, "failoverd_maintenance", "gauge",
	    "1 while maintenance is on (no failover, no preemption).",
	    s->maintenance, U_ONE);
	single(o, "failoverd_faults", "gauge",
	    "Local faults now (failed checks, lost carrier, failed promote hooks, ...).",
	    s->nfaults, U_ONE);
}

static void
group_states(const struct status_snapshot *s, struct out *o,
    const labels_t *glbl)
{
	static const char name[] = "failoverd_group_state";

	header(o, name, "gauge",
	    "1 for the state each VIP group is in, 0 for the others.");
	for (int i = 0; i < s->ngroups; i++)
		for (int st = 0; st < FSM_NSTATES; st++)
			out_printf(o, "%s{%s,state=\"%s\"} %d\n", name, glbl[i],
			    fsm_state_name((enum fsm_state)st),
			    s->groups[i].state == (enum fsm_state)st);
}

static void
group_transitions(const struct status_snapshot *s, struct out *o,
    const labels_t *glbl)
{
	static const char name[] = "failoverd_group_transitions_total";
	bool any = false;

	for (int i = 0; i < s->ngroups; i++)
		any |= s->groups[i].ncounts > 0;
	if (!any)
		return;
	header(o, name, "counter", "State transitions of each VIP group, "
	    "by from, to and the kind of reason (the reason up to a ':').");
	for (int i = 0; i < s->ngroups; i++)
		for (int k = 0; k < s->groups[i].ncounts; k++) {
			const struct fsm_count *c = &s->groups[i].counts[k];

			out_printf(o, "%s{%s,from=\"%s\",to=\"%s\",reason=\"%s\"} "
			    "%" PRIu64 "\n", name, glbl[i],
			    fsm_state_name((enum fsm_state)c->from),
			    fsm_state_name((enum fsm_state)c->to),
			    fsm_reason_kind_name(c->kind), c->n);
		}
}

/* VIPs of a group whose flag (present or expected) is set */
static int64_t
nvips(const struct status_group *g, bool expected)
{
	int64_t n = 0;

	for (int k = 0; k < g->nvips; k++)
		n += expected ? g->vips[k].expected : g->vips[k].present;
	return n;
}

static void
groups(const struct status_snapshot *s, struct out *o)
{
	static labels_t glbl[CFG_MAX_GROUPS], vlbl[CFG_MAX_VIPS];
	int64_t v[ROWS_MAX] = { 0 };
	int n = s->ngroups, nv = 0;

	for (int i = 0; i < n; i++)
		labels(glbl[i], LBL_MAX, "group", s->groups[i].name, NULL);
	group_states(s, o, glbl);
	group_transitions(s, o, glbl);
	columns(o, group_cols, NCOLS(group_cols), s->groups,
	    sizeof(s->groups[0]), n, glbl);
	for (int i = 0; i < n; i++)
		v[i] = nvips(&s->groups[i], true);
	rows(o, "failoverd_group_vips_expected", "gauge",
	    "VIPs the group's state wants on this node.", U_ONE, n, glbl, v,
	    NULL);
	for (int i = 0; i < n; i++)
		v[i] = nvips(&s->groups[i], false);
	rows(o, "failoverd_group_vips_present", "gauge",
	    "The group's VIPs that are on their interface, as the kernel says.",
	    U_ONE, n, glbl, v, NULL);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < s->groups[i].nvips && nv < ROWS_MAX; k++) {
			const struct status_vip *sv = &s->groups[i].vips[k];

			labels(vlbl[nv], LBL_MAX, "group", s->groups[i].name,
			    "vip", sv->address, "interface", sv->ifname, NULL);
			v[nv++] = sv->present;
		}
	rows(o, "failoverd_vip_present", "gauge",
	    "1 if the VIP is on its interface, as the kernel says.", U_ONE, nv,
	    vlbl, v, NULL);
}

static void
peer_links(const struct status_snapshot *s, struct out *o)
{
	static labels_t llbl[CFG_MAX_LINKS], nlbl[PEERS_MAX];
	int64_t up[PEERS_MAX], age[PEERS_MAX];
	char lbl[LBL_MAX], idx[12];
	int n = s->nlinks;

	if (s->peer.known) {
		header(o, "failoverd_peer_info", "gauge",
		    "The peer's node name as its heartbeats say (always 1).");
		sample(o, "failoverd_peer_info", labels(lbl, sizeof(lbl),
		    "peer", s->peer.name, NULL), 1, U_ONE);
	}
	single(o, "failoverd_peer_up", "gauge",
	    "1 while the peer is heard on some link within dead_ms "
	    "(a sparse standby: a few of its send periods).",
	    s->peer.alive, U_ONE);
	if (s->peer.known)
		single(o, "failoverd_peer_last_heard_age_seconds", "gauge",
		    "Time since the peer was last heard on any link.",
		    (int64_t)s->peer.heard_ms_ago, U_MS);

	/* three or more nodes: each peer by name */
	for (int i = 0; i < s->npeers; i++) {
		labels(nlbl[i], LBL_MAX, "node", s->peers[i].name, NULL);
		up[i] = s->peers[i].alive;
		age[i] = (int64_t)s->peers[i].heard_ms_ago;
	}
	rows(o, "failoverd_node_up", "gauge", "1 while that peer is heard "
	    "on some link within dead_ms.", U_ONE, s->npeers, nlbl, up, NULL);
	rows(o, "failoverd_node_last_heard_age_seconds", "gauge", "Time since "
	    "that peer was last heard on any link.", U_MS, s->npeers, nlbl, age,
	    NULL);

	for (int i = 0; i < n; i++) {
		snprintf(idx, sizeof(idx), "%d", i);
		labels(llbl[i], LBL_MAX, "link", idx, "interface",
		    s->links[i].ifname, "peer", s->links[i].peer, NULL);
	}
	columns(o, link_cols, NCOLS(link_cols), s->links, sizeof(s->links[0]),
	    n, llbl);
}

static void
drops(const struct status_snapshot *s, struct out *o)
{
	const struct counters *c = &s->cnt;
	const struct { const char *reason; uint64_t n; } drop[] = {
		{ "auth", c->auth_failures }, { "replay", c->replays },
		{ "late", c->late }, { "unconfirmed", c->unconfirmed },
		{ "malformed", c->malformed }, { "version", c->bad_version },
		{ "foreign", c->foreign }, { "wrong_source", c->wrong_source },
	};
	static const char name[] = "failoverd_packets_dropped_total";

	header(o, name, "counter", "Heartbeat datagrams dropped, by reason "
	    "(docs/metrics.md).");
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		out_printf(o, "%s{reason=\"%s\"} %" PRIu64 "\n", name,
		    drop[i].reason, drop[i].n);
	single(o, "failoverd_dual_active_episodes_total", "counter",
	    "Times both nodes were active in a group (a healed partition).",
	    (int64_t)c->dual_active, U_ONE);
}

/* ms as the shortest decimal of seconds: 10 -> 0.01, 2500 -> 2.5 */
static void
le(char *buf, size_t len, unsigned ms)
{
	int n = snprintf(buf, len, "%u.%03u", ms / 1000, ms % 1000);

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

static void
hook_histogram(const struct hooks_stats *h, struct out *o)
{
	static const char name[] = "failoverd_hook_duration_seconds";
	char bound[16];

	header(o, name, "histogram",
	    "How long hooks ran, by directory (refused hooks did not run).");
	for (int k = 0; k < HOOKS_NKINDS; k++) {
		const char *dir = hooks_kind_name(k);
		uint64_t cum = 0;

		for (int b = 0; b < HOOKS_NBUCKETS; b++) {
			cum += h->bucket[k][b];
			le(bound, sizeof(bound), hooks_bucket_ms[b]);
			out_printf(o, "%s_bucket{dir=\"%s.d\",le=\"%s\"} %" PRIu64
			    "\n", name, dir, bound, cum);
		}
		cum += h->bucket[k][HOOKS_NBUCKETS];
		out_printf(o, "%s_bucket{dir=\"%s.d\",le=\"+Inf\"} %" PRIu64 "\n",
		    name, dir, cum);
		out_printf(o, "%s_sum{dir=\"%s.d\"}", name, dir);
		value(o, (int64_t)h->sum_ms[k], U_MS);
		out_printf(o, "%s_count{dir=\"%s.d\"} %" PRIu64 "\n", name, dir,
		    cum);
	}
}

static void
hooks(const struct status_snapshot *s, struct out *o)
{
	static const char name[] = "failoverd_hook_runs_total";
	const struct hooks_stats *h = &s->hooks;

	header(o, name, "counter", "Hook runs by directory and result.");
	for (int k = 0; k < HOOKS_NKINDS; k++)
		for (int r = 0; r < HOOK_NRESULTS; r++)
			out_printf(o, "%s{dir=\"%s.d\",result=\"%s\"} %" PRIu64 "\n",
			    name, hooks_kind_name(k),
			    hooks_result_name((enum hooks_result)r), h->runs[k][r]);
	hook_histogram(h, o);
	single(o, "failoverd_hook_jobs_skipped_total", "counter",
	    "Hook jobs skipped to keep the queues bounded (slow hooks).",
	    (int64_t)s->hooks_skipped, U_ONE);
}

static void
health(const struct status_snapshot *s, struct out *o)
{
	static labels_t clbl[CFG_MAX_CHECKS];

	for (int i = 0; i < s->nchecks; i++)
		labels(clbl[i], LBL_MAX, "check", s->checks[i].name, NULL);
	columns(o, check_cols, NCOLS(check_cols), s->checks,
	    sizeof(s->checks[0]), s->nchecks, clbl);
	if (!s->arbiter.enabled)
		return;
	single(o, "failoverd_arbiter_reachable", "gauge",
	    "1 while some arbiter target answers.", s->arbiter.reachable, U_ONE);
	single(o, "failoverd_arbiter_missed_rounds", "gauge",
	    "Arbiter rounds in a row without a reply.", s->arbiter.misses,
	    U_ONE);
	if (s->arbiter.replied)
		single(o, "failoverd_arbiter_last_reply_age_seconds", "gauge",
		    "Time since an arbiter target last answered.",
		    (int64_t)s->arbiter.last_reply_ms_ago, U_MS);
}

static void
misc(const struct status_snapshot *s, struct out *o)
{
	static const char ann[] = "failoverd_announce_packets_total";
	static const char rel[] = "failoverd_reloads_total";

	header(o, ann, "counter", "Announcements sent: gratuitous ARP (arp) "
	    "and unsolicited neighbour advertisements (na).");
	out_printf(o, "%s{kind=\"arp\"} %" PRIu64 "\n%s{kind=\"na\"} %" PRIu64
	    "\n", ann, s->announce.arp, ann, s->announce.na);
	single(o, "failoverd_announce_errors_total", "counter",
	    "Announcements that could not be sent.",
	    (int64_t)s->announce.errors, U_ONE);
	header(o, rel, "counter", "Configuration reloads by result (failed: "
	    "refused, the running configuration stayed).");
	out_printf(o, "%s{result=\"ok\"} %" PRIu64 "\n%s{result=\"failed\"} %"
	    PRIu64 "\n", rel, s->reloads.ok, rel, s->reloads.failed);
	single(o, "failoverd_log_lines_dropped_total", "counter",
	    "Log lines dropped because stderr was not writable in time.",
	    (int64_t)s->log_dropped, U_ONE);
}

/* Quorum from etcd (design 11): only with a quorum section. */
static void
quorum(const struct status_snapshot *s, struct out *o)
{
	const struct etcd_status *q = &s->quorum;
	static labels_t lbl[ETCD_GROUPS_MAX];
	int64_t held[ETCD_GROUPS_MAX];
	int n = 0;

	if (!q->enabled)
		return;
	single(o, "failoverd_quorum_members_reachable", "gauge",
	    "etcd members that answered lately.", q->reachable, U_ONE);
	single(o, "failoverd_quorum_lease_ok", "gauge", "1 while this node's "
	    "etcd lease is renewed in time (with a margin).", s->quorum_ok,
	    U_ONE);
	single(o, "failoverd_quorum_lease_left_seconds", "gauge", "Time until "
	    "this node's etcd lease could expire (0: none).",
	    q->lease_ms_left, U_MS);
	single(o, "failoverd_quorum_keeping", "gauge", "1 while this node keeps "
	    "VIPs without a valid lease (keep-while-peers, every peer heard).",
	    s->quorum_keyless, U_ONE);
	for (int i = 0; i < q->ngroups && n < ETCD_GROUPS_MAX; i++) {
		labels(lbl[n], LBL_MAX, "group", q->groups[i].name, NULL);
		held[n++] = q->groups[i].state == ETCD_HELD;
	}
	rows(o, "failoverd_quorum_key_held", "gauge", "1 while this node holds "
	    "the group's etcd key.", U_ONE, n, lbl, held, NULL);
}

void
metrics_write(const struct status_snapshot *s, struct out *o)
{
	node(s, o);
	groups(s, o);
	peer_links(s, o);
	drops(s, o);
	hooks(s, o);
	health(s, o);
	quorum(s, o);
	misc(s, o);
}
