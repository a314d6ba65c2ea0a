/*
 * Unit tests of the configuration parser: every key and default, every
 * class of error with its FILE:LINE prefix, path resolution, file limits.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* A minimal valid config, one section per line (lines 1-4). */
#define L_NODE		"node: { name = \"alpha\"; priority = 150; };\n"
#define L_CLUSTER	"cluster: { id = 1; };\n"
#define L_LINKS		"links = ( { interface = \"eth0\"; local = \"192.0.2.1\";" \
			" peer = \"192.0.2.2\"; } );\n"
#define L_VIPS		"vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; } );\n"
#define MIN		L_NODE L_CLUSTER L_LINKS L_VIPS

static const char full_conf[] =
	"# every key set to a value other than its default\n"	/* 1 */
	"node: { name = \"alpha-1.b_c\"; priority = 200L; };\n"
	"links = (\n"
	"  { interface = \"eth0\"; local = \"192.0.2.1\"; peer = \"192.0.2.2\"; },\n"
	"  { interface = \"eth1\"; local = \"2001:db8::1\"; peer = \"2001:db8::2\"; }\n"
	");\n"
	"vips = (\n"
	"  { address = \"192.0.2.10/24\"; interface = \"eth0\"; label = \"eth0:vip\"; },\n"
	"  { address = \"2001:db8::10/64\"; interface = \"eth1\"; }\n"
	");\n"							/* 10 */
	"announce: { count = 0; interval_ms = 20; refresh_ms = 5000; };\n"
	"hooks: { dir = \"/srv/hooks\"; timeout_ms = 100; order = \"hooks-first\"; };\n"
	"checks = (\n"
	"  { name = \"web\"; command = \"/usr/bin/true\"; interval_ms = 2000;\n"
	"    timeout_ms = 500; rise = 1; fall = 5; on_fail = \"fault\";\n"
	"    recover = \"systemctl restart nginx\"; recover_attempts = 2; },\n"
	"  { name = \"db\"; command = \"check-db\"; on_fail = -20; }\n"
	");\n"
	"track_interfaces = [ \"eth2\", \"bond0\" ];\n"
	"track_debounce_ms = 250;\n"				/* 20 */
	"arbiter: { ping = [ \"192.0.2.254\", \"2001:db8::fe\" ]; interval_ms = 1000;"
	" fail_after = 5; };\n"
	"realtime = true;\n"
	"runtime_dir = \"/tmp/fod-run\";\n"
	"state_dir = \"state\";\n"
	"# cluster comes last: link ports must still be cluster.port\n"
	"cluster: {\n"
	"  id = 65535;\n"
	"  key_file = \"keys/cluster.key\";\n"
	"  port = 7000;\n"
	"  interval_ms = 50;\n"					/* 30 */
	"  dead_ms = 100;\n"
	"  init_dead_ms = 50;\n"
	"  preempt = false;\n"
	"  preempt_delay_ms = 2000;\n"
	"  fence = \"required\";\n"
	"  vip_lease_s = 0;\n"
	"};\n"
	"metrics: { listen = \"[::1]:9100\"; };\n";

static char errbuf[CFG_ERR_MAX];

static int
parse_as(const char *text, const char *name, struct config *c)
{
	errbuf[0] = '\0';
	return config_parse(text, strlen(text), name, c, errbuf,
	    sizeof(errbuf));
}

/* Is there a line in err starting with prefix and containing sub? */
static int
has_error(const char *err, const char *prefix, const char *sub)
{
	const char *line = err, *nl;
	char buf[1024];
	size_t len;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (strncmp(buf, prefix, strlen(prefix)) == 0 &&
		    strstr(buf, sub) != NULL)
			return 1;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return 0;
}

static void
expect_error_at(const char *text, unsigned line, const char *sub,
    int srcline)
{
	static struct config c;
	char prefix[32];
	int rc;

	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	rc = parse_as(text, "t.conf", &c);
	CHECK_EQ(rc, -1);
	if (!has_error(errbuf, prefix, sub)) {
		unit_failed++;
		fprintf(stderr, "test_config.c:%d: no error \"%s...%s\" in:\n%s\n",
		    srcline, prefix, sub, errbuf);
	} else
		unit_passed++;
}
#define EXPECT_ERR(text, line, sub) expect_error_at(text, line, sub, __LINE__)

static void
expect_ok(const char *text, int srcline)
{
	static struct config c;

	if (parse_as(text, "t.conf", &c) == 0)
		unit_passed++;
	else {
		unit_failed++;
		fprintf(stderr, "test_config.c:%d: unexpected error:\n%s\n",
		    srcline, errbuf);
	}
}
#define EXPECT_OK(text) expect_ok(text, __LINE__)

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static const char *
addr_of(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	return inet_ntop(ss->ss_family, a, buf, len);
}

static void
test_defaults(void)
{
	static struct config c;
	char a[INET6_ADDRSTRLEN];

	CHECK_EQ(parse_as(MIN, "/etc/failoverd/failoverd.conf", &c), 0);
	CHECK_STR(errbuf, "");
	CHECK_STR(c.path, "/etc/failoverd/failoverd.conf");
	CHECK_STR(c.node_name, "alpha");
	CHECK_EQ(c.priority, 150);
	CHECK_EQ(c.cluster_id, 1);
	CHECK_STR(c.key_file, "/etc/failoverd/cluster.key");
	CHECK_EQ(c.port, 694);
	CHECK_EQ(c.interval_ms, 100);
	CHECK_EQ(c.dead_ms, 500);
	CHECK_EQ(c.init_dead_ms, 1000);
	CHECK(c.preempt);
	CHECK_EQ(c.preempt_delay_ms, 0);
	CHECK_EQ(c.fence, FENCE_OPTIONAL);
	CHECK_EQ(c.vip_lease_s, 3);
	CHECK_EQ(c.nlinks, 1);
	CHECK_STR(c.links[0].ifname, "eth0");
	CHECK_EQ(c.links[0].family, AF_INET);
	CHECK_EQ(c.links[0].salen, sizeof(struct sockaddr_in));
	CHECK_EQ(c.links[0].local.ss_family, AF_INET);
	CHECK_STR(addr_of(&c.links[0].local, a, sizeof(a)), "192.0.2.1");
	CHECK_STR(addr_of(&c.links[0].peer, a, sizeof(a)), "192.0.2.2");
	CHECK_EQ(port_of(&c.links[0].local), 694);
	CHECK_EQ(port_of(&c.links[0].peer), 694);
	CHECK_EQ(c.nvips, 1);
	CHECK_STR(c.vips[0].text, "192.0.2.10/24");
	CHECK_STR(c.vips[0].ifname, "eth0");
	CHECK_STR(c.vips[0].label, "");
	CHECK_EQ(c.vips[0].family, AF_INET);
	CHECK_EQ(c.vips[0].prefixlen, 24);
	CHECK(memcmp(c.vips[0].addr, "\xc0\x00\x02\x0a", 4) == 0);
	CHECK_EQ(c.vips[0].group, 0);
	CHECK_EQ(c.standby_interval_ms, 166);	/* dead_ms / 3 */
	/* Top-level vips: one group "default" with the node's settings. */
	CHECK(!c.groups_explicit);
	CHECK_EQ(c.ngroups, 1);
	CHECK_STR(c.groups[0].name, "default");
	CHECK_EQ(c.groups[0].line, 0);
	CHECK_EQ(c.groups[0].priority, 150);
	CHECK(c.groups[0].preempt);
	CHECK_EQ(c.groups[0].preempt_delay_ms, 0);
	CHECK_EQ(c.groups[0].first_vip, 0);
	CHECK_EQ(c.groups[0].nvips, 1);
	CHECK_EQ(c.groups[0].checks, 0);
	CHECK_EQ(c.groups[0].track, 0);
	CHECK_EQ(c.track_top, 0);
	CHECK_EQ(c.announce_count, 3);
	CHECK_EQ(c.announce_interval_ms, 100);
	CHECK_EQ(c.announce_refresh_ms, 0);
	CHECK_STR(c.hooks_dir, "/etc/failoverd/hooks");
	CHECK_EQ(c.hooks_timeout_ms, 30000);
	CHECK_EQ(c.hooks_order, HOOKS_VIP_FIRST);
	CHECK_EQ(c.nchecks, 0);
	CHECK_EQ(c.ntrack, 0);
	CHECK_EQ(c.track_debounce_ms, 0);
	CHECK_EQ(c.narbiter, 0);
	CHECK_EQ(c.arbiter_interval_ms, 500);
	CHECK_EQ(c.arbiter_fail_after, 3);
	CHECK(!c.realtime);
	CHECK_STR(c.runtime_dir, "/run/failoverd");
	CHECK_STR(c.state_dir, "/var/lib/failoverd");
}

static void
test_full(void)
{
	static struct config c;
	char a[INET6_ADDRSTRLEN];
	const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };

	CHECK_EQ(parse_as(full_conf, "/srv/fod/failoverd.conf", &c), 0);
	CHECK_STR(errbuf, "");
	CHECK_STR(c.node_name, "alpha-1.b_c");
	CHECK_EQ(c.priority, 200);
	CHECK_EQ(c.cluster_id, 65535);
	CHECK_STR(c.key_file, "/srv/fod/keys/cluster.key");
	CHECK_EQ(c.port, 7000);
	CHECK_EQ(c.interval_ms, 50);
	CHECK_EQ(c.dead_ms, 100);
	CHECK_EQ(c.init_dead_ms, 50);
	CHECK(!c.preempt);
	CHECK_EQ(c.preempt_delay_ms, 2000);
	CHECK_EQ(c.fence, FENCE_REQUIRED);
	CHECK_EQ(c.vip_lease_s, 0);

	CHECK_EQ(c.nlinks, 2);
	CHECK_STR(c.links[1].ifname, "eth1");
	CHECK_EQ(c.links[1].family, AF_INET6);
	CHECK_EQ(c.links[1].salen, sizeof(struct sockaddr_in6));
	CHECK_EQ(c.links[1].peer.ss_family, AF_INET6);
	CHECK_STR(addr_of(&c.links[1].local, a, sizeof(a)), "2001:db8::1");
	CHECK_STR(addr_of(&c.links[1].peer, a, sizeof(a)), "2001:db8::2");
	/* cluster is after links in the file: the port still applies. */
	CHECK_EQ(port_of(&c.links[0].local), 7000);
	CHECK_EQ(port_of(&c.links[0].peer), 7000);
	CHECK_EQ(port_of(&c.links[1].local), 7000);
	CHECK_EQ(port_of(&c.links[1].peer), 7000);

	CHECK_EQ(c.nvips, 2);
	CHECK_STR(c.vips[0].label, "eth0:vip");
	CHECK_STR(c.vips[1].text, "2001:db8::10/64");
	CHECK_STR(c.vips[1].ifname, "eth1");
	CHECK_EQ(c.vips[1].family, AF_INET6);
	CHECK_EQ(c.vips[1].prefixlen, 64);
	CHECK(memcmp(c.vips[1].addr, v6, 16) == 0);
	CHECK_EQ(c.standby_interval_ms, 50);	/* dead_ms / 3, but >= interval */
	/* The default group follows node and cluster; all checks, all tracks. */
	CHECK_EQ(c.ngroups, 1);
	CHECK_STR(c.groups[0].name, "default");
	CHECK_EQ(c.groups[0].priority, 200);
	CHECK(!c.groups[0].preempt);
	CHECK_EQ(c.groups[0].preempt_delay_ms, 2000);
	CHECK_EQ(c.groups[0].first_vip, 0);
	CHECK_EQ(c.groups[0].nvips, 2);
	CHECK_EQ(c.vips[1].group, 0);
	CHECK_EQ(c.groups[0].checks, 0x3);
	CHECK_EQ(c.groups[0].track, 0x3);
	CHECK_EQ(c.track_top, 0x3);

	CHECK_EQ(c.announce_count, 0);
	CHECK_EQ(c.announce_interval_ms, 20);
	CHECK_EQ(c.announce_refresh_ms, 5000);
	CHECK_STR(c.hooks_dir, "/srv/hooks");
	CHECK_EQ(c.hooks_timeout_ms, 100);
	CHECK_EQ(c.hooks_order, HOOKS_HOOKS_FIRST);

	CHECK_EQ(c.nchecks, 2);
	CHECK_STR(c.checks[0].name, "web");
	CHECK_STR(c.checks[0].command, "/usr/bin/true");
	CHECK_EQ(c.checks[0].interval_ms, 2000);
	CHECK_EQ(c.checks[0].timeout_ms, 500);
	CHECK_EQ(c.checks[0].rise, 1);
	CHECK_EQ(c.checks[0].fall, 5);
	CHECK_EQ(c.checks[0].on_fail_penalty, 0);
	CHECK_STR(c.checks[0].recover, "systemctl restart nginx");
	CHECK_EQ(c.checks[0].recover_attempts, 2);
	/* Second check: defaults. */
	CHECK_STR(c.checks[1].name, "db");
	CHECK_STR(c.checks[1].command, "check-db");
	CHECK_EQ(c.checks[1].interval_ms, 1000);
	CHECK_EQ(c.checks[1].timeout_ms, 1000);
	CHECK_EQ(c.checks[1].rise, 2);
	CHECK_EQ(c.checks[1].fall, 3);
	CHECK_EQ(c.checks[1].on_fail_penalty, 20);
	CHECK_STR(c.checks[1].recover, "");
	CHECK_EQ(c.checks[1].recover_attempts, 1);

	CHECK_EQ(c.ntrack, 2);
	CHECK_STR(c.track_interfaces[0], "eth2");
	CHECK_STR(c.track_interfaces[1], "bond0");
	CHECK_EQ(c.track_debounce_ms, 250);
	CHECK_EQ(c.narbiter, 2);
	CHECK_STR(c.arbiter_ping[0], "192.0.2.254");
	CHECK_STR(c.arbiter_ping[1], "2001:db8::fe");
	CHECK_EQ(c.arbiter_interval_ms, 1000);
	CHECK_EQ(c.arbiter_fail_after, 5);
	CHECK(c.realtime);
	CHECK_STR(c.runtime_dir, "/tmp/fod-run");
	CHECK_STR(c.state_dir, "/srv/fod/state");
	CHECK(c.metrics.enabled);
	CHECK_STR(c.metrics.listen, "[::1]:9100");
	CHECK_EQ(c.metrics.line, 38);
}

/* Relative paths follow the config file's directory. */
static void
test_paths(void)
{
	static struct config c;
	const char *kf = L_NODE "cluster: { id = 1; key_file = \"k.key\"; };\n"
	    L_LINKS L_VIPS;

	CHECK_EQ(parse_as(kf, "/etc/fod/x.conf", &c), 0);
	CHECK_STR(c.key_file, "/etc/fod/k.key");
	CHECK_EQ(parse_as(kf, "/x.conf", &c), 0);
	CHECK_STR(c.key_file, "/k.key");
	CHECK_EQ(parse_as(kf, "conf/x.conf", &c), 0);
	CHECK_STR(c.key_file, "conf/k.key");
	CHECK_EQ(parse_as(kf, "x.conf", &c), 0);
	CHECK_STR(c.key_file, "k.key");
	CHECK_EQ(parse_as(L_NODE "cluster: { id = 1; key_file = \"/abs/k\"; };\n"
	    L_LINKS L_VIPS, "/etc/fod/x.conf", &c), 0);
	CHECK_STR(c.key_file, "/abs/k");
	CHECK_EQ(parse_as(MIN "hooks: { dir = \"hooks\"; };\n", "/etc/fod/x.conf",
	    &c), 0);
	CHECK_STR(c.hooks_dir, "/etc/fod/hooks");
}

static void
test_errors(void)
{
	/* libconfig syntax errors keep libconfig's line. */
	EXPECT_ERR("node: { name = \"a\" priority = ; };\n", 1, "syntax error");
	EXPECT_ERR(MIN "\nbroken = ;\n", 6, "syntax error");
	EXPECT_ERR(MIN "node: { name = \"b\"; };\n", 5, "duplicate setting");

	/* Unknown keys at every level. */
	EXPECT_ERR(MIN "colour = 1;\n", 5, "unknown key colour");
	EXPECT_ERR(L_NODE "cluster: { id = 1;\n intervl_ms = 100; };\n" L_LINKS
	    L_VIPS, 3, "unknown key cluster.intervl_ms (did you mean \"interval_ms\"?)");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( { interface = \"eth0\"; local ="
	    " \"192.0.2.1\"; peer = \"192.0.2.2\"; ttl = 1; } );\n" L_VIPS, 3,
	    "unknown key links[0].ttl");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\"; foo = 1; } );\n",
	    5, "unknown key checks[0].foo");
	EXPECT_ERR(MIN "announce: { cnt = 1; };\n", 5, "unknown key announce.cnt");

	/* Wrong types, floats where integers belong. */
	EXPECT_ERR("node: { name = \"alpha\";\n priority = \"high\"; };\n"
	    L_CLUSTER L_LINKS L_VIPS, 2,
	    "node.priority must be an integer, not a string");
	EXPECT_ERR(L_NODE "cluster: { id = 1; interval_ms = 100.0; };\n" L_LINKS
	    L_VIPS, 2, "cluster.interval_ms must be an integer, not a floating");
	EXPECT_ERR(MIN "realtime = \"yes\";\n", 5, "realtime must be a boolean");
	EXPECT_ERR(L_NODE "cluster: { id = 1; preempt = 1; };\n" L_LINKS L_VIPS,
	    2, "cluster.preempt must be a boolean, not an integer");
	EXPECT_ERR("node = 5;\n" L_CLUSTER L_LINKS L_VIPS, 1,
	    "node must be a group");
	EXPECT_ERR(L_NODE L_CLUSTER "links = { interface = \"eth0\"; };\n" L_VIPS,
	    3, "links must be a list");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( \"eth0\" );\n" L_VIPS, 3,
	    "links[0] must be a group");
	EXPECT_ERR(MIN "track_interfaces = [ 1, 2 ];\n", 5,
	    "track_interfaces[0] must be a string");
	EXPECT_ERR(MIN "hooks: { dir = 5; };\n", 5, "hooks.dir must be a string");

	/* Out of range. */
	EXPECT_ERR("node: { name = \"alpha\"; priority = 255; };\n" L_CLUSTER
	    L_LINKS L_VIPS, 1, "node.priority = 255 is out of range 1..254");
	EXPECT_ERR("node: { name = \"alpha\"; priority = 0; };\n" L_CLUSTER
	    L_LINKS L_VIPS, 1, "out of range 1..254");
	EXPECT_ERR("node: { name = \"alpha\"; priority = -5; };\n" L_CLUSTER
	    L_LINKS L_VIPS, 1, "node.priority = -5 is out of range");
	EXPECT_ERR("node: { name = \"abcdefghijklmnopqrstuvwxyz0123456\"; priority"
	    " = 1; };\n" L_CLUSTER L_LINKS L_VIPS, 1, "node.name is too long");
	EXPECT_ERR("node: { name = \"al pha\"; priority = 1; };\n" L_CLUSTER
	    L_LINKS L_VIPS, 1, "node.name \"al pha\" may only contain");
	EXPECT_ERR("node: { name = \"\"; priority = 1; };\n" L_CLUSTER
	    L_LINKS L_VIPS, 1, "node.name must not be empty");
	EXPECT_ERR(L_NODE "cluster: { id = 70000; };\n" L_LINKS L_VIPS, 2,
	    "cluster.id = 70000 is out of range 1..65535");
	EXPECT_ERR(L_NODE "cluster: { id = 1; port = 0; };\n" L_LINKS L_VIPS, 2,
	    "cluster.port = 0 is out of range 1..65535");
	EXPECT_ERR(L_NODE "cluster: { id = 1; interval_ms = 0; };\n" L_LINKS
	    L_VIPS, 2, "cluster.interval_ms = 0 is out of range");
	EXPECT_ERR(L_NODE "cluster: { id = 1; vip_lease_s = 1; };\n" L_LINKS
	    L_VIPS, 2, "cluster.vip_lease_s = 1 is out of range");
	EXPECT_ERR(L_NODE "cluster: { id = 1; vip_lease_s = 3601; };\n" L_LINKS
	    L_VIPS, 2, "cluster.vip_lease_s = 3601 is out of range");
	EXPECT_ERR(L_NODE "cluster: { id = 1; fence = \"maybe\"; };\n" L_LINKS
	    L_VIPS, 2, "cluster.fence = \"maybe\" is not one of \"off\","
	    " \"optional\", \"required\"");
	EXPECT_ERR(MIN "hooks: { order = \"last\"; };\n", 5,
	    "hooks.order = \"last\" is not one of");
	EXPECT_ERR(MIN "hooks: { timeout_ms = 0; };\n", 5,
	    "hooks.timeout_ms = 0 is out of range");
	EXPECT_ERR(MIN "announce: { count = 101; };\n", 5,
	    "announce.count = 101 is out of range 0..100");
	EXPECT_ERR(MIN "announce: { refresh_ms = 50; };\n", 5,
	    "announce.refresh_ms = 50 is out of range: 0 (off) or 100..");
	EXPECT_ERR(MIN "arbiter: { ping = [ \"192.0.2.254\" ]; fail_after = 0; };\n",
	    5, "arbiter.fail_after = 0 is out of range");
	EXPECT_ERR(MIN "track_debounce_ms = -1;\n", 5,
	    "track_debounce_ms = -1 is out of range");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\"; rise = 0; } );\n",
	    5, "checks[0].rise = 0 is out of range");
	/* 32-bit overflow would wrap silently inside libconfig. */
	EXPECT_ERR(L_NODE "cluster: { id = 1;\n port = 4294967990; };\n" L_LINKS
	    L_VIPS, 3, "integer 4294967990 is too large (add L");
	EXPECT_ERR(L_NODE "cluster: { id = 0x100000001; };\n" L_LINKS L_VIPS, 2,
	    "integer 0x100000001 is too large");
	EXPECT_ERR(L_NODE "cluster: { id = 99999999999999999999L; };\n" L_LINKS
	    L_VIPS, 2, "integer 99999999999999999999 is too large");
	EXPECT_ERR(L_NODE "cluster: { id = 4294967297L; };\n" L_LINKS L_VIPS, 2,
	    "cluster.id = 4294967297 is out of range");

	/* Missing required keys: the enclosing group's line, 0 at the top. */
	EXPECT_ERR("node: {\n name = \"alpha\"; };\n" L_CLUSTER L_LINKS L_VIPS, 1,
	    "missing required key node.priority");
	EXPECT_ERR(L_CLUSTER L_LINKS L_VIPS, 0, "missing required key node");
	EXPECT_ERR(L_NODE "\ncluster: { port = 1; };\n" L_LINKS L_VIPS, 3,
	    "missing required key cluster.id");
	EXPECT_ERR(L_NODE L_CLUSTER L_VIPS, 0, "missing required key links");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS, 0, "missing required key vips");
	EXPECT_ERR(L_NODE L_CLUSTER "links = (\n { interface = \"eth0\";"
	    " local = \"192.0.2.1\"; } );\n" L_VIPS, 4,
	    "missing required key links[0].peer");
	EXPECT_ERR(MIN "vips2 = 1;\n", 5, "unknown key vips2");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/24\";"
	    " } );\n", 4, "missing required key vips[0].interface");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; } );\n", 5,
	    "missing required key checks[0].command");
	EXPECT_ERR(MIN "checks = ( { command = \"true\"; } );\n", 5,
	    "missing required key checks[0].name");
	EXPECT_ERR(MIN "arbiter: { interval_ms = 100; };\n", 5,
	    "missing required key arbiter.ping");

	/* Timer relations. */
	EXPECT_ERR(L_NODE "cluster: {\n id = 1;\n interval_ms = 300;\n"
	    " dead_ms = 500;\n};\n" L_LINKS L_VIPS, 5,
	    "cluster.dead_ms (500) must be at least 2 * cluster.interval_ms (300)");
	EXPECT_ERR(L_NODE "cluster: {\n id = 1;\n interval_ms = 300;\n};\n"
	    L_LINKS L_VIPS, 4, "cluster.dead_ms (500) must be at least 2 *");
	EXPECT_ERR(L_NODE "cluster: {\n id = 1;\n init_dead_ms = 50;\n};\n"
	    L_LINKS L_VIPS, 4, "cluster.init_dead_ms (50) must be at least"
	    " cluster.interval_ms (100)");

	/* Duplicates. */
	EXPECT_ERR(MIN "checks = (\n { name = \"a\"; command = \"true\"; },\n"
	    " { name = \"a\"; command = \"false\"; }\n);\n", 7,
	    "checks[1].name \"a\" is already used by checks[0]");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = (\n"
	    " { address = \"2001:db8::10/64\"; interface = \"eth0\"; },\n"
	    " { address = \"2001:DB8:0::10/128\"; interface = \"eth0\"; }\n);\n", 6,
	    "vips[1]: address 2001:DB8:0::10/128 is already vips[0]");
	EXPECT_ERR(L_NODE L_CLUSTER "links = (\n"
	    " { interface = \"eth0\"; local = \"192.0.2.1\"; peer = \"192.0.2.2\"; },\n"
	    " { interface = \"eth1\"; local = \"192.0.2.1\"; peer = \"192.0.2.2\"; }\n"
	    ");\n" L_VIPS, 5, "links[1] repeats links[0]");

	/* VIPs and links. */
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/24\";"
	    " interface = \"eth1\"; } );\n", 4,
	    "vips[0]: interface \"eth1\" has no link");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10\";"
	    " interface = \"eth0\"; } );\n", 4, "needs a prefix length");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/33\";"
	    " interface = \"eth0\"; } );\n", 4, "prefix length must be 1..32");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"2001:db8::1/129\";"
	    " interface = \"eth0\"; } );\n", 4, "prefix length must be 1..128");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/2x\";"
	    " interface = \"eth0\"; } );\n", 4, "prefix length must be");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/0024\";"
	    " interface = \"eth0\"; } );\n", 4, "prefix length must be");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/0\";"
	    " interface = \"eth0\"; } );\n", 4, "prefix length must be 1..32");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2/24\";"
	    " interface = \"eth0\"; } );\n", 4, "is not an IPv4 or IPv6 address");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"2001:db8::10/64\";"
	    " interface = \"eth0\"; label = \"v6\"; } );\n", 4,
	    "must start with the interface name \"eth0\"");
	{	/* an IPv6 label (design.md has one): accepted, unused, warned of */
		static struct config c;
		char warn[256];

		CHECK_EQ(parse_as(L_NODE L_CLUSTER L_LINKS "vips = ( { address ="
		    " \"192.0.2.10/24\"; interface = \"eth0\"; },\n { address ="
		    " \"2001:db8::10/64\"; interface = \"eth0\"; label ="
		    " \"eth0:vip\"; } );\n", "t.conf", &c), 0);
		CHECK_STR(c.vips[1].label, "");
		CHECK_EQ(c.vips[1].v6_label_line, 5);
		CHECK_EQ(c.vips[0].v6_label_line, 0);
		CHECK_EQ(config_warnings(&c, warn, sizeof(warn)), 1);
		CHECK_STR(warn, "t.conf:5: vips[1].label ignored: Linux has no "
		    "labels on IPv6 addresses\n");
		c.vips[1].v6_label_line = 0;
		CHECK_EQ(config_warnings(&c, warn, sizeof(warn)), 0);
		CHECK_STR(warn, "");
	}
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/24\";"
	    " interface = \"eth0\"; label = \"vip\"; } );\n", 4,
	    "must start with the interface name \"eth0\"");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( { address = \"192.0.2.10/24\";"
	    " interface = \"eth0\"; label = \"eth0:0123456789a\"; } );\n", 4,
	    "vips[0].label is too long");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( { interface = \"eth0\"; local ="
	    " \"192.0.2.1\"; peer = \"2001:db8::2\"; } );\n" L_VIPS, 3,
	    "local and peer must both be IPv4 or both IPv6");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( { interface = \"eth0\"; local ="
	    " \"192.0.2.1\"; peer = \"peer.example\"; } );\n" L_VIPS, 3,
	    "links[0].peer \"peer.example\" is not an IPv4 or IPv6 address");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( { interface = \"eth0\"; local ="
	    " \"192.0.2.1\"; peer = \"192.0.2.1\"; } );\n" L_VIPS, 3,
	    "peer is the same address as local");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( { interface = \"eth0/1\"; local ="
	    " \"192.0.2.1\"; peer = \"192.0.2.2\"; } );\n" L_VIPS, 3,
	    "links[0].interface \"eth0/1\" is not a valid interface name");
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( { interface = \"abcdefghijklmnop\";"
	    " local = \"192.0.2.1\"; peer = \"192.0.2.2\"; } );\n" L_VIPS, 3,
	    "links[0].interface is too long");

	/* Lists: empty and too long. */
	EXPECT_ERR(L_NODE L_CLUSTER "links = ( );\n" L_VIPS, 3,
	    "links is empty");
	EXPECT_ERR(L_NODE L_CLUSTER L_LINKS "vips = ( );\n", 4, "vips is empty");
	EXPECT_ERR(MIN "arbiter: { ping = [ ]; };\n", 5, "arbiter.ping is empty");
	{
		char t[4096];
		int off = snprintf(t, sizeof(t), "%s", L_NODE L_CLUSTER "links = (\n");

		for (int k = 0; k < 17; k++)
			off += snprintf(t + off, sizeof(t) - (size_t)off,
			    " { interface = \"eth0\"; local = \"192.0.2.1\"; "
			    "peer = \"192.0.2.%d\"; }%s\n", 100 + k,
			    k < 16 ? "," : "");
		snprintf(t + off, sizeof(t) - (size_t)off, ");\n" L_VIPS);
		EXPECT_ERR(t, 3, "links has 17 entries, at most 16 allowed");
	}
	EXPECT_ERR(MIN "track_interfaces = [ \"a\", \"b\", \"c\", \"d\", \"e\","
	    " \"f\", \"g\", \"h\", \"i\" ];\n", 5,
	    "track_interfaces has 9 entries, at most 8");
	EXPECT_ERR(MIN "track_interfaces = [ \"eth0:1\" ];\n", 5,
	    "track_interfaces[0] \"eth0:1\" is not a valid interface name");
	EXPECT_ERR(MIN "arbiter: { ping = [ \"gateway\" ]; };\n", 5,
	    "arbiter.ping[0] \"gateway\" is not an IPv4 or IPv6 address");

	/* on_fail: "fault" or a negative penalty. */
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\"; on_fail = 20; } );\n",
	    5, "checks[0].on_fail must be \"fault\" or a negative integer");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\"; on_fail = 0; } );\n",
	    5, "checks[0].on_fail must be");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\"; on_fail = -254; } );\n",
	    5, "checks[0].on_fail must be");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\";"
	    " on_fail = \"restart\"; } );\n", 5, "checks[0].on_fail must be");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"true\";"
	    " on_fail = -2.5; } );\n", 5, "checks[0].on_fail must be");
	EXPECT_ERR(MIN "checks = ( { name = \"a\"; command = \"\"; } );\n", 5,
	    "checks[0].command must not be empty");

	/* Strings and paths. */
	EXPECT_ERR(MIN "runtime_dir = \"\";\n", 5, "runtime_dir must not be empty");

	/* What the pre-scan refuses. */
	EXPECT_ERR(MIN "  @include \"/etc/passwd\"\n", 5, "@include is not supported");
}

/* Several errors: all reported, one per line, sorted by line. */
static void
test_many_errors(void)
{
	static struct config c;
	const char *text =
	    "node: { name = \"a b\"; priority = 300; };\n"
	    "cluster: { id = 0; port = 70000; dead_ms = 150; };\n"
	    L_LINKS
	    "vips = ( { address = \"192.0.2.10/24\"; interface = \"eth9\"; } );\n"
	    "bogus = true;\n";
	const char *xyz = "x = 1;\ny = 2;\nz = 3;\n" MIN, *p;
	char small[64], two[60];	/* each "unknown key" line is 24 bytes */
	int lines = 0;

	CHECK_EQ(parse_as(text, "m.conf", &c), -1);
	for (p = errbuf; *p; p++)
		lines += *p == '\n';
	CHECK_EQ(lines, 7);	/* every line ends with a newline */
	CHECK(strncmp(errbuf, "m.conf:1: ", 10) == 0);
	CHECK(has_error(errbuf, "m.conf:1: ", "node.name"));
	CHECK(has_error(errbuf, "m.conf:1: ", "node.priority = 300"));
	CHECK(has_error(errbuf, "m.conf:2: ", "cluster.id = 0"));
	CHECK(has_error(errbuf, "m.conf:2: ", "cluster.port = 70000"));
	CHECK(has_error(errbuf, "m.conf:2: ", "cluster.dead_ms (150)"));
	CHECK(has_error(errbuf, "m.conf:4: ", "\"eth9\" has no link"));
	CHECK(has_error(errbuf, "m.conf:5: ", "unknown key bogus"));
	CHECK(errbuf[strlen(errbuf) - 1] == '\n');

	/* A small buffer gets whole lines only, or a cut first line. */
	CHECK_EQ(config_parse(text, strlen(text), "m.conf", &c, small,
	    sizeof(small)), -1);
	CHECK(strncmp(small, "m.conf:1: ", 10) == 0);
	CHECK(strchr(small, '\n') == NULL);
	CHECK_EQ(config_parse(text, strlen(text), "m.conf", &c, small, 0), -1);
	/* Room for two lines: exactly those two. */
	CHECK_EQ(config_parse(xyz, strlen(xyz), "m.conf", &c, two,
	    sizeof(two)), -1);
	CHECK_STR(two, "m.conf:1: unknown key x\nm.conf:2: unknown key y\n");
}

static void
test_out_untouched(void)
{
	static struct config c;

	memset(&c, 0x5a, sizeof(c));
	CHECK_EQ(parse_as(MIN "bogus = 1;\n", "t.conf", &c), -1);
	CHECK_EQ((unsigned char)c.node_name[0], 0x5a);
	CHECK_EQ((unsigned char)c.path[0], 0x5a);
}

static void
test_hostile(void)
{
	static struct config c;
	static char big[1024 * 1024 + 2];
	char nul[] = MIN "x = \"a\0b\";\n", *many, *q;
	size_t i;

	/* NUL bytes: libconfig would ignore everything after them. */
	errbuf[0] = '\0';
	CHECK_EQ(config_parse(nul, sizeof(nul) - 1, "t.conf", &c, errbuf,
	    sizeof(errbuf)), -1);
	CHECK(has_error(errbuf, "t.conf:5: ", "NUL byte"));

	/* Over 1 MiB: refused before parsing. */
	memset(big, '\n', sizeof(big) - 1);
	CHECK_EQ(config_parse(big, sizeof(big) - 1, "big.conf", &c, errbuf,
	    sizeof(errbuf)), -1);
	CHECK(has_error(errbuf, "big.conf:0: ", "larger than the 1 MiB limit"));

	/* Line numbers that libconfig would wrap at 65536. */
	CHECK_EQ(config_parse(big, 70000, "t.conf", &c, errbuf,
	    sizeof(errbuf)), -1);
	CHECK(has_error(errbuf, "t.conf:65536: ", "more than 65535 lines"));

	/* Deep nesting stays bounded (libconfig's parser stack). */
	for (i = 0; i < 20000; i++)
		big[i] = i < 4 ? "x = "[i] : '(';
	CHECK_EQ(config_parse(big, 20000, "t.conf", &c, errbuf,
	    sizeof(errbuf)), -1);
	CHECK(has_error(errbuf, "t.conf:1: ", ""));

	/* Control bytes from the file never reach the terminal. */
	CHECK_EQ(parse_as(MIN "\x1b[31m = 1;\n", "t.conf", &c), -1);
	CHECK(strchr(errbuf, '\x1b') == NULL);

	/* Very many errors: capped, with a summary line. */
	q = many = malloc(200 * 16 + 1);
	CHECK(many != NULL);
	if (many == NULL)
		return;
	for (i = 0; i < 200; i++)
		q += sprintf(q, "k%zu = 1;\n", i);
	CHECK_EQ(parse_as(many, "t.conf", &c), -1);
	CHECK(has_error(errbuf, "t.conf:", "more not shown"));
	free(many);
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK_EQ(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void
test_load(void)
{
	static struct config c;
	char dir[] = "/tmp/test_config.XXXXXX", path[64], expect[128];
	char *big;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/failoverd.conf", dir);
	write_file(path, full_conf, strlen(full_conf));
	CHECK_EQ(config_load(path, &c, errbuf, sizeof(errbuf)), 0);
	CHECK_STR(errbuf, "");
	CHECK_STR(c.path, path);
	snprintf(expect, sizeof(expect), "%s/keys/cluster.key", dir);
	CHECK_STR(c.key_file, expect);
	snprintf(expect, sizeof(expect), "%s/state", dir);
	CHECK_STR(c.state_dir, expect);
	CHECK_EQ(c.nchecks, 2);

	/* Errors from a file carry its path. */
	write_file(path, MIN "\nport = 1;\n", strlen(MIN) + 11);
	CHECK_EQ(config_load(path, &c, errbuf, sizeof(errbuf)), -1);
	snprintf(expect, sizeof(expect), "%s:6: ", path);
	CHECK(has_error(errbuf, expect, "unknown key port"));

	/* Too big. */
	big = malloc(1024 * 1024 + 10);
	memset(big, '#', 1024 * 1024 + 10);
	write_file(path, big, 1024 * 1024 + 10);
	free(big);
	CHECK_EQ(config_load(path, &c, errbuf, sizeof(errbuf)), -1);
	CHECK(strstr(errbuf, "larger than the 1 MiB limit") != NULL);
	CHECK(strncmp(errbuf, path, strlen(path)) == 0);
	unlink(path);

	/* Missing file, directory. */
	CHECK_EQ(config_load(path, &c, errbuf, sizeof(errbuf)), -1);
	snprintf(expect, sizeof(expect), "%s:0: cannot open: %s\n", path,
	    strerror(ENOENT));
	CHECK_STR(errbuf, expect);
	CHECK_EQ(config_load(dir, &c, errbuf, sizeof(errbuf)), -1);
	CHECK(strstr(errbuf, "is a directory") != NULL);
	CHECK_EQ(rmdir(dir), 0);
}

/* The shipped example must parse, apart from its key file existing. */
static void
test_example(void)
{
	static const char *const paths[] = { "etc/failoverd.conf",
	    "../../etc/failoverd.conf" };
	static struct config c;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			break;
	CHECK(i < sizeof(paths) / sizeof(paths[0]));
	if (i == sizeof(paths) / sizeof(paths[0]))
		return;
	if (config_load(paths[i], &c, errbuf, sizeof(errbuf)) != 0)
		fprintf(stderr, "%s\n", errbuf);
	CHECK_STR(errbuf, "");
	CHECK_STR(c.node_name, "alpha");
	CHECK_STR(c.key_file, "/etc/failoverd/cluster.key");
	CHECK_EQ(c.nlinks, 1);
	CHECK(c.nvips >= 1);
}

/* Groups: lines 1-3 as MIN; G_WEB is a valid group entry. */
#define HEAD		L_NODE L_CLUSTER L_LINKS
#define G_WEB		"{ name = \"web\"; vips = ( { address = \"192.0.2.10/24\";" \
			" interface = \"eth0\"; } ); }"
#define G_VIP(a)	"vips = ( { address = \"" a "\"; interface = \"eth0\"; } );"

static const char groups_conf[] =
	"node: { name = \"alpha\"; priority = 120; };\n"		/* 1 */
	"cluster: { id = 1; preempt = false; preempt_delay_ms = 700;"
	" standby_interval_ms = 200; };\n"
	"links = ( { interface = \"eth0\"; local = \"192.0.2.1\"; peer = \"192.0.2.2\"; },\n"
	"  { interface = \"eth1\"; local = \"2001:db8::1\"; peer = \"2001:db8::2\"; } );\n"
	"checks = ( { name = \"web\"; command = \"true\"; },\n"	/* 5 */
	"  { name = \"pg\"; command = \"true\"; on_fail = -10; },\n"
	"  { name = \"disk\"; command = \"true\"; } );\n"
	"track_interfaces = [ \"bond0\", \"eth2\" ];\n"
	"groups = (\n"
	"  { name = \"web\"; priority = 150;\n"			/* 10 */
	"    vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; },\n"
	"      { address = \"2001:db8::10/64\"; interface = \"eth1\"; label = \"eth1:x\"; } ); },\n"
	"  {\n"
	"    name = \"db\"; priority = 50; preempt = true; preempt_delay_ms = 0;\n"
	"    vips = ( { address = \"192.0.2.20/24\"; interface = \"eth0\";"	/* 15 */
	" label = \"eth0:db\"; } );\n"
	"    checks = [ \"pg\", \"disk\" ];\n"
	"    track_interfaces = [ \"eth3\", \"eth2\" ];\n"
	"  },\n"
	"  { name = \"x.y_z-1\"; " G_VIP("192.0.2.30/24") " checks = [ ];"
	" track_interfaces = ( ); }\n"
	");\n";							/* 20 */

static void
test_groups(void)
{
	static struct config c;
	const struct cfg_group *g = c.groups;
	char warn[256];

	CHECK_EQ(parse_as(groups_conf, "t.conf", &c), 0);
	CHECK_STR(errbuf, "");
	CHECK(c.groups_explicit);
	CHECK_EQ(c.ngroups, 3);
	CHECK_EQ(c.nvips, 4);
	CHECK_EQ(c.standby_interval_ms, 200);
	/* The union of all track_interfaces lists, each name once. */
	CHECK_EQ(c.ntrack, 3);
	CHECK_STR(c.track_interfaces[0], "bond0");
	CHECK_STR(c.track_interfaces[1], "eth2");
	CHECK_STR(c.track_interfaces[2], "eth3");
	CHECK_EQ(c.track_top, 0x3);

	/* web: defaults from cluster, all checks, the top-level tracks. */
	CHECK_STR(g[0].name, "web");
	CHECK_EQ(g[0].line, 10);
	CHECK_EQ(g[0].priority, 150);
	CHECK(!g[0].preempt);
	CHECK_EQ(g[0].preempt_delay_ms, 700);
	CHECK_EQ(g[0].first_vip, 0);
	CHECK_EQ(g[0].nvips, 2);
	CHECK_EQ(g[0].checks, 0x7);
	CHECK_EQ(g[0].track, 0x3);
	CHECK_STR(c.vips[0].text, "192.0.2.10/24");
	CHECK_STR(c.vips[1].text, "2001:db8::10/64");
	CHECK_EQ(c.vips[0].group, 0);
	CHECK_EQ(c.vips[1].group, 0);

	/* db: every key set. */
	CHECK_STR(g[1].name, "db");
	CHECK_EQ(g[1].line, 13);
	CHECK_EQ(g[1].priority, 50);
	CHECK(g[1].preempt);
	CHECK_EQ(g[1].preempt_delay_ms, 0);
	CHECK_EQ(g[1].first_vip, 2);
	CHECK_EQ(g[1].nvips, 1);
	CHECK_EQ(g[1].checks, 0x6);		/* pg, disk */
	CHECK_EQ(g[1].track, 0x6);		/* eth2 (shared), eth3 */
	CHECK_STR(c.vips[2].text, "192.0.2.20/24");
	CHECK_STR(c.vips[2].label, "eth0:db");
	CHECK_EQ(c.vips[2].group, 1);

	/* Empty lists: no check and no interface moves this group. */
	CHECK_STR(g[2].name, "x.y_z-1");
	CHECK_EQ(g[2].line, 19);
	CHECK_EQ(g[2].priority, 120);		/* node.priority */
	CHECK_EQ(g[2].first_vip, 3);
	CHECK_EQ(g[2].nvips, 1);
	CHECK_EQ(g[2].checks, 0);
	CHECK_EQ(g[2].track, 0);
	CHECK_EQ(c.vips[3].group, 2);

	/* Warnings name the VIP within its group. */
	CHECK_EQ(config_warnings(&c, warn, sizeof(warn)), 1);
	CHECK_STR(warn, "t.conf:12: groups[0].vips[1].label ignored: Linux has"
	    " no labels on IPv6 addresses\n");

	/* A group without checks follows them all, also when there are none. */
	CHECK_EQ(parse_as(HEAD "groups = ( " G_WEB " );\n", "t.conf", &c), 0);
	CHECK_EQ(c.groups[0].checks, 0);
	CHECK_EQ(c.groups[0].priority, 150);
	CHECK(c.groups[0].preempt);
	CHECK_EQ(c.ntrack, 0);
	/* Repeats in one list are one interface; the mask is the same. */
	CHECK_EQ(parse_as(MIN "track_interfaces = [ \"eth1\", \"eth1\" ];\n",
	    "t.conf", &c), 0);
	CHECK_EQ(c.ntrack, 1);
	CHECK_EQ(c.track_top, 0x1);
	CHECK_EQ(c.groups[0].track, 0x1);
}

/* Section 9 of design.md, as written there, after a head with check "pg". */
static const char design9_conf[] =
	"node:    { name = \"alpha\"; priority = 150; };\n"
	"cluster: { id = 1; };\n"
	"links = ( { interface = \"eth0\"; local = \"192.0.2.1\"; peer = \"192.0.2.2\"; } );\n"
	"checks = ( { name = \"web\"; command = \"true\"; }, { name = \"pg\"; command = \"true\"; } );\n"
	"groups = (                         # up to 32; exclusive with top-level vips\n"
	"  { name = \"web\"; priority = 150;\n"
	"    vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; } ); },\n"
	"  { name = \"db\";  priority = 50; preempt = false; preempt_delay_ms = 0;\n"
	"    vips = ( { address = \"192.0.2.20/24\"; interface = \"eth0\"; } );\n"
	"    checks = [ \"pg\" ];             # names from the top-level checks; default: all of them\n"
	"    track_interfaces = [ \"eth1\" ]; # default: the top-level track_interfaces\n"
	"  }\n"
	");\n";

static void
test_design_groups(void)
{
	static struct config c;

	CHECK_EQ(parse_as(design9_conf, "t.conf", &c), 0);
	CHECK_STR(errbuf, "");
	CHECK_EQ(c.ngroups, 2);
	CHECK_EQ(c.groups[0].checks, 0x3);
	CHECK_EQ(c.groups[0].track, 0);
	CHECK_EQ(c.groups[1].priority, 50);
	CHECK(!c.groups[1].preempt);
	CHECK_EQ(c.groups[1].checks, 0x2);
	CHECK_EQ(c.groups[1].track, 0x1);
	CHECK_STR(c.track_interfaces[0], "eth1");
}

static void
test_group_errors(void)
{
	/* vips and groups: the second one is the error. */
	EXPECT_ERR(MIN "groups = ( " G_WEB " );\n", 5,
	    "groups cannot be used together with vips (line 4)");
	EXPECT_ERR(HEAD "groups = ( " G_WEB " );\n" L_VIPS, 5,
	    "vips cannot be used together with groups (line 4)");
	EXPECT_ERR(HEAD "\n", 0, "missing required key vips");
	EXPECT_ERR(HEAD "group = ( " G_WEB " );\n", 4,
	    "unknown key group (did you mean \"groups\"?)");

	/* The list itself. */
	EXPECT_ERR(HEAD "groups = ( );\n", 4, "groups is empty");
	EXPECT_ERR(HEAD "groups = 5;\n", 4, "groups must be a list");
	EXPECT_ERR(HEAD "groups = ( \"web\" );\n", 4,
	    "groups[0] must be a group { name = ...; vips = ( ... ); }");

	/* Keys of a group. */
	EXPECT_ERR(HEAD "groups = (\n { name = \"web\"; priorty = 1; "
	    G_VIP("192.0.2.10/24") " } );\n", 5,
	    "unknown key groups[0].priorty (did you mean \"priority\"?)");
	EXPECT_ERR(HEAD "groups = (\n { " G_VIP("192.0.2.10/24") " } );\n", 5,
	    "missing required key groups[0].name");
	EXPECT_ERR(HEAD "groups = ( { name = \"a b\"; " G_VIP("192.0.2.10/24")
	    " } );\n", 4, "groups[0].name \"a b\" may only contain letters");
	EXPECT_ERR(HEAD "groups = ( { name = \"\"; " G_VIP("192.0.2.10/24")
	    " } );\n", 4, "groups[0].name must not be empty");
	EXPECT_ERR(HEAD "groups = ( { name = \"abcdefghijklmnopqrstuvwxyz012345\"; "
	    G_VIP("192.0.2.10/24") " } );\n", 4, "groups[0].name is too long");
	EXPECT_ERR(HEAD "groups = ( { name = 1; " G_VIP("192.0.2.10/24")
	    " } );\n", 4, "groups[0].name must be a string, not an integer");
	EXPECT_ERR(HEAD "groups = (\n " G_WEB ",\n { name = \"web\"; "
	    G_VIP("192.0.2.11/24") " } );\n", 6,
	    "groups[1].name \"web\" is already used by groups[0] (line 5)");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; priority = 255; "
	    G_VIP("192.0.2.10/24") " } );\n", 4,
	    "groups[0].priority = 255 is out of range 1..254");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; priority = 0; "
	    G_VIP("192.0.2.10/24") " } );\n", 4,
	    "groups[0].priority = 0 is out of range 1..254");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; priority = \"high\"; "
	    G_VIP("192.0.2.10/24") " } );\n", 4,
	    "groups[0].priority must be an integer, not a string");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; preempt = 1; "
	    G_VIP("192.0.2.10/24") " } );\n", 4,
	    "groups[0].preempt must be a boolean, not an integer");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; preempt_delay_ms = -1; "
	    G_VIP("192.0.2.10/24") " } );\n", 4,
	    "groups[0].preempt_delay_ms = -1 is out of range 0..86400000");

	/* A group's vips: the same rules as the top-level list. */
	EXPECT_ERR(HEAD "groups = (\n { name = \"web\"; } );\n", 5,
	    "missing required key groups[0].vips");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = ( ); } );\n", 4,
	    "groups[0].vips is empty");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = [ 1 ]; } );\n", 4,
	    "groups[0].vips must be a list");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = ( 1 ); } );\n", 4,
	    "groups[0].vips[0] must be a group { address");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = (\n { address ="
	    " \"192.0.2.10/24\"; interface = \"eth1\"; } ); } );\n", 5,
	    "groups[0].vips[0]: interface \"eth1\" has no link");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = ( { address ="
	    " \"192.0.2.10/24\"; interface = \"eth0\"; ttl = 1; } ); } );\n", 4,
	    "unknown key groups[0].vips[0].ttl");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10")
	    " } );\n", 4, "groups[0].vips[0].address \"192.0.2.10\" needs a"
	    " prefix length");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = ( { address ="
	    " \"192.0.2.10/24\"; } ); } );\n", 4,
	    "missing required key groups[0].vips[0].interface");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = ( { address ="
	    " \"192.0.2.10/24\"; interface = \"eth0\"; label = \"x\"; } ); } );\n",
	    4, "groups[0].vips[0].label \"x\" must start with the interface name");
	/* One address, one group: both lines named. */
	EXPECT_ERR(HEAD "groups = (\n " G_WEB ",\n { name = \"db\";\n vips = (\n"
	    " { address = \"192.0.2.11/24\"; interface = \"eth0\"; },\n"
	    " { address = \"192.0.2.10/16\"; interface = \"eth0\"; } ); } );\n", 9,
	    "groups[1].vips[1]: address 192.0.2.10/16 is already groups[0].vips[0]"
	    " (192.0.2.10/24, line 5)");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; vips = (\n"
	    " { address = \"192.0.2.10/24\"; interface = \"eth0\"; },\n"
	    " { address = \"192.0.2.10/24\"; interface = \"eth0\"; } ); } );\n", 6,
	    "groups[0].vips[1]: address 192.0.2.10/24 is already groups[0].vips[0]"
	    " (192.0.2.10/24, line 5)");

	/* checks: names of the top-level checks. */
	EXPECT_ERR(MIN "checks = ( { name = \"pg\"; command = \"true\"; } );\n"
	    "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24") "\n"
	    " checks = [ \"pg\",\n \"pgx\" ]; } );\n", 8,
	    "groups[0].checks[1] \"pgx\" is not the name of an entry in checks");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24")
	    "\n checks = [ \"web\" ]; } );\n", 5,
	    "groups[0].checks[0] \"web\" is not the name of an entry in checks");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24")
	    "\n checks = \"pg\"; } );\n", 5,
	    "groups[0].checks must be a list ( ... ), not a string");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24")
	    "\n checks = [ 1 ]; } );\n", 5, "groups[0].checks[0] must be a string");

	/* track_interfaces: interface names, 8 per list, 32 in all. */
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24")
	    "\n track_interfaces = [ \"eth0:1\" ]; } );\n", 5,
	    "groups[0].track_interfaces[0] \"eth0:1\" is not a valid interface name");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24")
	    "\n track_interfaces = 1; } );\n", 5,
	    "groups[0].track_interfaces must be a list");
	EXPECT_ERR(HEAD "groups = ( { name = \"web\"; " G_VIP("192.0.2.10/24")
	    "\n track_interfaces = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\","
	    " \"g\", \"h\", \"i\" ]; } );\n", 5,
	    "groups[0].track_interfaces has 9 entries, at most 8 allowed");
	EXPECT_ERR(HEAD
	    "track_interfaces = [ \"t0\", \"t1\", \"t2\", \"t3\", \"t4\", \"t5\", \"t6\", \"t7\" ];\n"
	    "groups = (\n"
	    " { name = \"a\"; " G_VIP("192.0.2.10/24") " track_interfaces = [ \"a0\", \"a1\","
	    " \"a2\", \"a3\", \"a4\", \"a5\", \"a6\", \"a7\" ]; },\n"
	    " { name = \"b\"; " G_VIP("192.0.2.11/24") " track_interfaces = [ \"b0\", \"b1\","
	    " \"b2\", \"b3\", \"b4\", \"b5\", \"b6\", \"b7\" ]; },\n"
	    " { name = \"c\"; " G_VIP("192.0.2.12/24") " track_interfaces = [ \"c0\", \"c1\","
	    " \"c2\", \"c3\", \"c4\", \"c5\", \"c6\", \"c7\" ]; },\n"
	    " { name = \"d\"; " G_VIP("192.0.2.13/24") " track_interfaces = [ \"t1\", \"a0\","
	    " \"d0\" ]; } );\n", 9,
	    "groups[3].track_interfaces: more than 32 distinct interfaces in all"
	    " track_interfaces lists");
}

/* cluster.standby_interval_ms: default dead_ms / 3, interval_ms..10000. */
static void
test_standby_interval(void)
{
	static struct config c;

	CHECK_EQ(parse_as(L_NODE "cluster: { id = 1; dead_ms = 200; };\n" L_LINKS
	    L_VIPS, "t.conf", &c), 0);
	CHECK_EQ(c.standby_interval_ms, 100);	/* 66, raised to interval_ms */
	CHECK_EQ(parse_as(L_NODE "cluster: { id = 1; dead_ms = 1000; };\n" L_LINKS
	    L_VIPS, "t.conf", &c), 0);
	CHECK_EQ(c.standby_interval_ms, 333);
	CHECK_EQ(parse_as(L_NODE "cluster: { id = 1; standby_interval_ms = 100; };\n"
	    L_LINKS L_VIPS, "t.conf", &c), 0);
	CHECK_EQ(c.standby_interval_ms, 100);
	CHECK_EQ(parse_as(L_NODE "cluster: { id = 1; standby_interval_ms = 250; };\n"
	    L_LINKS L_VIPS, "t.conf", &c), 0);
	CHECK_EQ(c.standby_interval_ms, 250);
	/* above dead_ms: a version 2 peer holds a sparse standby for its period */
	CHECK_EQ(parse_as(L_NODE "cluster: { id = 1; standby_interval_ms = 10000; };\n"
	    L_LINKS L_VIPS, "t.conf", &c), 0);
	CHECK_EQ(c.standby_interval_ms, 10000);
	EXPECT_ERR(L_NODE "cluster: { id = 1;\n standby_interval_ms = 99; };\n"
	    L_LINKS L_VIPS, 3, "cluster.standby_interval_ms (99) must be between"
	    " cluster.interval_ms (100) and 10000");
	EXPECT_ERR(L_NODE "cluster: { id = 1;\n standby_interval_ms = 10001; };\n"
	    L_LINKS L_VIPS, 3, "cluster.standby_interval_ms (10001) must be between");
	EXPECT_ERR(L_NODE "cluster: { id = 1; standby_interval_ms = 0; };\n"
	    L_LINKS L_VIPS, 2, "cluster.standby_interval_ms = 0 is out of range");
	EXPECT_ERR(L_NODE "cluster: { id = 1; standby_interval_ms = true; };\n"
	    L_LINKS L_VIPS, 2, "cluster.standby_interval_ms must be an integer");
}

/* HEAD, then ngroups groups of nvips VIPs each, one group a line from 5. */
static char *
many_groups(int ngroups, int nvips)
{
	char *buf = malloc(256 + (size_t)ngroups * (40 + (size_t)nvips * 64));
	size_t off;

	if (buf == NULL)
		return NULL;
	off = (size_t)sprintf(buf, HEAD "groups = (\n");
	for (int i = 0; i < ngroups; i++) {
		off += (size_t)sprintf(buf + off, "%s{ name = \"g%d\"; vips = (",
		    i ? "," : "", i);
		for (int j = 0; j < nvips; j++)
			off += (size_t)sprintf(buf + off, "%s{ address ="
			    " \"192.0.%d.%d/24\"; interface = \"eth0\"; }",
			    j ? "," : "", 2 + j, 10 + i);
		off += (size_t)sprintf(buf + off, "); }\n");
	}
	sprintf(buf + off, ");\n");
	return buf;
}

static void
test_group_limits(void)
{
	static struct config c;
	char *text;

	/* 32 groups of 2 VIPs: the most of both. */
	text = many_groups(CFG_MAX_GROUPS, 2);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	CHECK_EQ(parse_as(text, "t.conf", &c), 0);
	CHECK_STR(errbuf, "");
	CHECK_EQ(c.ngroups, 32);
	CHECK_EQ(c.nvips, 64);
	CHECK_STR(c.groups[31].name, "g31");
	CHECK_EQ(c.groups[31].line, 36);
	CHECK_EQ(c.groups[31].first_vip, 62);
	CHECK_EQ(c.vips[63].group, 31);
	CHECK_STR(c.vips[63].text, "192.0.3.41/24");
	free(text);

	text = many_groups(CFG_MAX_GROUPS + 1, 1);
	EXPECT_ERR(text, 4, "groups has 33 entries, at most 32 allowed");
	free(text);

	/* 64 VIPs in all: the 65th is the error. */
	text = many_groups(22, 3);
	EXPECT_ERR(text, 26, "groups[21].vips[1]: more than 64 VIPs in all groups");
	free(text);
}

/* metrics.listen (design 10): an address literal and a port, or nothing. */
static void
test_metrics(void)
{
	static struct config c;
	char a[INET6_ADDRSTRLEN];

	CHECK_EQ(parse_as(MIN, "t.conf", &c), 0);
	CHECK(!c.metrics.enabled);
	CHECK_EQ(parse_as(MIN "\nmetrics: {\n listen = \"127.0.0.1:9694\"; };\n",
	    "t.conf", &c), 0);
	CHECK(c.metrics.enabled);
	CHECK_STR(c.metrics.listen, "127.0.0.1:9694");
	CHECK_EQ(c.metrics.line, 7);
	CHECK_EQ(c.metrics.addr.ss_family, AF_INET);
	CHECK_EQ(c.metrics.salen, sizeof(struct sockaddr_in));
	CHECK_EQ(port_of(&c.metrics.addr), 9694);
	CHECK_STR(addr_of(&c.metrics.addr, a, sizeof(a)), "127.0.0.1");
	CHECK_EQ(parse_as(MIN "metrics: { listen = \"[2001:db8::1]:65535\"; };\n",
	    "t.conf", &c), 0);
	CHECK_EQ(c.metrics.addr.ss_family, AF_INET6);
	CHECK_EQ(c.metrics.salen, sizeof(struct sockaddr_in6));
	CHECK_EQ(port_of(&c.metrics.addr), 65535);
	CHECK_STR(addr_of(&c.metrics.addr, a, sizeof(a)), "2001:db8::1");
	EXPECT_OK(MIN "metrics: { listen = \"0.0.0.0:1\"; };\n");
	EXPECT_OK(MIN "metrics: { listen = \"[::]:9694\"; };\n");

	EXPECT_ERR(MIN "metrics: { };\n", 5, "missing required key metrics.listen");
	EXPECT_ERR(MIN "metrics: { listen = \"\"; };\n", 5,
	    "metrics.listen must not be empty");
	EXPECT_ERR(MIN "metrics: { listen = 9694; };\n", 5,
	    "metrics.listen must be a string, not an integer");
	EXPECT_ERR(MIN "metrics: { listen = \"127.0.0.1:9694\"; port = 1; };\n",
	    5, "unknown key metrics.port");
	EXPECT_ERR(MIN "metrics = \"127.0.0.1:9694\";\n", 5,
	    "metrics must be a group { ... }, not a string");
	static const char *const bad[] = { "127.0.0.1", "127.0.0.1:",
	    "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:123456", ":9694",
	    "127.0.0.1:+80", "127.0.0.1:80x", "localhost:9694", "2001:db8::1:9694",
	    "[2001:db8::1]", "[2001:db8::1]:", "[127.0.0.1]:80", "[]:80",
	    "[fe80::1%eth0]:80", "256.0.0.1:80", "127.0.0.1: 80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256], want[128];

		snprintf(text, sizeof(text), MIN "metrics: {\n listen = \"%s\"; };\n",
		    bad[i]);
		snprintf(want, sizeof(want), "metrics.listen \"%s\" is not"
		    " \"IPV4ADDR:PORT\" or \"[IPV6ADDR]:PORT\"", bad[i]);
		EXPECT_ERR(text, 6, want);
	}
}

/* What start, -t and reload say of a setting they cannot use. */
static void
test_config_error(void)
{
	static struct config c;
	char err[64];

	CHECK_EQ(parse_as(MIN, "/etc/x/t.conf", &c), 0);
	CHECK_EQ(config_error(&c, 5, err, sizeof(err), "quorum needs %s",
	    "libcurl"), -1);
	CHECK_STR(err, "/etc/x/t.conf:5: quorum needs libcurl\n");
	/* cut short: still one line */
	CHECK_EQ(config_error(&c, 7, err, 16, "%s", "long"), -1);
	CHECK_STR(err, "/etc/x/t.conf:\n");
}

/* quorum (design 11): etcd URLs, ttl_s, prefix, on_quorum_loss, TLS files. */
static void
test_quorum(void)
{
	static struct config c;

	CHECK_EQ(parse_as(MIN, "t.conf", &c), 0);
	CHECK(!c.quorum.enabled);
	CHECK_EQ(c.quorum.ttl_s, 2);
	CHECK_STR(c.quorum.prefix, "/failoverd");
	CHECK_EQ(c.quorum.on_loss, QUORUM_KEEP_WHILE_PEERS);

	CHECK_EQ(parse_as(MIN "quorum: {\n etcd = [ \"http://192.0.2.201:2379\","
	    " \"https://[2001:db8::202]:2379/\" ];\n };\n", "/etc/x/t.conf",
	    &c), 0);
	CHECK(c.quorum.enabled);
	CHECK_EQ(c.quorum.line, 5);
	CHECK_EQ(c.quorum.nurls, 2);
	CHECK_STR(c.quorum.urls[0], "http://192.0.2.201:2379");
	CHECK_STR(c.quorum.urls[1], "https://[2001:db8::202]:2379");
	CHECK_EQ(c.quorum.ttl_s, 2);
	CHECK_STR(c.quorum.ca_file, "");

	CHECK_EQ(parse_as(MIN "quorum: { etcd = [ \"http://10.0.0.1:1\" ];"
	    " ttl_s = 5; prefix = \"/ha/fod/\"; on_quorum_loss = \"release\";"
	    " ca_file = \"ca.pem\"; cert_file = \"/k/c.pem\";"
	    " key_file = \"c.key\"; };\n", "/etc/x/t.conf", &c), 0);
	CHECK_EQ(c.quorum.ttl_s, 5);
	CHECK_STR(c.quorum.prefix, "/ha/fod");
	CHECK_EQ(c.quorum.on_loss, QUORUM_RELEASE);
	CHECK_STR(c.quorum.ca_file, "/etc/x/ca.pem");
	CHECK_STR(c.quorum.cert_file, "/k/c.pem");
	CHECK_STR(c.quorum.key_file, "/etc/x/c.key");
	EXPECT_OK(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\", \"http://1.2.3.5:5\","
	    " \"http://1.2.3.6:5\", \"http://1.2.3.7:5\", \"http://1.2.3.8:5\","
	    " \"http://1.2.3.9:5\", \"http://1.2.3.10:5\" ]; ca_file = \"\";"
	    " cert_file = \"\"; key_file = \"\"; ttl_s = 300; };\n");

	EXPECT_ERR(MIN "quorum: { };\n", 5, "missing required key quorum.etcd");
	EXPECT_ERR(MIN "quorum: { etcd = [ ]; };\n", 5,
	    "quorum.etcd is empty: at least one entry is needed");
	EXPECT_ERR(MIN "quorum: { etcd = \"http://1.2.3.4:5\"; };\n", 5,
	    "quorum.etcd must be a list ( ... ), not a string");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\", \"http://1.2.3.5:5\","
	    " \"http://1.2.3.6:5\", \"http://1.2.3.7:5\", \"http://1.2.3.8:5\","
	    " \"http://1.2.3.9:5\", \"http://1.2.3.10:5\", \"http://1.2.3.11:5\" ]; };\n",
	    5, "quorum.etcd has 8 entries, at most 7 allowed");
	EXPECT_ERR(MIN "quorum: {\n etcd = [ \"http://1.2.3.4:5\", \"http://1.2.3.4:5/\" ]; };\n",
	    6, "quorum.etcd[1] \"http://1.2.3.4:5\" is listed twice");
	static const char *const bad[] = { "1.2.3.4:2379", "ftp://1.2.3.4:21",
	    "http://", "http://1.2.3.4", "http://1.2.3.4:0", "http://1.2.3.4:65536",
	    "http://etcd1:2379", "http://2001:db8::1:2379", "http://1.2.3.4:2379/v3",
	    "https://[2001:db8::1]", "http://1.2.3.4:2379//", "HTTP://1.2.3.4:2379" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], want[128];

		snprintf(text, sizeof(text), MIN "quorum: {\n etcd = [ \"%s\" ]; };\n",
		    bad[i]);
		snprintf(want, sizeof(want), "quorum.etcd[0] \"%s\" must", bad[i]);
		EXPECT_ERR(text, 6, want);
	}
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n ttl_s = 0; };\n",
	    6, "quorum.ttl_s = 0 is out of range 1..300");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n ttl_s = 301; };\n",
	    6, "quorum.ttl_s = 301 is out of range 1..300");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n prefix = \"fod\"; };\n",
	    6, "quorum.prefix \"fod\" must start with '/'");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n prefix = \"/\"; };\n",
	    6, "quorum.prefix \"/\" must start with '/'");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n prefix = \"/a b\"; };\n",
	    6, "quorum.prefix \"/a b\" may only contain");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n prefix = \"/a//b\"; };\n",
	    6, "quorum.prefix \"/a//b\" may only contain");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n"
	    " on_quorum_loss = \"keep\"; };\n", 6, "quorum.on_quorum_loss ="
	    " \"keep\" is not one of \"keep-while-peers\", \"release\"");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n ttl = 2; };\n",
	    6, "unknown key quorum.ttl (did you mean \"ttl_s\"?)");
	EXPECT_ERR(MIN "quorum: { etcd = [ \"http://1.2.3.4:5\" ];\n"
	    " cert_file = \"c.pem\"; };\n", 5, "quorum: cert_file and key_file go together");
}

int
main(void)
{
	test_defaults();
	test_full();
	test_paths();
	test_errors();
	test_many_errors();
	test_out_untouched();
	test_hostile();
	test_load();
	test_example();
	test_groups();
	test_design_groups();
	test_group_errors();
	test_standby_interval();
	test_group_limits();
	test_metrics();
	test_quorum();
	test_config_error();
	EXPECT_OK(MIN "checks = ( );\ntrack_interfaces = [ ];\n");
	EXPECT_OK(MIN "track_interfaces = ( \"eth1\" );\n");
	EXPECT_OK("/* c */ node: { name = \"a\"; priority = 1L; }; // x\n"
	    "cluster = { id = 0x10; };\n" L_LINKS L_VIPS);
	return unit_summary("test_config");
}
