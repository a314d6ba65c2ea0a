/*
 * The groups' keys in etcd, for role.c (see quorum.h). etcd.c does the
 * talking; this keeps what role.c wants of each key, retries it, and turns
 * the lease's safe bound into "reliable" with a margin: before etcd could
 * expire the lease (and so hand our keys to another node), role.c hears
 * lease(false) and lets the VIPs go (or keeps them while it hears every
 * peer, as on_quorum_loss says).
 */
#include <stdio.h>
#include <string.h>

#include "curl_dl.h"
#include "etcd.h"
#include "holder.h"
#include "hotpath.h"
#include "log.h"
#include "loop.h"
#include "quorum.h"

#define RETRY_MS	100	/* a wanted key that is not ours yet */
/*
 * How late the kernel removes an expired address: renewing one runs its
 * lifetime check at once, which then schedules itself for the expiry,
 * rounded up to a whole second when that is within 250 ms.
 */
#define KERNEL_LATE_MS	300
#define MARGIN_MIN_MS	200

static HOTDATA bool enabled;	/* read at every heartbeat: not in q's lines */
static struct {
	struct quorum_events ev;
	char		 node[CFG_NAME_MAX + 1];
	int		 ngroups;
	char		 names[CFG_MAX_GROUPS][CFG_NAME_MAX + 1];
	unsigned	 margin_ms;
	bool		 ok;		/* lease reliable (told role.c) */
	struct loop_timer margin_timer, retry_timer;
	struct {
		bool	 wanted;
		bool	 held;
		bool	 busy;		/* an acquire or takeover in flight */
		bool	 releasing;	/* a release in flight: acquire after it */
		uint64_t tried;		/* ms; retries at most every RETRY_MS */
		char	 from[CFG_NAME_MAX + 1];
		char	 holder[CFG_NAME_MAX + 1];
	} g[CFG_MAX_GROUPS];
} q;

static void try_all(void);

HOTPATH bool
quorum_enabled(void)
{
	return enabled;
}

bool
quorum_lease_ok(uint64_t now)
{
	return enabled && etcd_lease_id() != 0 &&
	    now + q.margin_ms < etcd_lease_valid_until_ms();
}

bool
quorum_lease_fresh(uint64_t now)
{
	return enabled && etcd_lease_id() != 0 &&
	    now + 1000 + KERNEL_LATE_MS <= etcd_lease_valid_until_ms();
}

HOTPATH bool
quorum_held(int g)
{
	return enabled && q.g[g].held;
}

void
quorum_refresh(int g)
{
	if (enabled)
		etcd_holder(q.names[g]);
}

const char *
quorum_holder(int g)
{
	return enabled ? q.g[g].holder : "";
}

static int
group_index(const char *name)
{
	for (int i = 0; i < q.ngroups; i++)
		if (strcmp(q.names[i], name) == 0)
			return i;
	return -1;
}

static void
set_held(int g, bool held)
{
	if (q.g[g].held == held)
		return;
	q.g[g].held = held;
	log_info("group %s: quorum key %s", q.names[g], held ? "held" :
	    "no longer held");
	if (q.ev.key)
		q.ev.key(g, held, q.ev.arg);
}

static void
set_ok(bool ok)
{
	if (q.ok == ok)
		return;
	q.ok = ok;
	if (!ok)
		log_warnx("quorum: the etcd lease was not renewed in time: it "
		    "may expire within %u ms", q.margin_ms);
	else
		log_info("quorum: etcd lease %lld renewed (ttl %lld s)",
		    (long long)etcd_lease_id(), (long long)etcd_lease_ttl_s());
	if (q.ev.lease)
		q.ev.lease(ok, q.ev.arg);
}

/* The margin before the safe bound passed without a renewal: not reliable. */
static void
margin_tick(void *arg)
{
	set_ok(quorum_lease_ok(now_ms()));
	if (q.ok)
		loop_timer_set(&q.margin_timer, etcd_lease_valid_until_ms() -
		    q.margin_ms, margin_tick, NULL);
}

static void
on_renewed(uint64_t valid_until, void *arg)
{
	set_ok(quorum_lease_ok(now_ms()));
	if (q.ok)
		loop_timer_set(&q.margin_timer, valid_until - q.margin_ms,
		    margin_tick, NULL);
	if (q.ev.renewed)
		q.ev.renewed(q.ev.arg);
	try_all();
}

static void
on_lease(bool valid, void *arg)
{
	if (!valid) {
		/* every key went with it */
		for (int g = 0; g < q.ngroups; g++) {
			q.g[g].busy = false;
			set_held(g, false);
		}
		loop_timer_cancel(&q.margin_timer);
		set_ok(false);
		return;
	}
	on_renewed(etcd_lease_valid_until_ms(), arg);
}

static void
try_one(int g)
{
	int rc;

	if (!q.g[g].wanted || q.g[g].held || q.g[g].busy || q.g[g].releasing ||
	    now_ms() < q.g[g].tried + RETRY_MS || !etcd_lease_valid(now_ms()))
		return;
	rc = q.g[g].from[0] ? etcd_takeover(q.names[g], q.g[g].from) :
	    etcd_acquire(q.names[g]);
	q.g[g].busy = rc == 0;
	q.g[g].tried = now_ms();
}

static void
retry_tick(void *arg)
{
	try_all();
}

static void
try_all(void)
{
	bool waiting = false;

	for (int g = 0; g < q.ngroups; g++) {
		try_one(g);
		waiting |= q.g[g].wanted && !q.g[g].held;
	}
	if (waiting)
		loop_timer_set(&q.retry_timer, now_ms() + RETRY_MS, retry_tick,
		    NULL);
}

static void
on_key(const struct etcd_key_event *e, void *arg)
{
	int g = group_index(e->group);

	if (g == -1)
		return;
	if (e->op == ETCD_OP_ACQUIRE || e->op == ETCD_OP_TAKEOVER)
		q.g[g].busy = false;
	if (e->op == ETCD_OP_RELEASE)
		q.g[g].releasing = false;
	if (e->result != ETCD_UNKNOWN)
		snprintf(q.g[g].holder, sizeof(q.g[g].holder), "%s",
		    e->result == ETCD_HELD ? q.node : e->holder);
	switch (e->result) {
	case ETCD_HELD:
		if (!q.g[g].wanted) {
			/* given up meanwhile: do not keep it alive */
			if (e->op != ETCD_OP_RELEASE)
				etcd_release(q.names[g]);
			return;
		}
		set_held(g, true);
		return;
	case ETCD_HELD_OTHER:
		set_held(g, false);
		/* under a lease of ours from before a restart or a lost lease */
		if (q.g[g].wanted && strcmp(e->holder, q.node) == 0 &&
		    e->op != ETCD_OP_TAKEOVER) {
			snprintf(q.g[g].from, sizeof(q.g[g].from), "%s", q.node);
			q.g[g].tried = 0;
			try_one(g);
		}
		break;
	case ETCD_FREE:
		set_held(g, false);
		/* the node handing over let it go already: just take it */
		if (q.g[g].wanted && e->op == ETCD_OP_TAKEOVER) {
			q.g[g].from[0] = '\0';
			q.g[g].tried = 0;
			try_one(g);
		}
		break;
	case ETCD_UNKNOWN:
		break;
	}
	if (q.g[g].wanted && !q.g[g].held)
		loop_timer_set(&q.retry_timer, now_ms() + RETRY_MS, retry_tick,
		    NULL);
}

void
quorum_want(int g, const char *from)
{
	if (!enabled)
		return;
	q.g[g].wanted = true;
	/* a new node to take it from is news: no waiting for the retry */
	if (strcmp(q.g[g].from, from ? from : "") != 0)
		q.g[g].tried = 0;
	snprintf(q.g[g].from, sizeof(q.g[g].from), "%s", from ? from : "");
	try_one(g);
	if (!q.g[g].held)
		loop_timer_set(&q.retry_timer, now_ms() + RETRY_MS, retry_tick,
		    NULL);
}

void
quorum_drop(int g)
{
	if (!enabled || !q.g[g].wanted)
		return;
	q.g[g].wanted = false;
	q.g[g].from[0] = '\0';
	/* ours, or perhaps ours (an acquire in flight): delete if under our lease */
	if ((q.g[g].held || q.g[g].busy) && etcd_lease_id() != 0)
		q.g[g].releasing = etcd_release(q.names[g]) == 0;
	q.g[g].held = false;
}

unsigned
quorum_vip_lifetime_s(unsigned vip_lease_s, uint64_t now)
{
	uint64_t until;
	unsigned cap;

	if (!enabled)
		return vip_lease_s;
	if (!quorum_lease_fresh(now))
		return HOLDER_KEEP;
	until = etcd_lease_valid_until_ms();
	cap = (unsigned)((until - now - KERNEL_LATE_MS) / 1000);
	return vip_lease_s && vip_lease_s < cap ? vip_lease_s : cap;
}

static void
stop_wake(void *arg)
{
}

/* The revoke is worth a short wait at exit (else the lease just expires). */
void
quorum_stop(void)
{
	struct loop_timer t = { 0 };
	uint64_t deadline = now_ms() + etcd_request_timeout_ms();

	if (!enabled || etcd_lease_id() == 0 || etcd_revoke() == -1)
		return;
	loop_timer_set(&t, deadline, stop_wake, NULL);
	while (etcd_lease_id() != 0 && now_ms() < deadline)
		if (loop_run_once() == -1)
			break;
	loop_timer_cancel(&t);
}

int
quorum_load(const struct config *c, char *err, size_t errlen)
{
	char why[512];

	if (c->quorum.enabled && curl_dl_open(why, sizeof(why)) == -1)
		return config_error(c, c->quorum.line, err, errlen, "%s", why);
	return 0;
}

int
quorum_init(const struct config *c, const struct quorum_events *ev,
    char *err, size_t errlen)
{
	struct etcd_params p;

	memset(&q, 0, sizeof(q));
	enabled = false;
	if (!c->quorum.enabled)
		return 0;
	enabled = true;
	q.ev = *ev;
	snprintf(q.node, sizeof(q.node), "%s", c->node_name);
	q.ngroups = c->ngroups;
	for (int g = 0; g < c->ngroups; g++)
		snprintf(q.names[g], sizeof(q.names[g]), "%s", c->groups[g].name);
	q.margin_ms = c->quorum.ttl_s * 1000 / 4;
	if (q.margin_ms < MARGIN_MIN_MS)
		q.margin_ms = MARGIN_MIN_MS;
	memset(&p, 0, sizeof(p));
	p.quorum = &c->quorum;
	p.cluster_id = c->cluster_id;
	p.node = c->node_name;
	p.state_dir = c->state_dir;
	/* a restarted holder claims its groups again within init_dead_ms */
	p.adopt_grace_ms = c->init_dead_ms + c->quorum.ttl_s * 1000;
	p.holder_poll_ms = c->quorum.ttl_s * 1000;
	p.cb.lease = on_lease;
	p.cb.key = on_key;
	p.cb.renewed = on_renewed;
	if (etcd_init(&p, err, errlen) == -1)
		return -1;
	/* who holds each key, for status (then polled every TTL) */
	for (int g = 0; g < q.ngroups; g++)
		etcd_holder(q.names[g]);
	return 0;
}

void
quorum_finalise(void)
{
	if (!enabled)
		return;
	loop_timer_cancel(&q.margin_timer);
	loop_timer_cancel(&q.retry_timer);
	etcd_finalise();
	enabled = false;
}
