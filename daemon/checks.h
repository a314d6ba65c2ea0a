/*
 * Local health checks: child processes with rise/fall and recovery (the
 * arbiter is in arbiter.h). They report only changes of a check's verdict;
 * the daemon decides what a verdict means.
 *
 * Each check runs `/bin/sh -c COMMAND` (environment: PATH as for hooks and
 * FAILOVERD_CHECK=NAME; cwd /; stdin /dev/null; output logged at debug level,
 * its last line quoted in the failure log) at fixed slots every interval_ms,
 * the first at once. A run still going when its next slot comes makes that
 * slot be skipped: one check never runs twice at once. A run fails when it
 * exits non-zero, dies of a signal, cannot start, or outlives timeout_ms
 * (SIGTERM to its process group, SIGKILL 2 s later).
 *  - healthy: `fall` failures in a row. Then, if `recover` is set and fewer
 *    than recover_attempts recover commands ran in this episode, the recover
 *    command runs (`/bin/sh -c RECOVER`, same environment, timeout the larger
 *    of 30 s and 10 x timeout_ms; its output is logged at info level; its
 *    exit status is only logged). No check runs meanwhile; checking resumes
 *    at the next slot after it ended. A single success after that is enough:
 *    the check is healthy again, no verdict is reported. `fall` more failures
 *    use the next attempt. With no attempt left (or no recover) the verdict
 *    becomes healthy = false.
 *  - An episode ends, and the attempts are available again, when the check
 *    has passed `rise` times in a row (after a recovery, or when the failed
 *    check comes back). So a service that recovers but breaks again before
 *    passing `rise` times uses up its attempts and then fails.
 *  - failed: `rise` successes in a row: healthy = true again.
 * Every change is logged: "check NAME: failing (2/3): exit status 1: ...",
 * "running recover (attempt 1/1)", "recovered", "failed", "passing (1/2)",
 * "healthy again".
 */
#ifndef FOD_CHECKS_H
#define FOD_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* A check's verdict changed: healthy = false only after recovery failed. */
typedef void (*checks_cb)(void *arg, int idx, bool healthy);

struct check_info {
	bool		healthy;
	bool		recovering;	/* a recover command runs or its recheck is pending */
	unsigned	ok_run;		/* consecutive successes */
	unsigned	fail_run;	/* consecutive failures */
	unsigned	recover_runs;	/* recover commands run in this episode (see above) */
	int		last_exit;	/* exit status of the last run; -1 timeout/signal */
	uint64_t	last_run_ms;	/* monotonic ms of the last finished run; 0 = none */
	uint64_t	runs;		/* finished (or failed to start), ever */
	uint64_t	failures;	/* of those, the failed ones */
};

/*
 * Starts one timer per check; checks start healthy. n may be 0. Copies
 * checks. Calling it again (reload) first does checks_finalise(); a check
 * with the same name and command as before keeps its verdict and counts
 * (a failed one clears only by passing rise times). The callback runs from
 * the loop, never from checks_init().
 */
int	checks_init(const struct cfg_check *checks, int n, checks_cb, void *arg);
/*
 * Stops timers; kills running check and recover children (SIGTERM, SIGKILL
 * to the process group 100 ms later) and reaps them: blocks at most 200 ms,
 * so a reload does not stall heartbeats. No callbacks.
 */
void	checks_finalise(void);
int	checks_info(int idx, struct check_info *);

#endif
