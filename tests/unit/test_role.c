/*
 * Unit tests of the glue in role.c and faults.c (with fsm.c and config.c):
 * stall handling, dual-active episodes, fault bookkeeping per group, and
 * what the node says. Their I/O neighbours are stubs defined here: link.c,
 * holder.c, hooks.c, checks.c, arbiter.c, vip.c, sdnotify.c, log.c, and the
 * loop's timers and clocks (a fake clock that only the test moves; due
 * timers fire in time order). role.c and faults.c keep file-scope state
 * with no reset, so every scenario runs in a child process of its own.
 * TEST_ROLE_LOG=1 in the environment prints the daemon's log lines.
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbiter.h"
#include "checks.h"
#include "failoverd.h"
#include "holder.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "sdnotify.h"
#include "vip.h"
#include "quorum.h"
#include "unit.h"

struct daemon d;

/* ------------------------------------------------------------------ */
/* The clock and the loop's timers                                     */

#define T0		5000000ull	/* ms on the fake CLOCK_MONOTONIC at start */
#define BOOT_OFFSET	7000ull		/* CLOCK_BOOTTIME runs ahead by this... */
static uint64_t clock_us = T0 * 1000;
static uint64_t suspended_ms;		/* ...plus the time spent suspended */

uint64_t
now_us(void)
{
	return clock_us;
}

uint64_t
now_ms(void)
{
	return clock_us / 1000;
}

uint64_t
now_boot_ms(void)
{
	return clock_us / 1000 + BOOT_OFFSET + suspended_ms;
}

#define TIMERS_MAX	128
static struct loop_timer *timers[TIMERS_MAX];	/* armed, in the order armed */
static int ntimers;

static void
timer_unlink(struct loop_timer *t)
{
	if (!t->linked)
		return;
	for (int i = 0; i < ntimers; i++)
		if (timers[i] == t) {
			memmove(&timers[i], &timers[i + 1],
			    (size_t)(ntimers - i - 1) * sizeof(timers[0]));
			ntimers--;
			break;
		}
	t->linked = false;
}

void
loop_timer_set(struct loop_timer *t, uint64_t when, loop_timer_cb cb, void *arg)
{
	timer_unlink(t);
	if (ntimers == TIMERS_MAX) {
		fprintf(stderr, "test_role: too many timers\n");
		abort();
	}
	t->when = when ? when : 1;
	t->cb = cb;
	t->arg = arg;
	t->linked = true;
	timers[ntimers++] = t;
}

void
loop_timer_cancel(struct loop_timer *t)
{
	timer_unlink(t);
	t->when = 0;
}

/* The earliest timer due by limit (ms); on a tie the one armed first. */
static struct loop_timer *
timer_due(uint64_t limit)
{
	struct loop_timer *best = NULL;

	for (int i = 0; i < ntimers; i++)
		if (timers[i]->when <= limit &&
		    (best == NULL || timers[i]->when < best->when))
			best = timers[i];
	return best;
}

static void
timer_fire(struct loop_timer *t)
{
	timer_unlink(t);
	t->when = 0;
	t->cb(t->arg);
}

/* Time passes and the loop runs on time: each timer fires when due. */
static void
advance(uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	struct loop_timer *t;

	while ((t = timer_due(end)) != NULL) {
		if (t->when * 1000 > clock_us)
			clock_us = t->when * 1000;
		timer_fire(t);
	}
	clock_us = end * 1000;
}

/* Fire whatever is due now (after a freeze: all that was missed). */
static void
run_due(void)
{
	struct loop_timer *t;

	while ((t = timer_due(now_ms())) != NULL)
		timer_fire(t);
}

/* Frozen (SIGSTOP, a VM pause): time passes and nothing runs. */
static void
freeze(uint64_t ms)
{
	clock_us += ms * 1000;
}

/* Suspended: CLOCK_MONOTONIC stands still, CLOCK_BOOTTIME counts on. */
static void
suspend(uint64_t ms)
{
	suspended_ms += ms;
}

/* ms since the start of the scenario */
static uint64_t
t_rel(void)
{
	return now_ms() - T0;
}

/* ------------------------------------------------------------------ */
/* log.c, sdnotify.c                                                   */

static char logbuf[1 << 17];
static size_t loglen;
static bool log_print;

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_print)
		fprintf(stderr, "  [%6llu] %s: %s\n", (unsigned long long)t_rel(),
		    level, line);
	n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s: %s\n", level, line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warn", fmt, ap);
	va_end(ap);
}

static int
logged(const char *text)
{
	return unit_count(logbuf, text);
}

static char sd_last[1024];
static unsigned sd_count;

void
sdnotify(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sd_last, sizeof(sd_last), fmt, ap);
	va_end(ap);
	sd_count++;
}

/* ------------------------------------------------------------------ */
/* link.c: what the node says, and whether a link is up                */

struct said {
	struct msg	m;
	uint64_t	at_ms, at_us;
};
#define SAID_MAX	2048
static struct said said[SAID_MAX];
static int nsaid;

void
link_send_all(const struct msg *body, const char (*to)[PROTO_NAME_LEN])
{
	if (nsaid == SAID_MAX) {
		fprintf(stderr, "test_role: too many heartbeats\n");
		abort();
	}
	said[nsaid].m = *body;
	said[nsaid].at_ms = now_ms();
	said[nsaid].at_us = now_us();
	nsaid++;
}

/* link.c's, over the link state that link_heard() below keeps */
bool
link_up(int i, uint64_t now)
{
	const struct link_state *ls = &d.links[i];

	return ls->heard && now - ls->heard_at <
	    (ls->hold_ms > d.cfg.dead_ms ? ls->hold_ms : d.cfg.dead_ms);
}

/* link.c's bookkeeping of an accepted message, as it runs before the handler */
static void
link_heard(int i, const struct msg *m)
{
	struct link_state *ls = &d.links[i];
	uint64_t t = now_us();

	if (!link_up(i, now_ms())) {
		ls->up_since_us = t;
		ls->acked_us = 0;
	}
	if (m->echo_time_us >= ls->up_since_us && m->echo_time_us <= t &&
	    m->echo_time_us > ls->acked_us)
		ls->acked_us = m->echo_time_us;
	ls->was_up = ls->heard = true;
	ls->heard_at = now_ms();
	ls->hold_ms = proto_hold_ms(m, d.cfg.dead_ms, d.cfg.interval_ms);
}

bool
link_all_named(void)
{
	return true;	/* the test's peer speaks on every link */
}

uint64_t
link_acked_at(const char *peer, uint64_t now)
{
	uint64_t acked = 0;

	for (int i = 0; i < d.cfg.nlinks; i++)
		if (link_up(i, now) && d.links[i].acked_us / 1000 > acked)
			acked = d.links[i].acked_us / 1000;
	return acked;
}

void
link_check(uint64_t now)
{
}

static const struct said *
newest(void)
{
	static const struct said none;

	return nsaid ? &said[nsaid - 1] : &none;
}

static const struct msg_group *
said_group(const struct said *s, const char *name)
{
	static const struct msg_group none = { .state = 0xff, .flags = 0xff };

	for (int i = 0; i < s->m.ngroups; i++)
		if (strcmp(s->m.groups[i].name, name) == 0)
			return &s->m.groups[i];
	return &none;
}

/* ------------------------------------------------------------------ */
/* holder.c: VIPs up, released, announced; ready when the test says    */

struct hstat {
	unsigned	ups, releases, announces;
	uint64_t	up_at, release_at;	/* ms of the last one */
};
static struct hstat hst[CFG_MAX_GROUPS];
static bool auto_ready = true;	/* usable at once, as IPv4 VIPs are */

static int
holder_group(const struct holder *h)
{
	const struct vgroup *g = (const struct vgroup *)(const void *)
	    ((const char *)h - offsetof(struct vgroup, vips));

	return (int)(g - d.groups);
}

void
holder_init(struct holder *h, const struct config *cfg, int first, int n,
    const struct holder_events *ev)
{
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->first = first;
	h->n = n;
	if (ev)
		h->ev = *ev;
}

/* The kernel's word: every VIP of the holder usable (as holder.c's ready_now). */
static void
holder_ready(struct holder *h)
{
	if (!h->wanted || h->usable)
		return;
	h->usable = true;
	if (h->ev.ready)
		h->ev.ready(h->ev.arg);
}

void
holder_refresh(struct holder *h)
{
}

/* quorum.c: off unless a test turns it on; the lease and keys as it says */
static bool q_on, q_ok, q_fresh, q_held;
bool quorum_enabled(void) { return q_on; }
bool quorum_lease_ok(uint64_t now) { return q_on && q_ok; }
bool quorum_lease_fresh(uint64_t now) { return q_on && q_fresh; }
bool quorum_held(int g) { return q_on && q_held; }
void quorum_want(int g, const char *from) { }
void quorum_drop(int g) { }
void quorum_refresh(int g) { }
const char *quorum_holder(int g) { return ""; }
unsigned
quorum_vip_lifetime_s(unsigned vip_lease_s, uint64_t now)
{
	return q_on && !q_fresh ? HOLDER_KEEP : vip_lease_s;
}

void
holder_up(struct holder *h)
{
	hst[holder_group(h)].ups++;
	hst[holder_group(h)].up_at = now_ms();
	h->wanted = true;
	if (auto_ready)
		holder_ready(h);
}

void
holder_release(struct holder *h)
{
	hst[holder_group(h)].releases++;
	hst[holder_group(h)].release_at = now_ms();
	h->wanted = h->usable = false;
}

void
holder_announce(struct holder *h)
{
	hst[holder_group(h)].announces++;
}

bool
holder_usable(const struct holder *h)
{
	return h->usable;
}

bool
holder_addr_deleted(struct holder *h, int family, const unsigned char *addr,
    int prefixlen, int ifindex)
{
	return false;
}

bool
holder_addr_ready(struct holder *h, int family, const unsigned char *addr,
    int prefixlen, int ifindex)
{
	return false;
}

void
holder_reload(struct holder *h, const struct config *nc, int first, int n)
{
}

void
holder_rebind(struct holder *h, const struct config *running, int first, int n)
{
	h->cfg = running;
	h->first = first;
	h->n = n;
}

/* What a lease refresh, announcement or netlink news asks before it acts. */
static bool
holder_held_off(int g)
{
	struct holder *h = &d.groups[g].vips;

	return h->ev.hold_off && h->ev.hold_off(h->ev.arg);
}

/* ------------------------------------------------------------------ */
/* hooks.c: jobs recorded; the test finishes them                      */

struct job {
	char		kind[16], group[CFG_NAME_MAX + 1], state[16], prev[16];
	char		reason[FSM_REASON_MAX], node[CFG_NAME_MAX + 1];
	char		peer[CFG_NAME_MAX + 1], vips[256];
	bool		require_one, finished;
	hooks_done_cb	done;
	void		*arg;
};
#define JOBS_MAX	512
static struct job jobs[JOBS_MAX];
static int njobs;
static int fence_hooks;		/* what hooks_count("fence") says */

int
hooks_run(const char *kind, const struct hook_env *env, hooks_done_cb done, void *arg)
{
	struct job *j;

	if (njobs == JOBS_MAX) {
		fprintf(stderr, "test_role: too many hook jobs\n");
		abort();
	}
	j = &jobs[njobs++];
	memset(j, 0, sizeof(*j));
	snprintf(j->kind, sizeof(j->kind), "%s", kind);
	snprintf(j->group, sizeof(j->group), "%s", env->group);
	snprintf(j->state, sizeof(j->state), "%s", env->state);
	snprintf(j->prev, sizeof(j->prev), "%s", env->prev_state);
	snprintf(j->reason, sizeof(j->reason), "%s", env->reason);
	snprintf(j->node, sizeof(j->node), "%s", env->node);
	snprintf(j->peer, sizeof(j->peer), "%s", env->peer);
	snprintf(j->vips, sizeof(j->vips), "%s", env->vips);
	j->require_one = env->require_one;
	j->done = done;
	j->arg = arg;
	return 0;
}

int
hooks_count(const char *kind)
{
	return strcmp(kind, "fence") == 0 ? fence_hooks : 0;
}

/* The newest unfinished job of kind for group; -1 if none. */
static int
job_find(const char *kind, const char *group)
{
	for (int i = njobs - 1; i >= 0; i--)
		if (!jobs[i].finished && strcmp(jobs[i].kind, kind) == 0 &&
		    strcmp(jobs[i].group, group) == 0)
			return i;
	return -1;
}

static int
jobs_of(const char *kind, const char *group)
{
	int n = 0;

	for (int i = 0; i < njobs; i++)
		n += strcmp(jobs[i].kind, kind) == 0 && strcmp(jobs[i].group, group) == 0;
	return n;
}

static void
job_finish(int j, bool ok, const char *failed)
{
	if (j < 0 || j >= njobs || jobs[j].finished) {
		fprintf(stderr, "test_role: no such job %d\n", j);
		abort();
	}
	jobs[j].finished = true;
	if (jobs[j].done)
		jobs[j].done(jobs[j].arg, jobs[j].kind, ok, failed);
}

/* ------------------------------------------------------------------ */
/* checks.c: verdicts by check name, reported when the test says       */

static struct cfg_check chk[CFG_MAX_CHECKS];
static int nchk;
static checks_cb chk_cb;
static void *chk_arg;
static unsigned checks_inits;
static char chk_failed[CFG_MAX_CHECKS][CFG_NAME_MAX + 1];	/* "" = free */

static bool
check_failed(const char *name)
{
	for (int i = 0; i < CFG_MAX_CHECKS; i++)
		if (strcmp(chk_failed[i], name) == 0)
			return true;
	return false;
}

/* A check keeps its verdict over a re-init, as checks.c does for an unchanged one. */
int
checks_init(const struct cfg_check *checks, int n, checks_cb cb, void *arg)
{
	checks_inits++;
	memcpy(chk, checks, (size_t)n * sizeof(chk[0]));
	nchk = n;
	chk_cb = cb;
	chk_arg = arg;
	return 0;
}

void
checks_finalise(void)
{
}

int
checks_info(int idx, struct check_info *ci)
{
	if (idx < 0 || idx >= nchk)
		return -1;
	memset(ci, 0, sizeof(*ci));
	ci->healthy = !check_failed(chk[idx].name);
	return 0;
}

/* Check name's verdict changed: the callback, as from the loop. */
static void
check_verdict(const char *name, bool healthy)
{
	int idx = -1;

	for (int i = 0; i < CFG_MAX_CHECKS; i++) {
		if (!healthy && chk_failed[i][0] == '\0' && !check_failed(name))
			snprintf(chk_failed[i], sizeof(chk_failed[i]), "%s", name);
		else if (healthy && strcmp(chk_failed[i], name) == 0)
			chk_failed[i][0] = '\0';
	}
	for (int i = 0; i < nchk; i++)
		if (strcmp(chk[i].name, name) == 0)
			idx = i;
	if (idx == -1 || chk_cb == NULL) {
		fprintf(stderr, "test_role: no check %s\n", name);
		abort();
	}
	chk_cb(chk_arg, idx, healthy);
}

/* ------------------------------------------------------------------ */
/* arbiter.c                                                           */

static arbiter_cb arb_cb;
static void *arb_arg;
static void (*arb_reply_cb)(void *);
static void *arb_reply_arg;
static struct arbiter_info arb_info = { .reachable = true };
static unsigned arb_probes;

int
arbiter_init(const struct config *c, arbiter_cb cb, void *arg)
{
	arb_cb = cb;
	arb_arg = arg;
	arb_reply_cb = NULL;
	arb_info.enabled = c->narbiter > 0;	/* an unreachable one stays so */
	return 0;
}

void
arbiter_finalise(void)
{
}

void
arbiter_get(struct arbiter_info *ai)
{
	*ai = arb_info;
}

void
arbiter_on_reply(void (*cb)(void *), void *arg)
{
	arb_reply_cb = cb;
	arb_reply_arg = arg;
}

void
arbiter_probe(void)
{
	arb_probes++;
}

static void
arbiter_verdict(bool reachable)
{
	arb_info.reachable = reachable;
	arb_cb(arb_arg, reachable);
}

static void
arbiter_reply(void)
{
	if (arb_reply_cb)
		arb_reply_cb(arb_reply_arg);
}

/* ------------------------------------------------------------------ */
/* vip.c: carrier of the interfaces                                    */

static char no_carrier[8][IF_NAMESIZE];	/* "" = free */

int
vip_link_carrier(const char *ifname)
{
	for (int i = 0; i < 8; i++)
		if (strcmp(no_carrier[i], ifname) == 0)
			return 0;
	return 1;
}

/* Carrier of ifname as the netlink watch reports it (main.c's on_link_changed). */
static void
carrier(const char *ifname, bool up)
{
	for (int i = 0; i < 8; i++) {
		if (up && strcmp(no_carrier[i], ifname) == 0)
			no_carrier[i][0] = '\0';
		else if (!up && no_carrier[i][0] == '\0' && vip_link_carrier(ifname)) {
			snprintf(no_carrier[i], sizeof(no_carrier[i]), "%s", ifname);
			break;
		}
	}
	faults_link_changed(NULL, ifname, 3, up);	/* nothing before faults_start() */
}

/* ------------------------------------------------------------------ */
/* The peer: what it says; it echoes our newest heartbeat unless told   */

static struct {
	struct msg	 m;
	int		 link;
	bool		 steps_down;	/* preempted: gives up once it hears us hold */
	bool		 echo;		/* echo our newest heartbeat... */
	uint64_t	 echo_us;	/* ...or this one (0: none) */
	unsigned	 every_ms;
	struct loop_timer timer;
} peer;

static void
peer_init(const char *name, int version)
{
	memset(&peer.m, 0, sizeof(peer.m));
	peer.m.version = (uint8_t)version;
	peer.m.type = PROTO_T_HEARTBEAT;
	peer.m.cluster_id = (uint16_t)d.cfg.cluster_id;
	peer.m.epoch = 42;
	snprintf(peer.m.name, sizeof(peer.m.name), "%s", name);
	peer.echo = true;
	peer.echo_us = 0;
	peer.steps_down = false;
}

/* What the peer says of group name from now on. */
static void
peer_says(const char *name, enum fsm_state st, int prio, unsigned flags)
{
	struct msg_group *mg = NULL;

	for (int i = 0; i < peer.m.ngroups; i++)
		if (strcmp(peer.m.groups[i].name, name) == 0)
			mg = &peer.m.groups[i];
	if (mg == NULL) {
		mg = &peer.m.groups[peer.m.ngroups++];
		snprintf(mg->name, sizeof(mg->name), "%s", name);
	}
	mg->state = (uint8_t)st;
	mg->priority = (uint8_t)prio;
	mg->flags = (uint8_t)flags;
}

static void
peer_send_ex(bool stood_still)
{
	/* as fsm.c's active_peer() on our heartbeat: a winner holds, it lets go */
	for (int i = 0; peer.steps_down && peer.echo && i < peer.m.ngroups; i++) {
		struct msg_group *mg = &peer.m.groups[i];
		const struct msg_group *our = said_group(newest(), mg->name);

		if (mg->state == FSM_ACTIVE && our->state == FSM_ACTIVE &&
		    (our->flags & PROTO_F_HOLDS) && our->priority > mg->priority) {
			mg->state = FSM_STANDBY;
			mg->flags &= (uint8_t)~PROTO_F_HOLDS;
		}
	}
	peer.m.seq++;
	peer.m.tx_time_us = now_us() + 1000000000ull;	/* its own clock */
	peer.m.echo_time_us = peer.echo ? newest()->at_us : peer.echo_us;
	peer.m.echo_delay_us = 0;
	link_heard(peer.link, &peer.m);
	daemon_peer_message(peer.link, &peer.m, stood_still, now_ms());
}

static void
peer_send(void)
{
	peer_send_ex(false);
}

static void
peer_tick(void *arg)
{
	peer_send();
	loop_timer_set(&peer.timer, now_ms() + peer.every_ms, peer_tick, NULL);
}

/* The peer sends now and then every every_ms. */
static void
peer_start(unsigned every_ms)
{
	peer.every_ms = every_ms;
	peer_tick(NULL);
}

static void
peer_stop(void)
{
	loop_timer_cancel(&peer.timer);
}

/* ------------------------------------------------------------------ */
/* Configurations and the daemon's start (main.c's order)               */

#define CONF_LINKS \
	"links = ( { interface = \"eth0\"; local = \"192.0.2.1\"; peer = \"192.0.2.2\"; },\n" \
	"  { interface = \"eth1\"; local = \"2001:db8::1\"; peer = \"2001:db8::2\"; } );\n"
#define CONF_HEAD \
	"node: { name = \"alpha\"; priority = 100; };\n" \
	"cluster: { id = 7; interval_ms = 100; dead_ms = 600; init_dead_ms = 1000;\n" \
	"  standby_interval_ms = 300; };\n" \
	CONF_LINKS

/* 0.1's format: the implicit group "default" */
static const char conf_single[] = CONF_HEAD
	"vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; } );\n";

/* A standby sends every 2 s, far beyond dead_ms (300 ms). */
static const char conf_sparse[] =
	"node: { name = \"alpha\"; priority = 100; };\n"
	"cluster: { id = 7; interval_ms = 100; dead_ms = 300; init_dead_ms = 1000;\n"
	"  standby_interval_ms = 2000; };\n"
	CONF_LINKS
	"vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; } );\n";

#define CONF_CHECKS \
	"checks = ( { name = \"web\"; command = \"true\"; },\n" \
	"  { name = \"pg\"; command = \"true\"; },\n" \
	"  { name = \"slow\"; command = \"true\"; on_fail = -70; } );\n"
#define CONF_WEB(checks, track) \
	"  { name = \"web\"; priority = 150; checks = [ " checks " ]; " track "\n" \
	"    vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; } ); },\n"
#define CONF_DB(checks, track) \
	"  { name = \"db\"; priority = 150; checks = [ " checks " ]; " track "\n" \
	"    vips = ( { address = \"2001:db8::20/64\"; interface = \"eth1\"; } ); }\n"

/*
 * Two groups: web (VIP on eth0, check "web", penalty check "slow", the
 * top-level track list) and db (VIP on eth1, check "pg", tracks eth2).
 */
static const char conf_groups[] = CONF_HEAD CONF_CHECKS
	"track_interfaces = [ \"bond0\" ];\n"
	"groups = (\n"
	CONF_WEB("\"web\", \"slow\"", "")
	CONF_DB("\"pg\"", "track_interfaces = [ \"eth2\" ];")
	");\n";

static void
parse(const char *text, struct config *c)
{
	static char err[CFG_ERR_MAX];

	if (config_parse(text, strlen(text), "test.conf", c, err, sizeof(err)) == -1) {
		fprintf(stderr, "test_role: bad test config:\n%s", err);
		abort();
	}
}

static void
start(const char *conf)
{
	parse(conf, &d.cfg);
	for (int i = 0; i < d.cfg.nlinks; i++)
		d.links[i].fd = 3 + i;
	d.started_ms = now_ms();
	role_init();
	CHECK_EQ(faults_start(), 0);
	role_start();
	peer.link = 0;
}

/* reload.c's reload_apply() over conf, without the files and sockets */
static void
reload(const char *conf)
{
	static struct config nc;

	parse(conf, &nc);
	role_reload_begin(&nc);
	memcpy(&d.cfg, &nc, sizeof(nc));
	role_reload_end();
	faults_restart();
}

static int
G(const char *name)
{
	for (int i = 0; i < d.ngroups; i++)
		if (strcmp(d.cfg.groups[i].name, name) == 0)
			return i;
	fprintf(stderr, "test_role: no group %s\n", name);
	abort();
}

static struct fsm *
F(const char *name)
{
	return &d.groups[G(name)].fsm;
}

static int
group_faults(const char *name, const char **first)
{
	const char *out[8];
	int n = faults_of_group(G(name), out, 8);

	*first = n ? out[0] : "";
	return n;
}

/* ------------------------------------------------------------------ */
/* (4) What the node says                                              */

static void
test_says_v1_implicit_group(void)
{
	const struct msg_group *mg;
	char status[256];
	int n;

	start(conf_single);
	CHECK_EQ(nsaid, 1);			/* the first tick says it at once */
	CHECK_EQ(said[0].m.version, 1);
	CHECK_EQ(said[0].m.ngroups, 1);
	CHECK_STR(said[0].m.groups[0].name, "default");
	CHECK_EQ(said[0].m.groups[0].state, FSM_INIT);
	CHECK_EQ(said[0].m.groups[0].priority, 100);
	/* version 1 says that it speaks version 2 too (0.1 ignores the flag) */
	CHECK_EQ(said[0].m.groups[0].flags, PROTO_F_PREEMPT | PROTO_F_V2);
	CHECK_EQ(sd_count, 0);			/* READY only once it has a role */

	/* init: every interval_ms */
	advance(999);
	CHECK_EQ(nsaid, 10);
	CHECK_EQ(said[9].at_ms, T0 + 900);
	CHECK_EQ(F("default")->state, FSM_INIT);
	advance(1);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_EQ(hst[0].ups, 1);
	CHECK_EQ(jobs_of("promote", "default"), 1);
	CHECK(strstr(sd_last, "READY=1") != NULL);
	CHECK(strstr(sd_last, "STATUS=active (startup)") != NULL);
	role_status_line(status, sizeof(status));
	CHECK_STR(status, "active (startup)");
	mg = &newest()->m.groups[0];
	CHECK_EQ(newest()->m.version, 1);
	CHECK_EQ(newest()->at_ms, T0 + 1000);
	CHECK_EQ(mg->state, FSM_ACTIVE);
	CHECK_EQ(mg->flags, PROTO_F_PREEMPT | PROTO_F_HOLDS | PROTO_F_V2);

	/* a version 1 peer: the node keeps speaking version 1 */
	advance(50);
	peer_init("beta", 1);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 50, PROTO_F_PREEMPT);
	n = nsaid;
	peer_send();
	CHECK(nsaid > n);			/* it was gone: tell it (and ARP) now */
	CHECK_EQ(newest()->at_ms, T0 + 1050);
	CHECK_EQ(newest()->m.version, 1);
	advance(100);
	CHECK_EQ(newest()->m.version, 1);

	/* a version 2 peer: version 2 from now on, still the one group */
	peer.m.version = 2;
	peer_send();
	advance(100);
	CHECK_EQ(newest()->at_ms, T0 + 1250);	/* 100 ms after the last */
	CHECK_EQ(newest()->m.version, 2);
	CHECK_EQ(newest()->m.ngroups, 1);
	CHECK_EQ(newest()->m.period_ms, 100);	/* active: interval_ms */
	CHECK_EQ(newest()->m.groups[0].flags, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	CHECK_STR(newest()->m.groups[0].name, "default");
	CHECK_EQ(F("default")->state, FSM_ACTIVE);

	/* a version 1 peer that says it speaks version 2 (this build): 2 */
	peer.m.version = 1;
	peer.m.groups[0].flags |= PROTO_F_V2;
	peer_send();
	advance(100);
	CHECK_EQ(newest()->m.version, 2);
	/* downgraded to 0.1 (no such flag): version 1 again */
	peer.m.groups[0].flags &= (uint8_t)~PROTO_F_V2;
	peer_send();
	advance(100);
	CHECK_EQ(newest()->m.version, 1);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
}

static void
test_says_v2_groups_and_cadence(void)
{
	char status[256];
	int first, n;

	start(conf_groups);
	CHECK_EQ(said[0].m.version, 2);
	CHECK_EQ(said[0].m.ngroups, 2);
	CHECK_STR(said[0].m.groups[0].name, "web");
	CHECK_STR(said[0].m.groups[1].name, "db");
	CHECK_EQ(said[0].m.groups[0].priority, 150);

	/* beta holds both groups, at a higher priority: standby in every group */
	advance(50);
	peer_init("beta", 2);
	peer_says("web", FSM_ACTIVE, 200, PROTO_F_HOLDS | PROTO_F_PREEMPT);
	peer_says("db", FSM_ACTIVE, 200, PROTO_F_HOLDS | PROTO_F_PREEMPT);
	n = nsaid;
	peer_start(100);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	CHECK(nsaid > n);			/* at once on the change */
	CHECK_EQ(newest()->at_ms, T0 + 50);
	CHECK_EQ(said_group(newest(), "web")->state, FSM_STANDBY);
	CHECK_EQ(said_group(newest(), "db")->state, FSM_STANDBY);
	CHECK_EQ(said_group(newest(), "db")->flags, PROTO_F_PREEMPT);
	role_status_line(status, sizeof(status));
	CHECK_STR(status, "web standby, db standby");

	/* standby in every group: every standby_interval_ms (300), not 100 */
	first = nsaid;
	advance(2990);				/* to T0 + 3040 */
	CHECK_EQ(nsaid - first, 9);		/* 350, 650, ..., 2750 */
	for (int i = first; i < nsaid; i++) {
		CHECK_EQ(said[i].at_ms - (i == first ? T0 + 50 : said[i - 1].at_ms),
		    300);
		CHECK_EQ(said[i].m.period_ms, 300);	/* and says so */
	}

	/* beta lets db go: alpha wins db's election, says so at once */
	peer_says("db", FSM_STANDBY, 100, PROTO_F_PREEMPT);
	advance(10);				/* its message at T0 + 3050 */
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_STR(F("db")->reason, "election");
	CHECK_EQ(newest()->at_ms, T0 + 3050);
	CHECK_EQ(said_group(newest(), "db")->flags, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	CHECK_EQ(said_group(newest(), "web")->flags, PROTO_F_PREEMPT);

	/* active in one group: every interval_ms */
	first = nsaid;
	advance(950);				/* to T0 + 4000 */
	CHECK_EQ(nsaid - first, 9);		/* 3200, 3300, ..., 4000 */
	for (int i = first + 1; i < nsaid; i++)
		CHECK_EQ(said[i].at_ms - said[i - 1].at_ms, 100);

	/* a change between ticks is said at once */
	advance(30);
	n = nsaid;
	check_verdict("web", false);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(nsaid, n + 1);
	CHECK_EQ(newest()->at_ms, T0 + 4030);
	CHECK_EQ(said_group(newest(), "web")->state, FSM_FAULT);
	CHECK_EQ(said_group(newest(), "db")->state, FSM_ACTIVE);

	/* fault in one, standby in the other: holds nothing, every 300 ms */
	peer_says("db", FSM_ACTIVE, 200, PROTO_F_HOLDS | PROTO_F_PREEMPT);
	advance(100);				/* its message at 4050 takes db back */
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	first = nsaid;
	advance(1000);
	for (int i = first + 1; i < nsaid; i++)
		CHECK_EQ(said[i].at_ms - said[i - 1].at_ms, 300);
	CHECK(nsaid - first >= 3);
	peer_stop();
}

/* VIPs that are not usable yet (IPv6): active, but not HOLDS until they are. */
static void
test_says_holds_once_usable(void)
{
	const struct msg_group *mg;
	int n;

	auto_ready = false;
	start(conf_single);
	advance(1000);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_EQ(hst[0].ups, 1);
	mg = &newest()->m.groups[0];
	CHECK_EQ(mg->state, FSM_ACTIVE);
	CHECK(!(mg->flags & PROTO_F_HOLDS));
	CHECK_EQ(hst[0].announces, 0);
	CHECK_EQ(jobs_of("promote", "default"), 0);	/* vip-first: waits too */
	advance(110);
	CHECK(!(newest()->m.groups[0].flags & PROTO_F_HOLDS));

	n = nsaid;
	holder_ready(&d.groups[0].vips);
	CHECK_EQ(nsaid, n + 1);			/* the peer may let go now */
	CHECK(newest()->m.groups[0].flags & PROTO_F_HOLDS);
	CHECK_EQ(hst[0].announces, 1);
	CHECK_EQ(jobs_of("promote", "default"), 1);
	n = job_find("promote", "default");
	CHECK_STR(jobs[n].state, "active");
	CHECK_STR(jobs[n].prev, "init");
	CHECK_STR(jobs[n].vips, "192.0.2.10/24");
	CHECK_STR(jobs[n].node, "alpha");
}

/* ------------------------------------------------------------------ */
/* (1) Stall handling                                                  */

/*
 * Active in both groups; frozen past dead_ms while beta took over. The
 * backlog is read first: every group yields (no dual-active), and nothing
 * is claimed back until a tick is on time again.
 */
static void
test_stall_late_tick_yields(void)
{
	uint64_t f;
	int n;

	start(conf_groups);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	advance(50);
	peer_init("beta", 2);
	peer_says("web", FSM_STANDBY, 100, PROTO_F_PREEMPT);
	peer_says("db", FSM_STANDBY, 100, PROTO_F_PREEMPT);
	peer_start(100);
	advance(500);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(logged("stalled"), 0);

	/* frozen for 2 s; beta took both groups meanwhile */
	peer_stop();
	freeze(2000);
	f = now_ms();
	peer_says("web", FSM_ACTIVE, 100, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	peer_says("db", FSM_ACTIVE, 100, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	peer_send();				/* the backlog comes first */
	CHECK_EQ(logged("event loop stalled"), 1);
	CHECK(F("web")->stalled);
	CHECK(F("db")->stalled);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	CHECK_STR(F("web")->reason, "stalled");
	CHECK_STR(F("db")->reason, "stalled");
	CHECK_EQ(hst[G("web")].releases, 1);
	CHECK_EQ(hst[G("db")].releases, 1);
	CHECK_EQ(d.cnt.dual_active, 0);		/* old news, not a split brain */
	CHECK(!(said_group(newest(), "db")->flags & PROTO_F_YIELDED));

	/* more backlog, then the missed timers: still no claim (it would preempt) */
	peer_send();
	n = nsaid;
	run_due();
	CHECK_EQ(nsaid, n);			/* a late tick says nothing */
	CHECK(F("web")->stalled);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	CHECK_EQ(hst[G("web")].ups, 1);
	CHECK_EQ(hst[G("db")].ups, 1);

	/* the next tick is on time: resumed; preempt takes the groups back */
	peer.steps_down = true;
	peer_start(100);
	advance(100);
	CHECK(!F("web")->stalled);
	CHECK(!F("db")->stalled);
	CHECK_EQ(logged("event loop stalled"), 1);
	advance(200);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_STR(F("web")->reason, "preempt");
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK(hst[G("web")].up_at > f);
	CHECK_EQ(d.cnt.dual_active, 0);
	peer_stop();
}

/* Standby in both groups; beta died while we were frozen: no takeover before a tick on time. */
static void
test_stall_standby_claims_nothing(void)
{
	uint64_t f;

	start(conf_groups);
	advance(50);
	peer_init("beta", 2);
	peer_says("web", FSM_ACTIVE, 200, PROTO_F_HOLDS);
	peer_says("db", FSM_ACTIVE, 200, PROTO_F_HOLDS);
	peer_start(100);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	peer_stop();

	freeze(2000);
	f = now_ms();
	run_due();				/* dead peer timers and a late tick */
	CHECK(F("web")->stalled);
	CHECK(F("db")->stalled);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	CHECK_EQ(hst[G("web")].ups + hst[G("db")].ups, 0);
	CHECK_EQ(logged("event loop stalled"), 1);

	/* the lease refresh asks too: held off while the stall lasts */
	CHECK(holder_held_off(G("web")));
	advance(99);
	CHECK(F("web")->stalled);
	CHECK_EQ(hst[G("web")].ups, 0);

	/* a tick on time: the peer is silent, so now the groups are taken */
	advance(1);
	CHECK(!F("web")->stalled);
	CHECK(!holder_held_off(G("web")));
	advance(200);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_STR(F("web")->reason, "peer-dead");
	CHECK(hst[G("web")].up_at >= f + 100);
	CHECK(hst[G("db")].up_at >= f + 100);
}

/* Suspended: CLOCK_MONOTONIC did not move, CLOCK_BOOTTIME did. */
static void
test_stall_boot_clock(void)
{
	int n;

	start(conf_single);
	advance(1000);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	advance(50);
	peer_init("beta", 1);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 200, PROTO_F_PREEMPT);
	peer_start(100);
	advance(200);				/* to T0 + 1250 */
	CHECK_EQ(F("default")->state, FSM_ACTIVE);

	suspend(2000);
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 200, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	n = nsaid;
	advance(100);				/* tick and message: late by the boot clock */
	CHECK(F("default")->stalled);
	CHECK_EQ(logged("event loop stalled"), 1);
	for (int i = n; i < nsaid; i++)		/* active, yet it claims nothing */
		CHECK_EQ(said[i].m.groups[0].state, FSM_STANDBY);
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK_STR(F("default")->reason, "stalled");
	CHECK_EQ(d.cnt.dual_active, 0);
	advance(100);				/* a tick on time */
	CHECK(!F("default")->stalled);
	advance(500);
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	peer_stop();
}

/* The peer's clock moved on while ours stood still: a stall without a late tick. */
static void
test_stall_stood_still(void)
{
	unsigned ann;

	start(conf_groups);
	advance(1000);
	advance(50);
	peer_init("beta", 2);
	peer_says("web", FSM_STANDBY, 100, 0);
	peer_says("db", FSM_STANDBY, 100, 0);
	peer_start(100);
	advance(300);				/* to T0 + 1350 */
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	peer_stop();

	/* beta holds web now (not db); the message proves we stood still */
	peer_says("web", FSM_ACTIVE, 100, PROTO_F_HOLDS);
	ann = hst[G("db")].announces;
	peer_send_ex(true);
	CHECK_EQ(logged("stood still"), 1);
	CHECK(F("web")->stalled);
	CHECK(F("db")->stalled);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_STR(F("web")->reason, "stalled");
	CHECK_EQ(F("db")->state, FSM_ACTIVE);	/* nobody else holds it */
	CHECK_EQ(hst[G("db")].announces, ann);	/* but claims or announces nothing */
	CHECK_EQ(d.cnt.dual_active, 0);
	peer_send();				/* more backlog: web would preempt */
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(hst[G("web")].ups, 1);

	advance(200);				/* a tick on time */
	CHECK(!F("web")->stalled);
	CHECK(!F("db")->stalled);
	peer_send();				/* now preempt may take web back */
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_STR(F("web")->reason, "preempt");
}

/* ------------------------------------------------------------------ */
/* (2) Dual-active                                                     */

/*
 * A healed partition: alpha holds both groups, beta too. Alpha wins web
 * (150 > 100) and loses db (150 < 200): it keeps db's VIPs until beta
 * echoes a heartbeat sent after alpha saw both active.
 */
static void
test_dual_active_make_before_break(void)
{
	unsigned web_ann;
	uint64_t h, before_us;
	int first;

	start(conf_groups);
	advance(1250);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	before_us = newest()->at_us;		/* sent at 1200, before the heal */
	web_ann = hst[G("web")].announces;

	h = now_ms();
	peer_init("beta", 2);
	peer_says("web", FSM_ACTIVE, 100, PROTO_F_HOLDS);
	peer_says("db", FSM_ACTIVE, 200, PROTO_F_HOLDS);
	first = nsaid;
	peer_send();
	CHECK_EQ(d.cnt.dual_active, 2);		/* one episode per group */
	CHECK_EQ(logged("both nodes active"), 2);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);	/* the winner keeps its VIPs... */
	CHECK_EQ(hst[G("web")].announces, web_ann + 1);	/* ...and tells the clients */
	CHECK_EQ(F("db")->state, FSM_ACTIVE);	/* the loser too, for now */
	CHECK(F("db")->yielding);
	CHECK_EQ(hst[G("db")].releases, 0);
	CHECK(nsaid > first);
	CHECK_EQ(newest()->at_ms, h);
	CHECK_EQ(said_group(newest(), "db")->flags, PROTO_F_PREEMPT | PROTO_F_HOLDS |
	    PROTO_F_YIELDED);
	CHECK_EQ(said_group(newest(), "web")->flags, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	first = nsaid - 1;

	/* an echo of what we said before we saw the dual state proves nothing */
	advance(100);
	peer.echo = false;
	peer.echo_us = before_us;
	peer_send();
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_EQ(hst[G("db")].releases, 0);
	CHECK_EQ(d.cnt.dual_active, 2);
	for (int i = first; i < nsaid; i++)	/* each heartbeat meanwhile says YIELDED */
		CHECK(said_group(&said[i], "db")->flags & PROTO_F_YIELDED);

	/* beta echoes a later one: alpha lets db go, and stops saying YIELDED */
	advance(100);
	peer.echo = true;
	peer_send();
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	CHECK_STR(F("db")->reason, "dual-active");
	CHECK_EQ(hst[G("db")].releases, 1);
	CHECK_EQ(hst[G("db")].release_at, h + 200);
	CHECK_EQ(jobs_of("demote", "db"), 1);
	CHECK_EQ(said_group(newest(), "db")->state, FSM_STANDBY);
	CHECK(!(said_group(newest(), "db")->flags & PROTO_F_YIELDED));
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(hst[G("web")].releases, 0);
	CHECK_EQ(d.cnt.dual_active, 2);
	CHECK_EQ(logged("dual-active episode over"), 0);	/* with the next message */

	/* beta yields web in turn: both episodes end, each counted once */
	advance(100);
	peer_says("web", FSM_STANDBY, 100, PROTO_F_YIELDED);
	peer_send();
	CHECK_EQ(logged("group db: dual-active episode over"), 1);
	CHECK_EQ(logged("group web: dual-active episode over after 300 ms"), 1);
	advance(100);
	peer_send();
	advance(100);
	peer_says("web", FSM_STANDBY, 100, 0);
	peer_send();
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_STANDBY);
	CHECK_EQ(d.cnt.dual_active, 2);
	CHECK_EQ(logged("dual-active episode over"), 2);
	CHECK_EQ(logged("both nodes active"), 2);
}

/* The winner never echoes (it does not hear us): the loser lets go after dead_ms. */
static void
test_dual_active_loser_after_dead_ms(void)
{
	uint64_t h;

	start(conf_single);
	advance(1250);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	peer_init("beta", 1);
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 200, PROTO_F_HOLDS);
	peer.echo = false;
	peer.echo_us = 0;
	h = now_ms();
	peer_start(100);
	CHECK_EQ(d.cnt.dual_active, 1);
	CHECK(newest()->m.groups[0].flags & PROTO_F_YIELDED);
	advance(599);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_EQ(hst[0].releases, 0);
	CHECK(newest()->m.groups[0].flags & PROTO_F_HOLDS);
	CHECK(newest()->m.groups[0].flags & PROTO_F_YIELDED);
	advance(1);
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK_STR(F("default")->reason, "dual-active");
	CHECK_EQ(hst[0].releases, 1);
	CHECK_EQ(hst[0].release_at, h + 600);
	CHECK_EQ(d.cnt.dual_active, 1);

	/* standby, but YIELDED until beta has heard it */
	advance(500);
	CHECK_EQ(newest()->m.groups[0].state, FSM_STANDBY);
	CHECK(newest()->m.groups[0].flags & PROTO_F_YIELDED);
	peer.echo = true;
	advance(100);				/* a message echoing what we said after yielding */
	advance(300);
	CHECK(!(newest()->m.groups[0].flags & PROTO_F_YIELDED));
	peer_stop();
}

/* The loser heard the winner first and released: the winner counts it from YIELDED. */
static void
test_dual_active_winner_hears_yielded(void)
{
	unsigned ann;

	start(conf_single);
	advance(1250);
	ann = hst[0].announces;
	peer_init("beta", 1);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 50, PROTO_F_YIELDED);
	peer_send();
	CHECK_EQ(d.cnt.dual_active, 1);
	CHECK_EQ(logged("the peer heard this node first"), 1);
	/* never heard before: both were active at most since this node is */
	CHECK_EQ(logged("dual-active episode over after 250 ms (estimated)"), 1);
	CHECK_EQ(hst[0].announces, ann + 1);	/* clients may know beta's MAC */
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	advance(100);
	peer_send();				/* the same news again: not a new episode */
	advance(100);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 50, 0);
	peer_send();
	CHECK_EQ(d.cnt.dual_active, 1);
	CHECK_EQ(logged("the peer heard this node first"), 1);

	/* another partition, 2 s: beta held the VIPs after dead_ms of it */
	advance(2000);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 50, PROTO_F_YIELDED);
	peer_send();
	CHECK_EQ(d.cnt.dual_active, 2);
	CHECK_EQ(logged("dual-active episode over after 1400 ms (estimated)"), 1);
}

/* A higher-priority peer preempting (standby, active raising VIPs, holding): no split brain. */
static void
test_preempt_is_not_dual_active(void)
{
	start(conf_single);
	advance(1050);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	peer_init("beta", 1);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 200, PROTO_F_PREEMPT);
	peer_send();
	advance(100);
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 200, PROTO_F_PREEMPT);
	peer_send();
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	advance(100);
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 200, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	peer_send();
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK_STR(F("default")->reason, "preempt");
	CHECK_EQ(hst[0].releases, 1);
	CHECK_EQ(d.cnt.dual_active, 0);
	CHECK_EQ(logged("both nodes"), 0);
	for (int i = 0; i < nsaid; i++)
		CHECK(!(said[i].m.groups[0].flags & PROTO_F_YIELDED));
}

/*
 * Two-way evidence: an echo of a heartbeat we sent before we heard the
 * peer (it heard us first) is no proof that it hears us now; preempt
 * waits for an echo of one sent since.
 */
static void
test_preempt_needs_fresh_echo(void)
{
	start(conf_single);
	advance(100);				/* heartbeats at 0 and 100 */
	advance(50);
	peer_init("beta", 1);
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 50, PROTO_F_HOLDS | PROTO_F_PREEMPT);
	peer_send();				/* echoes the one sent at 100 */
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK(F("default")->preempt_unheard);
	CHECK_EQ(hst[0].ups, 0);
	advance(100);
	peer_send();				/* echoes the one sent at 150 */
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_STR(F("default")->reason, "preempt");
	CHECK_EQ(hst[0].up_at, T0 + 250);
}

/* ------------------------------------------------------------------ */
/* (2b) A sparse standby: standby_interval_ms beyond dead_ms           */

/*
 * Standby: every 2 s, telling its period (version 2 once a new peer says
 * it speaks it); each heartbeat rides on one of the active node's. The
 * active node's death is still seen in dead_ms.
 */
static void
test_sparse_standby_cadence(void)
{
	int first;

	start(conf_sparse);
	advance(50);
	peer_init("beta", 1);			/* a new build, one group: v1 + flag */
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 200,
	    PROTO_F_HOLDS | PROTO_F_PREEMPT | PROTO_F_V2);
	peer_start(100);
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK_EQ(newest()->at_ms, T0 + 50);	/* at once on the change */
	CHECK_EQ(newest()->m.version, 2);
	CHECK_EQ(newest()->m.period_ms, 2000);
	first = nsaid;
	advance(10000);				/* to T0 + 10050 */
	CHECK_EQ(nsaid - first, 5);		/* 2050, 4050, ..., 10050 */
	for (int i = first; i < nsaid; i++) {
		CHECK_EQ(said[i].at_ms - said[i - 1].at_ms, 2000);
		CHECK_EQ(said[i].m.version, 2);
		CHECK_EQ(said[i].m.period_ms, 2000);
		CHECK_EQ(said[i].m.groups[0].state, FSM_STANDBY);
	}
	/* the peer's last message was at 10050: dead at 10350, not later */
	peer_stop();
	advance(299);
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	advance(1);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_STR(F("default")->reason, "peer-dead");
	CHECK_EQ(hst[0].up_at, T0 + 10350);
	CHECK_EQ(newest()->m.period_ms, 100);	/* active: every interval_ms */
}

/* Active: a standby that said "every 2 s" stays alive 3 periods + interval. */
static void
test_sparse_standby_held_alive(void)
{
	uint64_t last;
	unsigned ann;
	bool alive = true;

	start(conf_sparse);
	advance(1000);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	peer_init("beta", 2);
	peer_says(PROTO_V1_GROUP, FSM_STANDBY, 50, PROTO_F_PREEMPT);
	peer.m.period_ms = 2000;
	peer_start(2000);
	ann = hst[0].announces;
	for (int i = 0; i < 100; i++) {		/* 10 s: status and links say alive */
		advance(100);
		alive &= fsm_peer_alive(F("default"), now_ms()) &&
		    link_up(0, now_ms());
	}
	CHECK(alive);
	CHECK_EQ(hst[0].announces, ann);	/* never "back from silence" */
	CHECK(fsm_can_switchover(F("default"), now_ms(), NULL));
	/* silent for longer than it said: dead */
	peer_stop();
	last = d.links[0].heard_at;
	advance(last + 6099 - now_ms());
	CHECK(fsm_peer_alive(F("default"), now_ms()));
	advance(1);
	CHECK(!fsm_peer_alive(F("default"), now_ms()));
	CHECK(!link_up(0, now_ms()));
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
}

/*
 * A sparse standby that may preempt sends at once and every interval_ms
 * until the active node echoes it: it takes over one of the active node's
 * heartbeats later, as a standby that sends often does.
 */
static void
test_sparse_standby_preempts(void)
{
	uint64_t t;
	int n;

	start(conf_sparse);
	advance(50);
	peer_init("beta", 2);
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 200, PROTO_F_HOLDS | PROTO_F_PREEMPT);
	peer_start(100);
	advance(3000);				/* to T0 + 3050: sent last at 2050 */
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK_EQ(newest()->at_ms, T0 + 2050);

	/* beta's checks fail: priority 50, alpha wins; its echo is 1 s old */
	peer_says(PROTO_V1_GROUP, FSM_ACTIVE, 50, PROTO_F_HOLDS | PROTO_F_PREEMPT);
	peer.steps_down = true;
	n = nsaid;
	advance(100);				/* beta's message at 3150 */
	t = T0 + 3150;
	CHECK_EQ(F("default")->state, FSM_STANDBY);
	CHECK(F("default")->preempt_unheard);
	CHECK(nsaid > n);			/* asked for an echo at once */
	CHECK_EQ(said[n].at_ms, t);
	CHECK_EQ(said[n].m.period_ms, 100);	/* and sends often meanwhile */
	advance(100);				/* beta's next message echoes it */
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_STR(F("default")->reason, "preempt");
	CHECK_EQ(hst[0].up_at, t + 100);
	advance(100);				/* beta saw us hold: it let go */
	CHECK_EQ(peer.m.groups[0].state, FSM_STANDBY);
	CHECK_EQ(d.cnt.dual_active, 0);
	peer_stop();
}

/* ------------------------------------------------------------------ */
/* (3) Fault bookkeeping with groups                                   */

static void
test_fault_check_of_one_group(void)
{
	const char *why;

	start(conf_groups);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);

	/* "pg" is listed by db only */
	check_verdict("pg", false);
	CHECK_EQ(F("db")->state, FSM_FAULT);
	CHECK_STR(F("db")->reason, "check-failed:pg");
	CHECK_EQ(hst[G("db")].releases, 1);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(hst[G("web")].releases, 0);
	CHECK_EQ(group_faults("db", &why), 1);
	CHECK_STR(why, "check-failed:pg");
	CHECK_EQ(group_faults("web", &why), 0);

	/* "web" by web only */
	check_verdict("web", false);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_STR(F("web")->reason, "check-failed:web");
	CHECK_EQ(group_faults("db", &why), 1);

	/* pg healthy again: db elects again (alone: after init_dead_ms) */
	advance(50);
	check_verdict("pg", true);
	CHECK_EQ(F("db")->state, FSM_INIT);
	CHECK_STR(F("db")->reason, "fault-cleared");
	CHECK_EQ(group_faults("db", &why), 0);
	advance(1000);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	check_verdict("web", true);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);

	/* a check with a penalty lowers only its groups' priority */
	check_verdict("slow", false);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("web")->eff_priority, 80);
	CHECK_EQ(F("db")->eff_priority, 150);
	CHECK_EQ(newest()->at_ms, now_ms());	/* said at once */
	CHECK_EQ(said_group(newest(), "web")->priority, 80);
	CHECK(said_group(newest(), "web")->flags & PROTO_F_DEGRADED);
	CHECK(!(said_group(newest(), "db")->flags & PROTO_F_DEGRADED));
	check_verdict("slow", true);
	CHECK_EQ(F("web")->eff_priority, 150);
	CHECK(!(said_group(newest(), "web")->flags & PROTO_F_DEGRADED));
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 0);
}

static void
test_fault_interfaces(void)
{
	const char *why;

	/* eth2 (tracked by db) is down at start */
	carrier("eth2", false);
	start(conf_groups);
	CHECK_EQ(F("db")->state, FSM_FAULT);
	CHECK_STR(F("db")->reason, "interface-down:eth2");
	CHECK_EQ(F("web")->state, FSM_INIT);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_FAULT);
	carrier("eth2", true);
	CHECK_EQ(F("db")->state, FSM_INIT);
	advance(1000);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);

	/* web's VIP is on eth0 */
	carrier("eth0", false);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_EQ(group_faults("web", &why), 1);
	CHECK_STR(why, "interface-down:eth0");
	CHECK_EQ(group_faults("db", &why), 0);
	carrier("eth0", true);
	CHECK_EQ(F("web")->state, FSM_INIT);

	/* db's VIP is on eth1 */
	carrier("eth1", false);
	CHECK_EQ(F("db")->state, FSM_FAULT);
	CHECK_EQ(F("web")->state, FSM_INIT);
	carrier("eth1", true);
	CHECK_EQ(F("db")->state, FSM_INIT);

	/* bond0: the top-level list, which web uses and db replaces with its own */
	advance(1000);
	carrier("bond0", false);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_STR(F("web")->reason, "interface-down:bond0");
	CHECK_EQ(F("db")->state, FSM_ACTIVE);

	/* an interface nobody tracks */
	carrier("eth9", false);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 1);
	carrier("bond0", true);
	CHECK_EQ(F("web")->state, FSM_INIT);
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 0);
}

static void
test_fault_interface_debounce(void)
{
	static char conf[4096];

	snprintf(conf, sizeof(conf), "%s%s", conf_groups, "track_debounce_ms = 200;\n");
	start(conf);
	advance(1000);
	carrier("eth0", false);
	advance(199);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	advance(1);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	carrier("eth0", true);			/* back: cleared at once */
	CHECK_EQ(F("web")->state, FSM_INIT);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	carrier("eth0", false);			/* a flap shorter than the debounce */
	advance(100);
	carrier("eth0", true);
	advance(500);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(logged("fault: interface-down:eth0"), 1);
}

/*
 * A failed promote hook faults its group only, for 30 s; then the group
 * elects again but does not preempt into the same hook.
 */
static void
test_fault_promote_hook(void)
{
	const char *why;
	int j;

	start(conf_groups);
	advance(50);
	peer_init("beta", 2);
	peer_says("web", FSM_STANDBY, 100, PROTO_F_PREEMPT);
	peer_says("db", FSM_STANDBY, 100, PROTO_F_PREEMPT);
	peer_start(100);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);	/* elected at once */
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	advance(500);

	j = job_find("promote", "db");
	CHECK(j >= 0);
	job_finish(j, true, NULL);
	j = job_find("promote", "web");
	CHECK(j >= 0);
	CHECK_STR(jobs[j].peer, "beta");
	CHECK_STR(jobs[j].vips, "192.0.2.10/24");
	job_finish(j, false, "20-web");
	CHECK_EQ(logged("promote hook 20-web of group web failed"), 1);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_STR(F("web")->reason, "hook-failed:20-web");
	CHECK_EQ(hst[G("web")].releases, 1);
	CHECK_EQ(jobs_of("demote", "web"), 1);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_EQ(hst[G("db")].releases, 0);
	CHECK_EQ(group_faults("db", &why), 0);
	CHECK_EQ(said_group(newest(), "web")->state, FSM_FAULT);

	/* beta serves web meanwhile */
	peer_says("web", FSM_ACTIVE, 100, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	advance(29990);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(group_faults("web", &why), 1);
	advance(10);				/* 30 s after the failure */
	CHECK_EQ(group_faults("web", &why), 0);
	CHECK(F("web")->state == FSM_INIT || F("web")->state == FSM_STANDBY);
	advance(100);
	CHECK_EQ(F("web")->state, FSM_STANDBY);

	/* alpha would win web (150 > 100) but does not preempt into the hook */
	advance(5000);
	CHECK_EQ(F("web")->state, FSM_STANDBY);
	CHECK_EQ(hst[G("web")].ups, 1);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 0);
	peer_stop();
}

/* Two hook failures in a row (one group, and again with the same hook): each expires. */
static void
test_fault_two_hook_failures(void)
{
	const char *why;
	unsigned n;

	start(conf_groups);
	advance(1000);
	job_finish(job_find("promote", "web"), false, "10-a");
	CHECK_EQ(F("web")->state, FSM_FAULT);
	n = F("web")->nhistory;
	advance(10000);
	faults_hook_failed(G("web"), "20-b");	/* a second one while the first holds */
	CHECK_EQ(group_faults("web", &why), 1);	/* it takes the first one's place */
	CHECK_STR(why, "hook-failed:20-b");
	CHECK_EQ(F("web")->nhistory, n);	/* no clear in between */
	advance(20000);				/* the first one's 30 s */
	CHECK_EQ(F("web")->state, FSM_FAULT);
	advance(9999);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	advance(1);				/* the second one's 30 s */
	CHECK_EQ(group_faults("web", &why), 0);
	CHECK_EQ(F("web")->state, FSM_INIT);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);	/* alone: no peer to leave it to */

	/* the same hook failing twice in a row: one fault, one expiry */
	job_finish(job_find("promote", "db"), false, "10-x");
	advance(5000);
	faults_hook_failed(G("db"), "10-x");
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 1);
	advance(29999);
	CHECK_EQ(F("db")->state, FSM_FAULT);
	advance(1);
	CHECK_EQ(F("db")->state, FSM_INIT);
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 0);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
}

/* A reload keeps the verdicts that still hold; the groups a fault keeps out follow the new config. */
static void
test_fault_reload(void)
{
	static const char conf_moved[] = CONF_HEAD CONF_CHECKS
		"track_interfaces = [ \"bond0\" ];\n"
		"groups = (\n"
		CONF_WEB("\"web\", \"slow\", \"pg\"", "")
		CONF_DB("", "track_interfaces = [ \"eth2\" ];")
		");\n";
	static const char conf_fewer[] = CONF_HEAD
		"checks = ( { name = \"web\"; command = \"true\"; } );\n"
		"groups = (\n"
		CONF_WEB("\"web\"", "")
		CONF_DB("", "track_interfaces = [ \"eth2\" ];")
		");\n";
	const char *why;
	unsigned nw, nd, inits;

	start(conf_groups);
	advance(1000);
	check_verdict("pg", false);		/* db */
	carrier("eth2", false);			/* db */
	carrier("bond0", false);		/* web */
	CHECK_EQ(F("db")->state, FSM_FAULT);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(faults_get((const char *[8]){ 0 }, 8), 3);
	nw = F("web")->nhistory;
	nd = F("db")->nhistory;
	inits = checks_inits;

	/* the same file: every verdict stays, nothing moves */
	reload(conf_groups);
	CHECK_EQ(checks_inits, inits + 1);
	CHECK_EQ(faults_get((const char *[8]){ 0 }, 8), 3);
	CHECK_EQ(F("web")->nhistory, nw);
	CHECK_EQ(F("db")->nhistory, nd);
	CHECK_EQ(group_faults("db", &why), 2);
	CHECK_EQ(logged("fault cleared"), 0);
	CHECK_EQ(logged("interface bond0 lost carrier"), 1);	/* nothing new */
	CHECK_EQ(logged("interface eth2 lost carrier"), 1);

	/* pg moves from db to web: still failed, now keeping web out */
	reload(conf_moved);
	CHECK_EQ(faults_get((const char *[8]){ 0 }, 8), 3);
	CHECK_EQ(group_faults("web", &why), 2);
	CHECK_EQ(group_faults("db", &why), 1);
	CHECK_STR(why, "interface-down:eth2");
	CHECK_EQ(F("web")->nhistory, nw);
	CHECK_EQ(F("db")->nhistory, nd);
	carrier("eth2", true);
	CHECK_EQ(F("db")->state, FSM_INIT);
	CHECK_EQ(F("web")->state, FSM_FAULT);

	/* pg and bond0 are gone from the config: their faults go with them */
	reload(conf_fewer);
	CHECK_EQ(faults_get((const char *[8]){ 0 }, 8), 0);
	CHECK_EQ(F("web")->state, FSM_INIT);
	CHECK_EQ(logged("fault cleared: check-failed:pg"), 1);
	CHECK_EQ(logged("fault cleared: interface-down:bond0"), 1);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);
}

/* With an arbiter: claim only after a reply; unreachable faults every group; reload keeps it. */
static void
test_fault_arbiter(void)
{
	static char conf[4096], conf_arb[4096];

	snprintf(conf_arb, sizeof(conf_arb), "%s%s", conf_groups,
	    "arbiter: { ping = [ \"192.0.2.254\" ]; };\n");
	start(conf_arb);
	advance(1000);
	CHECK_EQ(F("web")->state, FSM_INIT);
	CHECK_EQ(arb_probes, 2);		/* once per group that would claim */
	advance(2000);
	CHECK_EQ(F("web")->state, FSM_INIT);
	CHECK_EQ(arb_probes, 2);
	arbiter_reply();
	CHECK_EQ(F("web")->state, FSM_ACTIVE);
	CHECK_EQ(F("db")->state, FSM_ACTIVE);

	arbiter_verdict(false);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(F("db")->state, FSM_FAULT);
	CHECK_STR(F("db")->reason, "arbiter-unreachable");
	reload(conf_arb);
	CHECK_EQ(F("web")->state, FSM_FAULT);
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 1);
	snprintf(conf, sizeof(conf), "%s", conf_groups);
	reload(conf);				/* no arbiter any more */
	CHECK_EQ(faults_get((const char *[4]){ 0 }, 4), 0);
	CHECK_EQ(F("web")->state, FSM_INIT);
	CHECK_EQ(F("db")->state, FSM_INIT);
}

/* ------------------------------------------------------------------ */

/* Each scenario in a child of its own: role.c and faults.c start afresh. */
static void
run(const char *name, void (*fn)(void))
{
	int fds[2], counts[2] = { 0, 0 }, status;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		perror("test_role");
		exit(1);
	}
	if (pid == 0) {
		close(fds[0]);
		unit_passed = unit_failed = 0;
		fn();
		counts[0] = unit_passed;
		counts[1] = unit_failed;
		if (write(fds[1], counts, sizeof(counts)) != sizeof(counts))
			_exit(1);
		close(fds[1]);
		exit(0);	/* LeakSanitizer runs at exit */
	}
	close(fds[1]);
	n = read(fds[0], counts, sizeof(counts));
	close(fds[0]);
	if (waitpid(pid, &status, 0) == -1 || n != sizeof(counts) ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: the scenario did not finish (status %#x)\n",
		    name, status);
		unit_failed++;
	}
	if (counts[1])
		fprintf(stderr, "%s: %d check(s) failed\n", name, counts[1]);
	unit_passed += counts[0];
	unit_failed += counts[1];
}

/* TEST_ROLE_ONLY=name in the environment runs that scenario alone */
#define RUN(fn)	do { \
	if (getenv("TEST_ROLE_ONLY") == NULL || \
	    strcmp(getenv("TEST_ROLE_ONLY"), #fn) == 0) \
		run(#fn, fn); \
} while (0)

/* ------------------------------------------------------------------ */
/* (5) Quorum: keep-while-peers                                        */

/* dead_ms 600: the slack is 500 ms */
static const char conf_quorum[] = CONF_HEAD
	"vips = ( { address = \"192.0.2.10/24\"; interface = \"eth0\"; } );\n"
	"quorum: { etcd = [ \"http://192.0.2.201:2379\" ]; ttl_s = 4;\n"
	"  on_quorum_loss = \"keep-while-peers\"; };\n";

/* Active with the key, beta standby; then etcd is lost: alpha keeps. */
static void
quorum_keeping(void)
{
	q_on = q_ok = q_fresh = q_held = true;
	start(conf_quorum);
	peer_init("beta", 2);
	peer_says("default", FSM_STANDBY, 50, 0);
	peer_start(100);
	advance(1500);
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_EQ(hst[0].ups, 1);
	q_ok = q_fresh = q_held = false;
	role_quorum_lease(false, NULL);
	CHECK(role_keyless());
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
}

/*
 * A peer that has seen us keyless waits dead_ms and 2 s before it takes
 * over: a silence beyond dead_ms (a busy host) does not drop the VIPs;
 * one beyond dead_ms + 500 ms does (fault quorum-lost).
 */
static void
test_quorum_keep_rides_out_a_late_peer(void)
{
	struct holder *h = &d.groups[0].vips;
	const char *why;
	uint64_t last;

	quorum_keeping();
	advance(300);			/* beta echoes a keyless heartbeat */
	CHECK(said_group(newest(), "default")->xflags & PROTO_X_KEYLESS);
	peer_stop();
	last = now_ms();
	advance(900);			/* 300 ms past dead_ms */
	CHECK(role_keyless());
	CHECK_EQ(F("default")->state, FSM_ACTIVE);
	CHECK_EQ(hst[0].releases, 0);
	CHECK_EQ(group_faults("default", &why), 0);
	CHECK_EQ(h->ev.lifetime(h->ev.arg), 1);	/* renewed 1 s at a time */
	/* beyond the bound before a tick noticed: no renewal meanwhile */
	clock_us += 300 * 1000;
	CHECK(role_keyless());
	CHECK_EQ(h->ev.lifetime(h->ev.arg), HOLDER_KEEP);
	clock_us -= 300 * 1000;
	advance(300);			/* 1200 ms: beyond dead_ms + 500 */
	CHECK(!role_keyless());
	CHECK_EQ(group_faults("default", &why), 1);
	CHECK_STR(why, "quorum-lost");
	CHECK_EQ(F("default")->state, FSM_FAULT);
	CHECK_EQ(hst[0].releases, 1);
	CHECK(hst[0].release_at - last > 1000 && hst[0].release_at - last <= 1100);
}

/* A peer that never heard us keyless may not wait: dead_ms is the bound. */
static void
test_quorum_keep_no_slack_before_the_peer_knows(void)
{
	const char *why;
	uint64_t last;

	quorum_keeping();
	peer_stop();			/* its last echo is of a keyed heartbeat */
	last = now_ms();
	advance(700);
	CHECK(!role_keyless());
	CHECK_EQ(group_faults("default", &why), 1);
	CHECK_STR(why, "quorum-lost");
	CHECK_EQ(hst[0].releases, 1);
	CHECK(hst[0].release_at - last <= 600);
}

int
main(void)
{
	log_print = getenv("TEST_ROLE_LOG") != NULL;
	RUN(test_says_v1_implicit_group);
	RUN(test_says_v2_groups_and_cadence);
	RUN(test_says_holds_once_usable);
	RUN(test_stall_late_tick_yields);
	RUN(test_stall_standby_claims_nothing);
	RUN(test_stall_boot_clock);
	RUN(test_stall_stood_still);
	RUN(test_dual_active_make_before_break);
	RUN(test_dual_active_loser_after_dead_ms);
	RUN(test_dual_active_winner_hears_yielded);
	RUN(test_preempt_is_not_dual_active);
	RUN(test_preempt_needs_fresh_echo);
	RUN(test_sparse_standby_cadence);
	RUN(test_sparse_standby_held_alive);
	RUN(test_sparse_standby_preempts);
	RUN(test_fault_check_of_one_group);
	RUN(test_fault_interfaces);
	RUN(test_fault_interface_debounce);
	RUN(test_fault_promote_hook);
	RUN(test_fault_two_hook_failures);
	RUN(test_fault_reload);
	RUN(test_fault_arbiter);
	RUN(test_quorum_keep_rides_out_a_late_peer);
	RUN(test_quorum_keep_no_slack_before_the_peer_knows);
	return unit_summary("test_role");
}
