/*
 * Health checks (design.md sections 3 and 4); the arbiter is in arbiter.c.
 *
 * A check is `/bin/sh -c COMMAND`, a proc.c child, started at fixed slots
 * every interval_ms; a slot that finds the previous run still going is
 * skipped, so one check never runs twice at once. Counting follows
 * keepalived: `fall` failures in a row fail a check, `rise` successes in a
 * row make a failed one pass. Before a check fails, its recover command (if
 * any) gets a chance, as documented in checks.h.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "log.h"
#include "loop.h"
#include "proc.h"

#define CHECK_SHELL		"/bin/sh"
#define RECOVER_MIN_MS		30000	/* as hooks */
#define RECOVER_FACTOR		10	/* or 10 x the check's timeout, if longer */
#define CHECK_ENV_PREFIX	"FAILOVERD_CHECK="
#define CHECK_STOP_MS		100	/* finalise (also on reload): SIGKILL after */

struct check {
	struct cfg_check	 cfg;
	int			 idx;
	struct proc		 proc;		/* the check or its recover command */
	bool			 in_recover;	/* proc runs the recover command */
	unsigned		 fails;		/* towards fall; since a success or a recover */
	uint64_t		 next_slot;
	struct loop_timer	 slot;
	char			 envbuf[sizeof(CHECK_ENV_PREFIX) + CFG_NAME_MAX];
	char			*envp[3];
	struct check_info	 info;
};

static struct check	 ck_tab[CFG_MAX_CHECKS];
static int		 ck_n;
static checks_cb	 ck_cb;
static void		*ck_arg;

static void	check_run(struct check *);

static void
counter_inc(unsigned *n)
{
	if (*n < UINT_MAX)
		(*n)++;
}

/* "exit status 1: curl: (7) Failed to connect" */
static void
run_reason(const struct check *c, const struct proc_result *res, char *buf,
    size_t len)
{
	const char *last = proc_last_line(&c->proc);
	char st[64];

	if (res == NULL)
		snprintf(st, sizeof(st), "cannot start");
	else if (res->timed_out)
		snprintf(st, sizeof(st), "timed out after %u ms",
		    c->cfg.timeout_ms);
	else
		proc_status_str(res, st, sizeof(st));
	if (res != NULL && last[0] != '\0')
		snprintf(buf, len, "%s: %s", st, last);
	else
		snprintf(buf, len, "%s", st);
}

static void
verdict(struct check *c, bool healthy)
{
	c->info.healthy = healthy;
	if (ck_cb)
		ck_cb(ck_arg, c->idx, healthy);
}

static void
recover_done(struct proc *p, const struct proc_result *res, void *arg)
{
	struct check *c = arg;
	char st[64];

	c->in_recover = false;
	if (proc_ok(res))
		log_info("check %s: recover command exited with status 0 "
		    "(%llu ms), checking again", c->cfg.name,
		    (unsigned long long)res->ms);
	else
		log_warnx("check %s: recover command failed: %s (%llu ms%s), "
		    "checking again", c->cfg.name,
		    proc_status_str(res, st, sizeof(st)),
		    (unsigned long long)res->ms,
		    res->timed_out ? ", timed out" : "");
	/* the next check runs at its next slot */
}

static unsigned
recover_timeout(const struct check *c)
{
	uint64_t ms = (uint64_t)c->cfg.timeout_ms * RECOVER_FACTOR;

	if (ms < RECOVER_MIN_MS)
		ms = RECOVER_MIN_MS;
	return ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
}

/* false: it could not start (counts as a recover that did not help). */
static bool
recover_start(struct check *c)
{
	char *argv[] = { CHECK_SHELL, "-c", c->cfg.recover, NULL };
	char label[PROC_LABEL_MAX];

	counter_inc(&c->info.recover_runs);
	c->info.recovering = true;
	c->fails = 0;
	log_warnx("check %s: running recover (attempt %u/%u): %s", c->cfg.name,
	    c->info.recover_runs, c->cfg.recover_attempts, c->cfg.recover);
	snprintf(label, sizeof(label), "check %s recover", c->cfg.name);
	if (proc_spawn(&c->proc, label, CHECK_SHELL, argv, c->envp,
	    recover_timeout(c), 0, recover_done, c) == -1)
		return false;
	c->in_recover = true;
	return true;
}

static void
check_passed(struct check *c)
{
	struct check_info *i = &c->info;
	unsigned prev_fails = c->fails;

	i->fail_run = 0;
	c->fails = 0;
	counter_inc(&i->ok_run);
	if (i->healthy) {
		if (i->recovering) {
			i->recovering = false;
			log_info("check %s: recovered (after %u recover "
			    "attempt%s)", c->cfg.name, i->recover_runs,
			    i->recover_runs == 1 ? "" : "s");
		} else if (prev_fails > 0)
			log_info("check %s: passing again", c->cfg.name);
		/* a recovery that held for rise runs gives the attempts back */
		if (i->recover_runs > 0 && i->ok_run >= c->cfg.rise)
			i->recover_runs = 0;
		return;
	}
	if (i->ok_run < c->cfg.rise) {
		log_info("check %s: passing (%u/%u)", c->cfg.name, i->ok_run,
		    c->cfg.rise);
		return;
	}
	i->recover_runs = 0;
	log_info("check %s: healthy again", c->cfg.name);
	verdict(c, true);
}

static void
check_failed(struct check *c, const char *why)
{
	struct check_info *i = &c->info;
	unsigned prev_ok = i->ok_run;

	i->failures++;
	i->ok_run = 0;
	counter_inc(&i->fail_run);
	if (!i->healthy) {
		if (prev_ok > 0)
			log_warnx("check %s: failing again: %s", c->cfg.name,
			    why);
		else
			log_debug("check %s: still failing: %s", c->cfg.name,
			    why);
		return;
	}
	counter_inc(&c->fails);
	log_warnx("check %s: failing (%u/%u): %s", c->cfg.name, c->fails,
	    c->cfg.fall, why);
	if (c->fails < c->cfg.fall)
		return;
	if (c->cfg.recover[0] != '\0' &&
	    i->recover_runs < c->cfg.recover_attempts && recover_start(c))
		return;
	i->recovering = false;
	if (c->cfg.recover[0] != '\0')
		log_warnx("check %s: failed, %u recover attempt%s did not help",
		    c->cfg.name, i->recover_runs,
		    i->recover_runs == 1 ? "" : "s");
	else
		log_warnx("check %s: failed", c->cfg.name);
	verdict(c, false);
}

static void
check_done(struct proc *p, const struct proc_result *res, void *arg)
{
	struct check *c = arg;
	char why[PROC_LINE_MAX + 96];

	c->info.last_run_ms = now_ms();
	c->info.runs++;
	if (!res->timed_out && res->status != -1 && WIFEXITED(res->status))
		c->info.last_exit = WEXITSTATUS(res->status);
	else
		c->info.last_exit = -1;
	log_debug("check %s: run took %llu ms", c->cfg.name,
	    (unsigned long long)res->ms);
	if (proc_ok(res))
		check_passed(c);
	else {
		run_reason(c, res, why, sizeof(why));
		check_failed(c, why);
	}
}

static void
check_run(struct check *c)
{
	char *argv[] = { CHECK_SHELL, "-c", c->cfg.command, NULL };
	char label[PROC_LABEL_MAX];

	snprintf(label, sizeof(label), "check %s", c->cfg.name);
	if (proc_spawn(&c->proc, label, CHECK_SHELL, argv, c->envp,
	    c->cfg.timeout_ms, PROC_QUIET, check_done, c) == 0)
		return;
	c->info.last_run_ms = now_ms();
	c->info.runs++;
	c->info.last_exit = -1;
	check_failed(c, "cannot start");
}

static void
slot_cb(void *arg)
{
	struct check *c = arg;
	uint64_t now = now_ms();

	/* fixed slots: a slow run never shifts the schedule */
	c->next_slot += c->cfg.interval_ms;
	if (c->next_slot <= now)
		c->next_slot = now + c->cfg.interval_ms;
	loop_timer_set(&c->slot, c->next_slot, slot_cb, c);
	if (proc_running(&c->proc)) {
		log_debug("check %s: %s still running, slot skipped",
		    c->cfg.name, c->in_recover ? "recover command" : "last run");
		return;
	}
	check_run(c);
}

int
checks_init(const struct cfg_check *cfgs, int n, checks_cb cb, void *arg)
{
	uint64_t now = now_ms();

	if (n < 0 || n > CFG_MAX_CHECKS) {
		errno = EINVAL;
		return -1;
	}
	/* a reload keeps the verdict of a check it does not change */
	struct { struct cfg_check cfg; struct check_info info; } old[CFG_MAX_CHECKS];
	int nold = ck_n;

	for (int i = 0; i < nold; i++) {
		old[i].cfg = ck_tab[i].cfg;
		old[i].info = ck_tab[i].info;
	}
	checks_finalise();
	for (int i = 0; i < n; i++) {
		struct check *c = &ck_tab[i];

		memset(c, 0, sizeof(*c));
		c->cfg = cfgs[i];
		if (c->cfg.interval_ms == 0)
			c->cfg.interval_ms = 1000;
		if (c->cfg.timeout_ms == 0)
			c->cfg.timeout_ms = 1000;
		if (c->cfg.rise == 0)
			c->cfg.rise = 1;
		if (c->cfg.fall == 0)
			c->cfg.fall = 1;
		c->idx = i;
		snprintf(c->envbuf, sizeof(c->envbuf), "%s%s",
		    CHECK_ENV_PREFIX, cfgs[i].name);
		c->envp[0] = c->envbuf;
		c->envp[1] = PROC_PATH;
		c->envp[2] = NULL;
		c->info.healthy = true;
		c->info.last_exit = -1;
		for (int j = 0; j < nold; j++)
			if (strcmp(old[j].cfg.name, cfgs[i].name) == 0 &&
			    strcmp(old[j].cfg.command, cfgs[i].command) == 0 &&
			    !old[j].info.recovering) {
				c->info = old[j].info;
				if (!c->info.healthy)
					log_info("check %s: still failed after the "
					    "reload", c->cfg.name);
			}
		/* the first run from the loop, at once */
		c->next_slot = now;
		loop_timer_set(&c->slot, now, slot_cb, c);
		log_debug("check %s: every %u ms, timeout %u ms, rise %u, "
		    "fall %u%s", c->cfg.name, c->cfg.interval_ms,
		    c->cfg.timeout_ms, c->cfg.rise, c->cfg.fall,
		    c->cfg.recover[0] ? ", with recover" : "");
	}
	ck_n = n;
	ck_cb = cb;
	ck_arg = arg;
	return 0;
}

void
checks_finalise(void)
{
	struct proc *running[CFG_MAX_CHECKS];
	int nrun = 0;

	for (int i = 0; i < ck_n; i++) {
		loop_timer_cancel(&ck_tab[i].slot);
		if (proc_running(&ck_tab[i].proc)) {
			log_info("check %s: stopping its %s", ck_tab[i].cfg.name,
			    ck_tab[i].in_recover ? "recover command" : "run");
			running[nrun++] = &ck_tab[i].proc;
		}
		ck_tab[i].in_recover = false;
	}
	proc_finalise(running, nrun, CHECK_STOP_MS);
	ck_n = 0;
	ck_cb = NULL;
	ck_arg = NULL;
}

int
checks_info(int idx, struct check_info *info)
{
	if (idx < 0 || idx >= ck_n) {
		errno = ENOENT;
		return -1;
	}
	*info = ck_tab[idx].info;
	return 0;
}
