/*
 * The Prometheus exposition of a hand-made status snapshot: exact samples,
 * the shape of every line, one family per name, histograms cumulative,
 * label values escaped, the largest configuration, a cut buffer; and,
 * where promtool is installed, `promtool check metrics` on all of it.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "unit.h"

static char buf[1 << 20];

static const char *
render(const struct status_snapshot *s)
{
	struct out o = { buf, sizeof(buf), 0 };

	metrics_write(s, &o);
	CHECK(o.len < sizeof(buf));
	buf[o.len < sizeof(buf) ? o.len : sizeof(buf) - 1] = '\0';
	return buf;
}

/* Is there a line that is exactly line? */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define CHECK_LINE(text, line) do {					\
	if (has_line(text, line))					\
		unit_passed++;						\
	else {								\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: no line \"%s\"\n", __FILE__,	\
		    __LINE__, line);					\
	}								\
} while (0)

static void
group(struct status_group *g, const char *name, enum fsm_state st, int prio)
{
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->state = st;
	g->priority = prio;
	g->eff_priority = prio - 10;
	g->since_ms_ago = 61250;
}

static void
vip(struct status_group *g, const char *addr, bool present, bool expected)
{
	struct status_vip *v = &g->vips[g->nvips++];

	snprintf(v->address, sizeof(v->address), "%s", addr);
	snprintf(v->ifname, sizeof(v->ifname), "eth0");
	v->present = present;
	v->expected = expected;
}

/* Two groups, a link, two checks, the arbiter, some of every counter. */
static void
example(struct status_snapshot *s)
{
	struct status_group *web = &s->groups[0], *db = &s->groups[1];

	memset(s, 0, sizeof(*s));
	snprintf(s->version, sizeof(s->version), "0.2.0");
	snprintf(s->node, sizeof(s->node), "alpha");
	s->cluster_id = 7;
	s->epoch = 42;
	s->uptime_ms = 3723001;
	s->nfaults = 1;
	s->peer.known = s->peer.alive = true;
	snprintf(s->peer.name, sizeof(s->peer.name), "beta");
	s->peer.heard_ms_ago = 12;

	s->ngroups = 2;
	group(web, "web", FSM_ACTIVE, 150);
	vip(web, "192.0.2.10/24", true, true);
	vip(web, "2001:db8::10/64", false, true);
	web->counts[0] = (struct fsm_count){ FSM_INIT, FSM_ACTIVE,
	    (uint8_t)fsm_reason_kind("election"), 1 };
	web->counts[1] = (struct fsm_count){ FSM_ACTIVE, FSM_FAULT,
	    (uint8_t)fsm_reason_kind("check-failed:web"), 3 };
	web->ncounts = 2;
	web->vip_repairs = 2;
	group(db, "db", FSM_STANDBY, 50);
	db->since_ms_ago = 5;
	vip(db, "192.0.2.20/24", false, false);
	db->nfaults = 1;

	s->nlinks = 1;
	snprintf(s->links[0].ifname, sizeof(s->links[0].ifname), "eth0");
	snprintf(s->links[0].peer, sizeof(s->links[0].peer), "192.0.2.2");
	s->links[0].up = s->links[0].heard = s->links[0].rtt_valid = true;
	s->links[0].heard_ms_ago = 12;
	s->links[0].rtt_us = 128;
	s->links[0].sent = 1000;
	s->links[0].received = 990;
	s->links[0].send_errors = 3;

	s->nchecks = 2;
	snprintf(s->checks[0].name, sizeof(s->checks[0].name), "web");
	s->checks[0].healthy = true;
	s->checks[0].runs = 10;
	snprintf(s->checks[1].name, sizeof(s->checks[1].name), "pg");
	s->checks[1].runs = 7;
	s->checks[1].failures = 4;
	s->arbiter.enabled = s->arbiter.reachable = s->arbiter.replied = true;
	s->arbiter.last_reply_ms_ago = 400;

	s->cnt.auth_failures = 5;
	s->cnt.wrong_source = 6;
	s->cnt.dual_active = 1;
	s->hooks.runs[0][HOOK_OK] = 2;
	s->hooks.runs[0][HOOK_TIMEOUT] = 1;
	s->hooks.runs[2][HOOK_REFUSED] = 4;
	s->hooks.bucket[0][0] = 1;	/* <= 10 ms */
	s->hooks.bucket[0][5] = 1;	/* <= 1 s */
	s->hooks.bucket[0][HOOKS_NBUCKETS] = 1;	/* > 120 s */
	s->hooks.sum_ms[0] = 130505;
	s->hooks_skipped = 1;
	s->announce.arp = 9;
	s->announce.na = 8;
	s->reloads.ok = 2;
	s->reloads.failed = 1;
	s->log_dropped = 11;
}

/* The example, rendered. */
static const char *
example_text(void)
{
	static struct status_snapshot s;

	example(&s);
	return render(&s);
}

static void
test_samples(void)
{
	const char *t = example_text();

	CHECK_LINE(t, "# TYPE failoverd_node_info gauge");
	CHECK_LINE(t, "failoverd_node_info{node=\"alpha\",version=\"0.2.0\","
	    "cluster_id=\"7\"} 1");
	CHECK_LINE(t, "failoverd_uptime_seconds 3723.001");
	CHECK_LINE(t, "failoverd_epoch 42");
	CHECK_LINE(t, "failoverd_maintenance 0");
	CHECK_LINE(t, "failoverd_faults 1");
	CHECK_LINE(t, "failoverd_group_state{group=\"web\",state=\"active\"} 1");
	CHECK_LINE(t, "failoverd_group_state{group=\"web\",state=\"standby\"} 0");
	CHECK_LINE(t, "failoverd_group_state{group=\"db\",state=\"standby\"} 1");
	CHECK_LINE(t, "failoverd_group_state{group=\"db\",state=\"stopping\"} 0");
	CHECK_EQ(unit_count(t, "failoverd_group_state{"), 12);
	CHECK_LINE(t, "failoverd_group_priority{group=\"web\"} 150");
	CHECK_LINE(t, "failoverd_group_effective_priority{group=\"db\"} 40");
	CHECK_LINE(t, "failoverd_group_last_transition_age_seconds{group=\"web\"} "
	    "61.250");
	CHECK_LINE(t, "failoverd_group_last_transition_age_seconds{group=\"db\"} "
	    "0.005");
	CHECK_LINE(t, "# TYPE failoverd_group_transitions_total counter");
	CHECK_LINE(t, "failoverd_group_transitions_total{group=\"web\",from=\"init\","
	    "to=\"active\",reason=\"election\"} 1");
	CHECK_LINE(t, "failoverd_group_transitions_total{group=\"web\",from=\"active\","
	    "to=\"fault\",reason=\"check-failed\"} 3");
	CHECK_LINE(t, "failoverd_group_vips_expected{group=\"web\"} 2");
	CHECK_LINE(t, "failoverd_group_vips_present{group=\"web\"} 1");
	CHECK_LINE(t, "failoverd_group_vips_expected{group=\"db\"} 0");
	CHECK_LINE(t, "failoverd_group_vip_repairs_total{group=\"web\"} 2");
	CHECK_LINE(t, "failoverd_group_faults{group=\"db\"} 1");
	CHECK_LINE(t, "failoverd_vip_present{group=\"web\",vip=\"2001:db8::10/64\","
	    "interface=\"eth0\"} 0");
	CHECK_LINE(t, "failoverd_peer_info{peer=\"beta\"} 1");
	CHECK_LINE(t, "failoverd_peer_up 1");
	CHECK_LINE(t, "failoverd_peer_last_heard_age_seconds 0.012");
	CHECK_LINE(t, "failoverd_link_up{link=\"0\",interface=\"eth0\","
	    "peer=\"192.0.2.2\"} 1");
	CHECK_LINE(t, "failoverd_link_rtt_seconds{link=\"0\",interface=\"eth0\","
	    "peer=\"192.0.2.2\"} 0.000128");
	CHECK_LINE(t, "failoverd_link_heartbeats_sent_total{link=\"0\","
	    "interface=\"eth0\",peer=\"192.0.2.2\"} 1000");
	CHECK_LINE(t, "failoverd_link_heartbeats_received_total{link=\"0\","
	    "interface=\"eth0\",peer=\"192.0.2.2\"} 990");
	CHECK_LINE(t, "failoverd_link_send_errors_total{link=\"0\","
	    "interface=\"eth0\",peer=\"192.0.2.2\"} 3");
	CHECK_LINE(t, "failoverd_packets_dropped_total{reason=\"auth\"} 5");
	CHECK_LINE(t, "failoverd_packets_dropped_total{reason=\"wrong_source\"} 6");
	CHECK_LINE(t, "failoverd_packets_dropped_total{reason=\"version\"} 0");
	CHECK_EQ(unit_count(t, "failoverd_packets_dropped_total{"), 8);
	CHECK_LINE(t, "failoverd_dual_active_episodes_total 1");
	CHECK_LINE(t, "failoverd_hook_runs_total{dir=\"promote.d\",result=\"ok\"} 2");
	CHECK_LINE(t, "failoverd_hook_runs_total{dir=\"promote.d\",result=\"timeout\"} 1");
	CHECK_LINE(t, "failoverd_hook_runs_total{dir=\"notify.d\",result=\"refused\"} 4");
	CHECK_EQ(unit_count(t, "failoverd_hook_runs_total{"), 16);
	CHECK_LINE(t, "failoverd_hook_jobs_skipped_total 1");
	CHECK_LINE(t, "failoverd_check_healthy{check=\"web\"} 1");
	CHECK_LINE(t, "failoverd_check_healthy{check=\"pg\"} 0");
	CHECK_LINE(t, "failoverd_check_runs_total{check=\"pg\"} 7");
	CHECK_LINE(t, "failoverd_check_failures_total{check=\"pg\"} 4");
	CHECK_LINE(t, "failoverd_arbiter_reachable 1");
	CHECK_LINE(t, "failoverd_arbiter_missed_rounds 0");
	CHECK_LINE(t, "failoverd_arbiter_last_reply_age_seconds 0.400");
	CHECK_LINE(t, "failoverd_announce_packets_total{kind=\"arp\"} 9");
	CHECK_LINE(t, "failoverd_announce_packets_total{kind=\"na\"} 8");
	CHECK_LINE(t, "failoverd_announce_errors_total 0");
	CHECK_LINE(t, "failoverd_reloads_total{result=\"ok\"} 2");
	CHECK_LINE(t, "failoverd_reloads_total{result=\"failed\"} 1");
	CHECK_LINE(t, "failoverd_log_lines_dropped_total 11");
}

static void
test_histogram(void)
{
	const char *t = example_text();

	CHECK_LINE(t, "# TYPE failoverd_hook_duration_seconds histogram");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_bucket{dir=\"promote.d\","
	    "le=\"0.01\"} 1");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_bucket{dir=\"promote.d\","
	    "le=\"0.5\"} 1");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_bucket{dir=\"promote.d\","
	    "le=\"1\"} 2");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_bucket{dir=\"promote.d\","
	    "le=\"2.5\"} 2");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_bucket{dir=\"promote.d\","
	    "le=\"120\"} 2");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_bucket{dir=\"promote.d\","
	    "le=\"+Inf\"} 3");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_sum{dir=\"promote.d\"} 130.505");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_count{dir=\"promote.d\"} 3");
	CHECK_LINE(t, "failoverd_hook_duration_seconds_count{dir=\"fence.d\"} 0");
	CHECK_EQ(unit_count(t, "failoverd_hook_duration_seconds_bucket{"),
	    HOOKS_NKINDS * (HOOKS_NBUCKETS + 1));
}

/* Nothing known yet, no checks, no arbiter: those families are left out. */
static void
test_absent(void)
{
	static struct status_snapshot s;
	const char *t;

	memset(&s, 0, sizeof(s));
	s.ngroups = 1;
	snprintf(s.groups[0].name, sizeof(s.groups[0].name), "default");
	s.nlinks = 1;
	t = render(&s);
	CHECK_LINE(t, "failoverd_peer_up 0");
	CHECK(strstr(t, "failoverd_peer_info") == NULL);
	CHECK(strstr(t, "failoverd_peer_last_heard") == NULL);
	CHECK(strstr(t, "failoverd_link_last_heard") == NULL);
	CHECK(strstr(t, "failoverd_link_rtt") == NULL);
	CHECK(strstr(t, "failoverd_group_transitions_total") == NULL);
	CHECK(strstr(t, "failoverd_check_") == NULL);
	CHECK(strstr(t, "failoverd_arbiter_") == NULL);
	CHECK(strstr(t, "failoverd_vip_present") == NULL);
	CHECK_LINE(t, "failoverd_group_state{group=\"default\",state=\"init\"} 1");
}

/* Interface names may hold almost anything: label values are escaped. */
static void
test_escaping(void)
{
	static struct status_snapshot s;
	const char *t;

	example(&s);
	snprintf(s.links[0].ifname, sizeof(s.links[0].ifname), "e\"t\\h\n");
	t = render(&s);
	CHECK_LINE(t, "failoverd_link_up{link=\"0\",interface=\"e\\\"t\\\\h\\n\","
	    "peer=\"192.0.2.2\"} 1");
}

/*
 * Every line is a comment or NAME[{LABELS}] VALUE; each family has one
 * TYPE line, before its samples, which are all together.
 */
static void
test_shape(const char *t)
{
	char fams[128][96], last[96] = "";
	int nfam = 0, bad = 0;

	for (const char *p = t; *p; ) {
		const char *nl = strchr(p, '\n'), *sp;
		char name[96];
		size_t n;

		if (nl == NULL) {
			bad++;
			break;
		}
		if (strncmp(p, "# TYPE ", 7) == 0) {
			sscanf(p + 7, "%95s", name);
			for (int i = 0; i < nfam; i++)
				bad += strcmp(fams[i], name) == 0;
			if (nfam < 128)
				snprintf(fams[nfam++], sizeof(fams[0]), "%s", name);
			snprintf(last, sizeof(last), "%s", name);
		} else if (strncmp(p, "# HELP ", 7) != 0) {
			n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
			snprintf(name, sizeof(name), "%.*s", (int)n, p);
			sp = memchr(p, ' ', (size_t)(nl - p));
			/* a histogram's series carry suffixes */
			bad += strncmp(name, last, strlen(last)) != 0 || sp == NULL ||
			    (p[n] != '{' && p[n] != ' ') ||
			    (p[n] == '{' && sp[-1] != '}') ||
			    !isdigit((unsigned char)sp[1]);
			if (bad)
				fprintf(stderr, "bad line: %.*s\n", (int)(nl - p), p);
		}
		p = nl + 1;
		if (bad)
			break;
	}
	CHECK_EQ(bad, 0);
}

/* promtool, if installed, agrees: format and lint (names, units, help). */
static void
promtool(const char *t, const char *what)
{
	FILE *f;
	int rc;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		printf("test_metrics: promtool not installed, %s not checked by it\n",
		    what);
		return;
	}
	if ((f = popen("promtool check metrics", "w")) == NULL) {
		CHECK(f != NULL);
		return;
	}
	fputs(t, f);
	rc = pclose(f);
	if (rc != 0)
		fprintf(stderr, "promtool check metrics failed on %s\n", what);
	CHECK_EQ(rc, 0);
}

/* The most of everything the configuration allows: all of it fits. */
static void
test_largest(void)
{
	static struct status_snapshot s;
	const char *t;
	size_t len;

	example(&s);
	s.ngroups = CFG_MAX_GROUPS;
	for (int i = 0; i < CFG_MAX_GROUPS; i++) {
		struct status_group *g = &s.groups[i];
		char name[32];

		snprintf(name, sizeof(name), "group-%d", i);
		memset(g, 0, sizeof(*g));
		group(g, name, FSM_STANDBY, 100);
		for (int k = 0; k < CFG_MAX_VIPS / CFG_MAX_GROUPS; k++) {
			char a[64];

			snprintf(a, sizeof(a), "2001:db8::%x:%x/64", i, k);
			vip(g, a, false, false);
		}
		for (int k = 0; k < FSM_COUNTS_MAX; k++)
			g->counts[k] = (struct fsm_count){ (uint8_t)(k % FSM_NSTATES),
			    (uint8_t)(k / FSM_NSTATES % FSM_NSTATES),
			    (uint8_t)(k / 36 + 1), UINT64_MAX - (uint64_t)k };
		g->ncounts = FSM_COUNTS_MAX;
	}
	s.nlinks = CFG_MAX_LINKS;
	for (int i = 1; i < CFG_MAX_LINKS; i++)
		s.links[i] = s.links[0];
	s.nchecks = CFG_MAX_CHECKS;
	for (int i = 0; i < CFG_MAX_CHECKS; i++)
		snprintf(s.checks[i].name, sizeof(s.checks[i].name),
		    "check-%03hhu-a-long-name-xyz", (unsigned char)i);
	t = render(&s);
	len = strlen(t);
	printf("test_metrics: the largest configuration gives %zu bytes\n", len);
	CHECK(len > 100000);
	test_shape(t);
	promtool(t, "the largest configuration");
}

/* A small buffer is filled and no further. */
static void
test_cut(void)
{
	static struct status_snapshot s;
	char small[100];
	struct out o = { small, sizeof(small), 0 };

	example(&s);
	memset(small, 'x', sizeof(small));
	metrics_write(&s, &o);
	CHECK_EQ(o.len, sizeof(small));
	CHECK_EQ(small[sizeof(small) - 1], '\0');
}

int
main(void)
{
	test_samples();
	test_histogram();
	test_absent();
	test_escaping();
	test_shape(example_text());
	promtool(example_text(), "the example");
	test_escaping();
	promtool(buf, "escaped labels");
	test_largest();
	test_cut();
	return unit_summary("test_metrics");
}
