/*
 * Non-blocking hook runner. Executables in HOOKS_DIR/<kind>.d run as child
 * processes in lexical order; jobs (one per hooks_run call) run one after
 * another in the order they were queued: promote, demote and fence jobs in
 * one lane, notify jobs in another, so that a slow notify hook never holds
 * up the others. Never blocks the event loop.
 */
#ifndef FOD_HOOKS_H
#define FOD_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Lane bounds: about one job per group and then some. */
#define HOOKS_ROLE_MAX	(2 * CFG_MAX_GROUPS + 32)	/* promote, demote, fence */
#define HOOKS_NOTIFY_MAX (CFG_MAX_GROUPS + 8)	/* the newest replaces the last */

struct hook_env {
	const char	*event;		/* "promote", "demote", "notify", "fence" */
	const char	*state;
	const char	*prev_state;
	const char	*reason;
	const char	*node;
	const char	*peer;
	const char	*vips;		/* space separated: the group's */
	const char	*group;		/* the VIP group ("default" without groups) */
	unsigned	 cluster_id;
	bool		 require_one;	/* a job that runs no hook fails (fencing) */
};

/*
 * ok: every hook of the job exited 0 (true for an empty or missing directory).
 * failed: the first hook that did not (NULL if ok); valid during the call only.
 * Called from the event loop, never from hooks_run(); it may queue jobs.
 * Not called for a job that no longer applies: a promote job when a demote
 * job was queued after it (the node left the active role meanwhile, so its
 * outcome must neither fault the node nor bring up VIPs), or a job skipped
 * to keep its lane bounded (see hooks_run()).
 */
typedef void (*hooks_done_cb)(void *arg, const char *kind, bool ok, const char *failed);

/* timeout_ms 0 means 30 s. May be called again (reload): applies to later hooks. */
int	hooks_init(const char *dir, unsigned timeout_ms);
/* Kill (SIGTERM, then SIGKILL) whatever still runs, reap it; drop queued jobs (no callbacks). */
void	hooks_finalise(void);
/*
 * Queue a job. kind: "promote", "demote", "notify", "fence". No allocation.
 * When the notify lane is full, the newest notify job replaces the last one
 * queued; when the role lane is full, a promote job and the demote job right
 * after it, neither started, are skipped (an active period none of whose
 * hooks ran), or the older of two fence jobs in a row. -1: bad kind, or
 * (never with the FSM's sequences) no room.
 */
int	hooks_run(const char *kind, const struct hook_env *, hooks_done_cb, void *arg);
/* Executable files in HOOKS_DIR/<kind>.d now (0 if there is no such directory). */
int	hooks_count(const char *kind);
/* Number of jobs queued or running. */
int	hooks_pending(void);
/* Jobs skipped to keep the lanes bounded, since the start (for status). */
unsigned long hooks_skipped(void);

/*
 * Hook runs since the start, for metrics: by kind (index of hooks_kind_name())
 * and result, and how long those that ran took (a histogram: bucket[k][i]
 * counts runs of at most hooks_bucket_ms[i], not cumulative; the last, the
 * longer ones). A refused hook (unsafe path) did not run.
 */
enum hooks_result { HOOK_OK, HOOK_FAILED, HOOK_TIMEOUT, HOOK_REFUSED, HOOK_NRESULTS };
#define HOOKS_NKINDS	4
#define HOOKS_NBUCKETS	12
extern const unsigned hooks_bucket_ms[HOOKS_NBUCKETS];

struct hooks_stats {
	uint64_t	runs[HOOKS_NKINDS][HOOK_NRESULTS];
	uint64_t	bucket[HOOKS_NKINDS][HOOKS_NBUCKETS + 1];
	uint64_t	sum_ms[HOOKS_NKINDS];
};

void	hooks_get_stats(struct hooks_stats *);
const char *hooks_kind_name(int kind);		/* "promote", ... */
const char *hooks_result_name(enum hooks_result);	/* "ok", "failed", ... */

#endif
