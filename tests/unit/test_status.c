/* Status writers: exact JSON (docs/status-json.md, version 1) and text from
 * a hand-made snapshot, the health verdict, and a cut buffer. */
#include "unit.h"

#include "status.h"

static char buf[8192];

static const char *
render(const struct status_snapshot *s, bool json)
{
	struct out o = { buf, sizeof(buf), 0 };

	if (json)
		status_write_json(s, &o);
	else
		status_write_text(s, &o);
	buf[o.len < sizeof(buf) ? o.len : sizeof(buf) - 1] = '\0';
	return buf;
}

/* Nothing configured, nothing heard yet. */
static void
blank(struct status_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->ngroups = 1;
}

/* The example of docs/status-json.md, with a check, the arbiter and a fault. */
static void
example(struct status_snapshot *s)
{
	struct status_group *g = &s->groups[0];

	blank(s);
	snprintf(s->node, sizeof(s->node), "alpha");
	s->cluster_id = 1;
	s->epoch = 1795751975;
	s->uptime_ms = 210;
	s->peer.known = true;
	snprintf(s->peer.name, sizeof(s->peer.name), "beta");
	s->peer.alive = true;
	s->peer.heard_ms_ago = 11;
	s->npeers = 1;
	snprintf(s->peers[0].name, sizeof(s->peers[0].name), "beta");
	s->peers[0].alive = true;
	s->peers[0].heard_ms_ago = 11;

	snprintf(g->name, sizeof(g->name), "default");
	g->state = FSM_ACTIVE;
	snprintf(g->reason, sizeof(g->reason), "election");
	g->since_ms_ago = 187;
	g->priority = g->eff_priority = 150;
	g->preempt = true;
	g->peer.known = g->peer.has = g->peer.alive = true;
	g->nfaults = 1;
	snprintf(g->faults[0], sizeof(g->faults[0]), "check-failed:db");
	g->peer.state = FSM_STANDBY;
	g->peer.priority = 100;
	snprintf(g->peer.name, sizeof(g->peer.name), "beta");
	g->nvips = 2;
	snprintf(g->vips[0].address, sizeof(g->vips[0].address), "192.0.2.10/24");
	snprintf(g->vips[1].address, sizeof(g->vips[1].address), "2001:db8::10/64");
	for (int i = 0; i < 2; i++) {
		snprintf(g->vips[i].ifname, sizeof(g->vips[i].ifname), "eth0");
		g->vips[i].expected = true;
	}
	g->vips[0].present = true;
	g->ntransitions = 2;
	g->transitions[0] = (struct status_transition){ FSM_INIT, FSM_ACTIVE,
	    "election", 187 };
	g->transitions[1] = (struct status_transition){ FSM_INIT, FSM_INIT,
	    "say \"hi\"\\", 20000 };

	s->nlinks = 1;
	snprintf(s->links[0].ifname, sizeof(s->links[0].ifname), "eth0");
	snprintf(s->links[0].node, sizeof(s->links[0].node), "beta");
	snprintf(s->links[0].local, sizeof(s->links[0].local), "192.0.2.1");
	snprintf(s->links[0].peer, sizeof(s->links[0].peer), "192.0.2.2");
	s->links[0].up = s->links[0].heard = s->links[0].rtt_valid = true;
	s->links[0].heard_ms_ago = 11;
	s->links[0].rtt_us = 128;
	s->links[0].echoed = true;
	s->links[0].echoed_ms_ago = 30;

	s->timers.interval_ms = 100;
	s->timers.dead_ms = 500;
	s->timers.init_dead_ms = 1000;
	s->timers.preempt = true;
	s->timers.vip_lease_s = 3;
	s->timers.standby_interval_ms = 166;

	s->nfaults = 1;
	snprintf(s->faults[0], sizeof(s->faults[0]), "check-failed:db");
	s->nchecks = 2;
	s->checks[0] = (struct status_check){ "web", true, false, 5, 0, 0, 0,
	    true, 300, 20, 7, 0 };
	s->checks[1] = (struct status_check){ "db", false, true, 0, 3, 1, -1,
	    false, 0, 0, 3, 3 };
	s->arbiter.enabled = s->arbiter.reachable = s->arbiter.replied = true;
	s->arbiter.last_reply_ms_ago = 4000000;

	s->cnt.sent = 12;
	s->cnt.received = 10;
	s->cnt.unconfirmed = 1;
	s->log_dropped = 2;
	s->hooks_skipped = 3;
}

static void
test_json(void)
{
	static struct status_snapshot s;

	example(&s);
	CHECK_STR(render(&s, true),
	    "{\"version\":1,\"node\":\"alpha\",\"cluster_id\":1,\"state\":\"active\","
	    "\"since_ms_ago\":187,\"reason\":\"election\",\"priority\":150,"
	    "\"effective_priority\":150,\"maintenance\":false,\"epoch\":1795751975,"
	    "\"uptime_ms\":210,\"peer\":{\"name\":\"beta\",\"state\":\"standby\","
	    "\"known\":true,\"alive\":true,\"priority\":100,\"heard_ms_ago\":11},"
	    "\"peers\":[{\"name\":\"beta\",\"alive\":true,\"heard_ms_ago\":11}],"
	    "\"links\":[{\"interface\":\"eth0\",\"node\":\"beta\",\"local\":\"192.0.2.1\","
	    "\"peer\":\"192.0.2.2\",\"up\":true,\"heard_ms_ago\":11,\"rtt_us\":128,"
	    "\"echoed_ms_ago\":30}],"
	    "\"vips\":[{\"address\":\"192.0.2.10/24\",\"interface\":\"eth0\","
	    "\"present\":true,\"expected\":true},{\"address\":\"2001:db8::10/64\","
	    "\"interface\":\"eth0\",\"present\":false,\"expected\":true}],"
	    "\"timers\":{\"interval_ms\":100,\"dead_ms\":500,\"init_dead_ms\":1000,"
	    "\"preempt\":true,\"preempt_delay_ms\":0,\"vip_lease_s\":3,"
	    "\"standby_interval_ms\":166},"
	    "\"faults\":[\"check-failed:db\"],"
	    "\"checks\":[{\"name\":\"web\",\"healthy\":true,\"recovering\":false,"
	    "\"ok_run\":5,\"fail_run\":0,\"recover_runs\":0,\"last_exit\":0,"
	    "\"last_run_ms_ago\":300,\"on_fail\":-20},{\"name\":\"db\","
	    "\"healthy\":false,\"recovering\":true,\"ok_run\":0,\"fail_run\":3,"
	    "\"recover_runs\":1,\"last_exit\":-1,\"last_run_ms_ago\":null,"
	    "\"on_fail\":\"fault\"}],"
	    "\"arbiter\":{\"enabled\":true,\"reachable\":true,\"misses\":0,"
	    "\"last_reply_ms_ago\":4000000},\"quorum\":{\"enabled\":false},"
	    "\"counters\":{\"sent\":12,\"send_errors\":0,\"received\":10,"
	    "\"auth_failures\":0,\"replays\":0,\"late\":0,\"unconfirmed\":1,"
	    "\"malformed\":0,\"bad_version\":0,\"foreign\":0,\"wrong_source\":0,"
	    "\"vip_repairs\":0,\"dual_active\":0,\"log_dropped\":2,"
	    "\"hooks_skipped\":3},"
	    "\"transitions\":[{\"from\":\"init\",\"to\":\"active\","
	    "\"reason\":\"election\",\"ms_ago\":187},{\"from\":\"init\","
	    "\"to\":\"init\",\"reason\":\"say \\\"hi\\\"\\\\\",\"ms_ago\":20000}],"
	    "\"groups\":[{\"name\":\"default\",\"state\":\"active\","
	    "\"since_ms_ago\":187,\"reason\":\"election\",\"priority\":150,"
	    "\"effective_priority\":150,\"preempt\":true,\"preempt_delay_ms\":0,"
	    "\"peer\":{\"configured\":true,\"alive\":true,\"state\":\"standby\","
	    "\"priority\":100,\"name\":\"beta\"},"
	    "\"faults\":[\"check-failed:db\"],"
	    "\"vips\":[{\"address\":\"192.0.2.10/24\",\"interface\":\"eth0\","
	    "\"present\":true,\"expected\":true},{\"address\":\"2001:db8::10/64\","
	    "\"interface\":\"eth0\",\"present\":false,\"expected\":true}],"
	    "\"transitions\":[{\"from\":\"init\",\"to\":\"active\","
	    "\"reason\":\"election\",\"ms_ago\":187},{\"from\":\"init\","
	    "\"to\":\"init\",\"reason\":\"say \\\"hi\\\"\\\\\",\"ms_ago\":20000}]}]}\n");

	/* never heard: null ages, unknown peer; nothing configured: empty arrays */
	blank(&s);
	CHECK(strstr(render(&s, true), "\"peer\":{\"name\":\"\",\"state\":\"unknown\","
	    "\"known\":false,\"alive\":false,\"priority\":0,\"heard_ms_ago\":null},"
	    "\"peers\":[],\"links\":[],\"vips\":[],") != NULL);
	CHECK(strstr(buf, "\"faults\":[],\"checks\":[],\"arbiter\":{\"enabled\":false,"
	    "\"reachable\":false,\"misses\":0,\"last_reply_ms_ago\":null}") != NULL);
	CHECK(strstr(buf, "\"transitions\":[],\"groups\":[{") != NULL);
}

static void
test_text(void)
{
	static struct status_snapshot s;

	example(&s);
	s.groups[0].vips[0].expected = false;
	s.peer.alive = false;
	s.peer.heard_ms_ago = 12000;
	CHECK_STR(render(&s, false),
	    "node      alpha (cluster 1), priority 150 (effective 150)\n"
	    "state     active since 187 ms ago (election)\n"
	    "peer      beta: standby, priority 100, heard 12 s ago (DEAD)\n"
	    "link 0    eth0 192.0.2.1 -> 192.0.2.2: up, heard 11 ms ago, rtt 128 us\n"
	    "vip       192.0.2.10/24 on eth0: present (UNEXPECTED)\n"
	    "vip       2001:db8::10/64 on eth0: absent (MISSING)\n"
	    "check     web: healthy, 5 ok / 0 failed in a row, last run 300 ms ago\n"
	    "check     db: FAILED (recovering), 0 ok / 3 failed in a row\n"
	    "arbiter   reachable, last reply 1h06m ago\n"
	    "faults    check-failed:db\n"
	    "counters  sent 12, received 10, auth failures 0, replays 0, late 0, "
	    "unconfirmed 1, malformed 0, bad version 0, foreign 0, wrong source 0, "
	    "vip repairs 0\n"
	    "history   init -> active (election), 187 ms ago\n"
	    "           init -> init (say \"hi\"\\), 20 s ago\n");

	blank(&s);
	CHECK(strstr(render(&s, false), "\npeer      never heard\ncounters ") != NULL);
}

static void
test_healthy(void)
{
	static struct status_snapshot s;
	static const enum fsm_state ok[] = { FSM_ACTIVE, FSM_STANDBY,
	    FSM_MAINTENANCE }, bad[] = { FSM_INIT, FSM_FAULT, FSM_STOPPING };

	example(&s);
	for (size_t i = 0; i < 3; i++) {
		s.groups[0].state = ok[i];
		CHECK(status_healthy(&s));
		s.groups[0].state = bad[i];
		CHECK(!status_healthy(&s));
	}
	/* one unhealthy group makes the node unhealthy */
	s.ngroups = 2;
	s.groups[0].state = FSM_ACTIVE;
	s.groups[1].state = FSM_STANDBY;
	CHECK(status_healthy(&s));
	s.groups[1].state = FSM_FAULT;
	CHECK(!status_healthy(&s));
}

/* A reply larger than the buffer is cut, never written past its end. */
static void
test_cut(void)
{
	static struct status_snapshot s;
	char small[100];
	struct out o = { small, sizeof(small) - 1, 0 };

	example(&s);
	small[sizeof(small) - 1] = 'X';
	status_write_json(&s, &o);
	CHECK_EQ(o.len, sizeof(small) - 1);
	CHECK_EQ(small[sizeof(small) - 1], 'X');
	CHECK_EQ(strncmp(small, "{\"version\":1,", 13), 0);
}

int
main(void)
{
	test_json();
	test_text();
	test_healthy();
	test_cut();
	return unit_summary("test_status");
}
