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

#define FAULT_MAX	(CFG_MAX_CHECKS + CFG_MAX_TRACK + CFG_MAX_VIPS + \
			    CFG_MAX_GROUPS + 4)
#define HOOK_FAULT_HOLD_MS 30000	/* a failed promote hook keeps its group out this long */
#define ALL_GROUPS	UINT32_MAX

/* A fault and the groups it keeps out (bit g: d.groups[g]). */
static struct {
	char		reason[FSM_REASON_MAX];
	uint32_t	groups;
} faults[FAULT_MAX];
static int nfaults;
static uint32_t faulted;	/* the groups told EV_FAULT */
static struct {
	struct loop_timer timer;
	char		reason[FSM_REASON_MAX];	/* the group's one hook fault; "" if none */
} hook_fault[CFG_MAX_GROUPS];

static bool
fault_is_set(const char *reason)
{
	for (int i = 0; i < nfaults; i++)
		if (strcmp(faults[i].reason, reason) == 0)
			return true;
	return false;
}

static int
check_index(const char *name)
{
	for (int i = 0; i < d.cfg.nchecks; i++)
		if (strcmp(d.cfg.checks[i].name, name) == 0)
			return i;
	return -1;
}

/* The groups a node-wide fault keeps out: those that list what failed. */
static uint32_t
fault_groups(const char *reason)
{
	uint32_t m = 0;
	int c;

	if (strncmp(reason, "check-failed:", 13) == 0) {
		if ((c = check_index(reason + 13)) == -1)
			return 0;
		for (int g = 0; g < d.cfg.ngroups; g++)
			if (d.cfg.groups[g].checks & (1u << c))
				m |= 1u << g;
		return m;
	}
	if (strncmp(reason, "interface-down:", 15) == 0) {
		const char *ifname = reason + 15;

		for (int g = 0; g < d.cfg.ngroups; g++) {
			const struct cfg_group *cg = &d.cfg.groups[g];

			for (int v = 0; v < cg->nvips; v++)
				if (strcmp(d.cfg.vips[cg->first_vip + v].ifname,
				    ifname) == 0)
					m |= 1u << g;
			for (int t = 0; t < d.cfg.ntrack; t++)
				if ((cg->track & (1u << t)) &&
				    strcmp(d.cfg.track_interfaces[t], ifname) == 0)
					m |= 1u << g;
		}
		return m;
	}
	return ALL_GROUPS;	/* the arbiter, no heartbeat link */
}

/* Each group whose set of faults became empty or non-empty is told. */
static void
faults_apply(void)
{
	uint32_t now = 0, bit;

	for (int i = 0; i < nfaults; i++)
		now |= faults[i].groups;
	for (int g = 0; g < d.ngroups; g++) {
		bit = 1u << g;
		if ((now & bit) && !(faulted & bit)) {
			for (int i = 0; i < nfaults; i++)
				if (faults[i].groups & bit) {
					faulted |= bit;
					role_feed(g, EV_FAULT, faults[i].reason);
					break;
				}
		} else if (!(now & bit) && (faulted & bit)) {
			faulted &= ~bit;
			role_feed(g, EV_FAULT_CLEAR, NULL);
		}
	}
}

static void
fault_set_groups(const char *reason, uint32_t groups, bool on)
{
	int i;

	for (i = 0; i < nfaults; i++)
		if (strcmp(faults[i].reason, reason) == 0 &&
		    faults[i].groups == groups)
			break;
	if (on && i == nfaults && nfaults < FAULT_MAX) {
		snprintf(faults[nfaults].reason, FSM_REASON_MAX, "%s", reason);
		faults[nfaults++].groups = groups;
		log_warnx("fault: %s", reason);
	} else if (!on && i < nfaults) {
		log_info("fault cleared: %s", reason);
		memmove(&faults[i], &faults[i + 1],
		    (size_t)(nfaults - i - 1) * sizeof(faults[0]));
		nfaults--;
	}
	faults_apply();
}

void
fault_set(const char *reason, bool on)
{
	fault_set_groups(reason, fault_groups(reason), on);
}

static void
hook_fault_expired(void *arg)
{
	int g = (int)(intptr_t)arg;

	/* back to standby, but no preempting into the same failing hook */
	role_no_preempt(g);
	fault_set_groups(hook_fault[g].reason, 1u << g, false);
	hook_fault[g].reason[0] = '\0';
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

/* Group g's configured priority less the penalties of its failed checks. */
static int
effective_priority(int g)
{
	const struct cfg_group *cg = &d.cfg.groups[g];
	struct check_info ci;
	int eff = cg->priority;

	for (int i = 0; i < d.cfg.nchecks; i++)
		if ((cg->checks & (1u << i)) && d.cfg.checks[i].on_fail_penalty &&
		    checks_info(i, &ci) == 0 && !ci.healthy)
			eff -= d.cfg.checks[i].on_fail_penalty;
	return eff < 0 ? 0 : eff;
}

/* Each group's effective priority as the checks say now. */
static void
priorities_apply(const char *why)
{
	int eff;

	for (int g = 0; g < d.ngroups; g++) {
		if ((eff = effective_priority(g)) == d.groups[g].fsm.eff_priority)
			continue;
		if (d.cfg.groups_explicit)
			log_warnx("group %s: %s: effective priority %d -> %d",
			    d.cfg.groups[g].name, why,
			    d.groups[g].fsm.eff_priority, eff);
		else
			log_warnx("%s: effective priority %d -> %d", why,
			    d.groups[g].fsm.eff_priority, eff);
		role_set_priority(g, eff);
	}
}

/* A health check's verdict: fault, or a lower effective priority. */
static void
on_check(void *arg, int idx, bool healthy)
{
	const struct cfg_check *c = &d.cfg.checks[idx];
	char reason[FSM_REASON_MAX], why[FSM_REASON_MAX + 32];

	if (c->on_fail_penalty == 0) {
		snprintf(reason, sizeof(reason), "check-failed:%s", c->name);
		fault_set(reason, !healthy);
		return;
	}
	snprintf(why, sizeof(why), "check %s %s", c->name,
	    healthy ? "healthy again" : "failed");
	priorities_apply(why);
}

static void
on_arbiter(void *arg, bool reachable)
{
	if (!reachable)
		log_warnx("arbiter: no target answers; this node may be isolated");
	fault_set("arbiter-unreachable", !reachable);
}

/*
 * A promote hook of group g failed: let the peer serve it, for a while. One
 * hook fault per group at a time, so that each expires: a newer failure
 * takes the older one's place (set before the older is cleared: no clear in
 * between) and its timer.
 */
void
faults_hook_failed(int g, const char *name)
{
	char old[FSM_REASON_MAX];

	memcpy(old, hook_fault[g].reason, sizeof(old));
	snprintf(hook_fault[g].reason, sizeof(hook_fault[g].reason),
	    "hook-failed:%s", name);
	log_warnx("promote hook %s of group %s failed: giving up the active "
	    "role", name, d.cfg.groups[g].name);
	loop_timer_set(&hook_fault[g].timer, now_ms() + HOOK_FAULT_HOLD_MS,
	    hook_fault_expired, (void *)(intptr_t)g);
	fault_set_groups(hook_fault[g].reason, 1u << g, true);
	if (old[0] && strcmp(old, hook_fault[g].reason) != 0)
		fault_set_groups(old, 1u << g, false);
}

/* The current faults, for status. */
int
faults_get(const char *out[], int max)
{
	int n = nfaults < max ? nfaults : max;

	for (int i = 0; i < n; i++)
		out[i] = faults[i].reason;
	return n;
}

int
faults_of_group(int g, const char *out[], int max)
{
	int n = 0;

	for (int i = 0; i < nfaults && n < max; i++)
		if (faults[i].groups & (1u << g))
			out[n++] = faults[i].reason;
	return n;
}

/* Any reply: the FSM may be waiting for one before it claims the VIPs. */
static void
on_arbiter_reply(void *arg)
{
	role_feed(-1, EV_ARBITER, NULL);
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
 * go (a removed check, an untracked interface); the groups a fault keeps
 * out follow the new config.
 */
void
faults_restart(void)
{
	if (faults_start() == -1)
		log_warnx("reload: cannot start the health checks or the arbiter");
	for (int i = nfaults - 1; i >= 0; i--) {
		if (!fault_holds(faults[i].reason))
			fault_set_groups(faults[i].reason, faults[i].groups, false);
		else if (strncmp(faults[i].reason, "hook-failed:", 12) != 0)
			faults[i].groups = fault_groups(faults[i].reason);
	}
	faults_apply();
	priorities_apply("reload");
}

void
faults_finalise(void)
{
	arbiter_finalise();
	checks_finalise();
	for (int g = 0; g < CFG_MAX_GROUPS; g++)
		loop_timer_cancel(&hook_fault[g].timer);
}
