/*
 * Local health checks (child processes with rise/fall and recovery) and the
 * arbiter (ICMP echo to outside targets). Both report only changes of their
 * verdict; the daemon decides what a verdict means.
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
	unsigned	recover_runs;	/* recover commands run since the last healthy verdict */
	int		last_exit;	/* exit status of the last run; -1 timeout/signal */
	uint64_t	last_run_ms;	/* monotonic ms of the last finished run; 0 = none */
};

/* Starts one timer per check; checks start healthy. n may be 0. */
int	checks_init(const struct cfg_check *checks, int n, checks_cb, void *arg);
/* Stops timers, kills running check/recover children. */
void	checks_finalise(void);
int	checks_info(int idx, struct check_info *);

typedef void (*arbiter_cb)(void *arg, bool reachable);

struct arbiter_info {
	bool		enabled;
	bool		reachable;
	unsigned	misses;		/* consecutive rounds with no reply from any target */
	uint64_t	last_reply_ms;	/* 0 = never */
};

/* Pings every target each interval; unreachable after fail_after silent rounds. */
int	arbiter_init(const struct config *, arbiter_cb, void *arg);
void	arbiter_finalise(void);
void	arbiter_get(struct arbiter_info *);

#endif
