/*
 * Child processes for hooks and checks. A child runs in its own session
 * (so that a timeout can signal its whole process group), with a clean
 * environment, default signal dispositions, stdin on /dev/null and no
 * inherited descriptors; its stdout and stderr are logged line by line,
 * prefixed with its label. The loop learns of its exit through a pidfd and
 * reaps it; a timeout sends SIGTERM to the group, then SIGKILL after
 * PROC_KILL_MS. Nothing here blocks the loop, except proc_finalise().
 *
 * What a child leaves running in the background may still hold the output
 * pipe when the child exits: the run is over then (the callback fires, the
 * proc may start the next child), but the pipe is still read and logged
 * until every writer closed it, for at most the run's timeout_ms or
 * PROC_LINGER_BYTES, so that such a process does not die of SIGPIPE.
 */
#ifndef FOD_PROC_H
#define FOD_PROC_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/* The PATH every child gets; the caller puts it in envp. */
#define PROC_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PROC_KILL_MS	2000		/* SIGTERM, then SIGKILL this much later */
#define PROC_LINE_MAX	512		/* longer output lines are cut */
#define PROC_OUTPUT_MAX	65536		/* output bytes logged per run */
#define PROC_LABEL_MAX	(NAME_MAX + 32)
#define PROC_LINGER_BYTES (1024 * 1024)	/* read after the child exited, at most */

/* flags */
#define PROC_QUIET	0x1	/* output and the timeout notice at debug level */

struct proc_result {
	int		status;		/* waitpid() status; -1: lost */
	bool		timed_out;	/* the timeout fired: a failure, whatever status says */
	uint64_t	ms;		/* run time */
};

struct proc;
/*
 * The run is over: the child is reaped (and, after a timeout, its process
 * group is gone or got SIGKILL). The proc is idle again: the callback may
 * spawn the next child on it. Called from the loop, never from proc_spawn().
 */
typedef void (*proc_done_cb)(struct proc *, const struct proc_result *,
    void *arg);

/* A child's output pipe, logged line by line; internal. */
struct proc_output {
	int		 fd;
	int		 flags;
	char		 label[PROC_LABEL_MAX];
	size_t		 bytes;		/* logged or dropped, up to PROC_OUTPUT_MAX */
	bool		 capped;	/* PROC_OUTPUT_MAX reached */
	size_t		 linelen;
	bool		 cut;		/* rest of the current line dropped */
	char		 line[PROC_LINE_MAX + 1];
	char		*last;		/* NULL: not recorded (lingering) */
};

/* Zero-initialised or idle before proc_spawn(); fields are internal. */
struct proc {
	int		 phase;
	pid_t		 pid;		/* also its process group and session */
	bool		 reaped;
	int		 status;
	bool		 timed_out;
	int		 pidfd;
	uint64_t	 started;
	unsigned	 timeout_ms;
	struct proc_output out;
	char		 last[PROC_LINE_MAX + 1];
	struct loop_timer timer;	/* timeout, then SIGKILL */
	struct loop_timer poll;		/* reaping without a pidfd; stragglers */
	proc_done_cb	 cb;
	void		*arg;
};

/*
 * Start path with argv and envp (exactly that environment). label prefixes
 * every log line ("hook 10-mail", "check web"). timeout_ms must be > 0.
 * -1 (errno set, logged): nothing runs and cb will not be called.
 */
int	proc_spawn(struct proc *, const char *label, const char *path,
	    char *const argv[], char *const envp[], unsigned timeout_ms,
	    int flags, proc_done_cb cb, void *arg);
bool	proc_running(const struct proc *);
/* The last non-empty output line of the current or last run ("" if none). */
const char *proc_last_line(const struct proc *);
/* true: exited with status 0 in time. */
bool	proc_ok(const struct proc_result *);
/* "exit status 3", "killed by signal 9", "exit status lost"; returns buf. */
const char *proc_status_str(const struct proc_result *, char *buf, size_t len);
/*
 * Stop now: SIGTERM to every running one, SIGKILL to those (or their
 * groups) still there grace_ms later, reap them. Blocks the loop for at most
 * 2 x grace_ms. No callbacks; every proc is idle afterwards, and the output
 * pipes of their earlier runs are no longer read.
 */
void	proc_finalise(struct proc *const procs[], int n, unsigned grace_ms);

#endif
