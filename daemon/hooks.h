/*
 * Non-blocking hook runner. Executables in HOOKS_DIR/<kind>.d run as child
 * processes in lexical order; jobs (one per hooks_run call) run one after
 * another in the order they were queued. Never blocks the event loop.
 */
#ifndef FOD_HOOKS_H
#define FOD_HOOKS_H

#include <stdbool.h>

struct hook_env {
	const char	*event;		/* "promote", "demote", "notify", "fence" */
	const char	*state;
	const char	*prev_state;
	const char	*reason;
	const char	*node;
	const char	*peer;
	const char	*vips;		/* space separated */
	unsigned	 cluster_id;
	bool		 require_one;	/* a job that runs no hook fails (fencing) */
};

/*
 * ok: every hook of the job exited 0 (true for an empty or missing directory).
 * failed: the first hook that did not (NULL if ok); valid during the call only.
 * Called from the event loop, never from hooks_run(); it may queue jobs.
 */
typedef void (*hooks_done_cb)(void *arg, const char *kind, bool ok, const char *failed);

/* timeout_ms 0 means 30 s. May be called again (reload): applies to later hooks. */
int	hooks_init(const char *dir, unsigned timeout_ms);
/* Kill (SIGTERM, then SIGKILL) whatever still runs, reap it; drop queued jobs (no callbacks). */
void	hooks_finalise(void);
/* Queue a job. kind: "promote", "demote", "notify", "fence". -1: bad kind, queue full. */
int	hooks_run(const char *kind, const struct hook_env *, hooks_done_cb, void *arg);
/* Executable files in HOOKS_DIR/<kind>.d now (0 if there is no such directory). */
int	hooks_count(const char *kind);
/* Number of jobs queued or running. */
int	hooks_pending(void);

#endif
