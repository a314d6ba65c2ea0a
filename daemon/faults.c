/*
 * Local faults, each keyed by its reason: failed health checks, lost
 * carrier on a tracked interface, an unreachable arbiter, a failed promote
 * hook. The first one sends the FSM to fault; the last one gone lets it
 * elect again. Failing checks with a penalty lower the priority instead.
 */
#include <stdio.h>
#include <string.h>

#include "arbiter.h"
#include "checks.h"
#include "failoverd.h"
#include "log.h"
#include "loop.h"
#include "vip.h"

#define FAULT_MAX	(CFG_MAX_CHECKS + CFG_MAX_TRACK + CFG_MAX_VIPS + 4)
#define HOOK_FAULT_HOLD_MS 30000	/* a failed promote hook keeps us out this long */

static char faults[FAULT_MAX][FSM_REASON_MAX];
static int nfaults;
static struct loop_timer hook_fault_timer;
static char hook_fault[FSM_REASON_MAX];	/* the one hook fault; "" if none */

static bool
fault_is_set(const char *reason)
{
	for (int i = 0; i < nfaults; i++)
		if (strcmp(faults[i], reason) == 0)
			return true;
	return false;
}

void
fault_set(const char *reason, bool on)
{
	int i;

	for (i = 0; i < nfaults; i++)
		if (strcmp(faults[i], reason) == 0)
			break;
	if (on && i == nfaults && nfaults < FAULT_MAX) {
		snprintf(faults[nfaults++], FSM_REASON_MAX, "%s", reason);
		log_warnx("fault: %s", reason);
		role_feed(EV_FAULT, NULL, reason);
	} else if (!on && i < nfaults) {
		log_info("fault cleared: %s", reason);
		memmove(faults[i], faults[i + 1], (size_t)(nfaults - i - 1) * FSM_REASON_MAX);
		if (--nfaults == 0)
			role_feed(EV_FAULT_CLEAR, NULL, NULL);
	}
}

static void
hook_fault_expired(void *arg)
{
	/* back to standby, but no preempting into the same failing hook */
	d.fsm.no_preempt = true;
	fault_set(hook_fault, false);
	hook_fault[0] = '\0';
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
	snprintf(buf, len, "interface-down:%.*s", IF_NAMESIZE, t->ifname);
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

/*
 * (Re)build the tracked set from the config and read each carrier now. An
 * interface already in fault stays so (no clear and set again on reload);
 * faults_reconcile() drops those of interfaces no longer tracked.
 */
static void
track_init(void)
{
	char reason[FSM_REASON_MAX];

	for (int i = 0; i < ntracked; i++)
		loop_timer_cancel(&tracked[i].timer);
	ntracked = 0;
	for (int i = 0; i < d.cfg.nvips; i++)
		track_add(d.cfg.vips[i].ifname);
	for (int i = 0; i < d.cfg.ntrack; i++)
		track_add(d.cfg.track_interfaces[i]);
	for (int i = 0; i < ntracked; i++) {
		track_reason(&tracked[i], reason, sizeof(reason));
		tracked[i].down = fault_is_set(reason);
		track_update(&tracked[i], vip_link_carrier(tracked[i].ifname) == 1, 0);
	}
}

void
faults_link_changed(void *arg, const char *ifname, int ifindex, bool carrier)
{
	for (int i = 0; i < ntracked; i++)
		if (strcmp(tracked[i].ifname, ifname) == 0)
			track_update(&tracked[i], carrier, d.cfg.track_debounce_ms);
}

/* The configured priority less the penalties of the failed checks. */
static int
effective_priority(void)
{
	struct check_info ci;
	int eff = d.cfg.priority;

	for (int i = 0; i < d.cfg.nchecks; i++)
		if (d.cfg.checks[i].on_fail_penalty &&
		    checks_info(i, &ci) == 0 && !ci.healthy)
			eff -= d.cfg.checks[i].on_fail_penalty;
	return eff < 0 ? 0 : eff;
}

/* A health check's verdict: fault, or a lower effective priority. */
static void
on_check(void *arg, int idx, bool healthy)
{
	const struct cfg_check *c = &d.cfg.checks[idx];
	char reason[FSM_REASON_MAX];
	int eff;

	if (c->on_fail_penalty == 0) {
		snprintf(reason, sizeof(reason), "check-failed:%s", c->name);
		fault_set(reason, !healthy);
		return;
	}
	eff = effective_priority();
	if (eff == d.fsm.eff_priority)
		return;
	log_warnx("check %s %s: effective priority %d -> %d", c->name,
	    healthy ? "healthy again" : "failed", d.fsm.eff_priority, eff);
	d.fsm.eff_priority = eff;
	role_feed(EV_PRIORITY, NULL, NULL);
}

static void
on_arbiter(void *arg, bool reachable)
{
	if (!reachable)
		log_warnx("arbiter: no target answers; this node may be isolated");
	fault_set("arbiter-unreachable", !reachable);
}

/*
 * A promote hook failed: let the peer serve, for a while. One hook fault at
 * a time, so that each expires: a newer failure takes the older one's place
 * (set before the older is cleared: no clear in between) and its timer.
 */
void
faults_hook_failed(const char *name)
{
	char old[sizeof(hook_fault)];

	memcpy(old, hook_fault, sizeof(old));
	snprintf(hook_fault, sizeof(hook_fault), "hook-failed:%s", name);
	log_warnx("promote hook %s failed: giving up the active role", name);
	loop_timer_set(&hook_fault_timer, now_ms() + HOOK_FAULT_HOLD_MS,
	    hook_fault_expired, NULL);
	fault_set(hook_fault, true);
	if (old[0] && strcmp(old, hook_fault) != 0)
		fault_set(old, false);
}

/* The current faults, for status. */
int
faults_get(const char *out[], int max)
{
	int n = nfaults < max ? nfaults : max;

	for (int i = 0; i < n; i++)
		out[i] = faults[i];
	return n;
}

/* Any reply: the FSM may be waiting for one before it claims the VIPs. */
static void
on_arbiter_reply(void *arg)
{
	role_feed(EV_ARBITER, NULL, NULL);
}

int
faults_start(void)
{
	track_init();
	if (checks_init(d.cfg.checks, d.cfg.nchecks, on_check, NULL) == -1 ||
	    arbiter_init(&d.cfg, on_arbiter, NULL) == -1)
		return -1;
	arbiter_on_reply(on_arbiter_reply, NULL);
	return 0;
}

/* Does what the fault says still hold, under the (new) config? */
static bool
fault_holds(const char *f)
{
	struct check_info ci;
	struct arbiter_info ai;

	if (strncmp(f, "check-failed:", 13) == 0) {
		for (int i = 0; i < d.cfg.nchecks; i++)
			if (strcmp(d.cfg.checks[i].name, f + 13) == 0)
				return d.cfg.checks[i].on_fail_penalty == 0 &&
				    checks_info(i, &ci) == 0 && !ci.healthy;
		return false;
	}
	if (strcmp(f, "arbiter-unreachable") == 0) {
		arbiter_get(&ai);
		return ai.enabled && !ai.reachable;
	}
	if (strncmp(f, "interface-down:", 15) == 0) {
		for (int i = 0; i < ntracked; i++)
			if (strcmp(tracked[i].ifname, f + 15) == 0)
				return tracked[i].down;
		return false;
	}
	return true;	/* a failed promote hook: its own timer ends it */
}

/*
 * After a reload: tracked interfaces, checks and arbiter start again from
 * the new config. What did not change keeps its verdict, so a reload moves
 * no VIP: only the faults and penalties the new config no longer supports
 * go (a removed check, an untracked interface).
 */
void
faults_restart(void)
{
	int eff;

	if (faults_start() == -1)
		log_warnx("reload: cannot start the health checks or the arbiter");
	for (int i = nfaults - 1; i >= 0; i--)
		if (!fault_holds(faults[i]))
			fault_set(faults[i], false);
	if ((eff = effective_priority()) != d.fsm.eff_priority) {
		log_info("effective priority %d -> %d", d.fsm.eff_priority, eff);
		d.fsm.eff_priority = eff;
		role_feed(EV_PRIORITY, NULL, NULL);
	}
}

void
faults_finalise(void)
{
	arbiter_finalise();
	checks_finalise();
	loop_timer_cancel(&hook_fault_timer);
}
