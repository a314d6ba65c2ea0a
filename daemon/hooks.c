/*
 * Non-blocking hook runner (design.md section 7).
 *
 * One job per hooks_run() call. Jobs run strictly one after another, and the
 * hooks of a job one at a time in lexical order, so hooks never overlap and
 * never run out of order. A hook is a child process in its own session, so
 * that a timeout can signal its whole process group. The event loop learns
 * of its exit through a pidfd, reads its output through a non-blocking pipe
 * and enforces its timeout with a loop timer: nothing here ever waits, except
 * hooks_finalise() while the daemon exits.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "loop.h"

#define HOOK_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_NENV	9		/* the FAILOVERD_* variables and PATH */
#define HOOK_TIMEOUT_MS	30000		/* when hooks_init() is given 0 */
#define HOOK_KILL_MS	2000		/* SIGTERM, then SIGKILL this much later */
#define HOOK_POLL_MS	50		/* reaping without a pidfd; leftovers */
#define HOOK_LINE_MAX	512		/* longer output lines are cut */
#define HOOK_OUTPUT_MAX	65536		/* output bytes logged per hook */
#define HOOK_READ_MAX	16384		/* bytes read per loop round */
#define HOOK_DRAIN_MAX	(1024 * 1024)	/* bytes read once the hook exited */
#define HOOKS_QUEUE_MAX	64

struct hook_job {
	TAILQ_ENTRY(hook_job)	 entry;
	char			 kind[16];
	char			*env[HOOK_NENV + 1];
	hooks_done_cb		 cb;
	void			*arg;
	bool			 started;
	char			*dir;		/* realpath of HOOKS_DIR/<kind>.d */
	struct dirent		**names;	/* scandir(), when the job starts */
	int			 nnames;
	int			 next;		/* next entry of names to run */
	bool			 ok;
	char			 failed[NAME_MAX + 1];
};

enum hook_phase {
	HOOK_IDLE,			/* no hook runs */
	HOOK_RUNNING,			/* timer: the timeout */
	HOOK_TERM,			/* SIGTERM sent; timer: SIGKILL */
	HOOK_KILL			/* SIGKILL sent */
};

/* The one hook that runs (pid is also its process group and session id). */
static struct hook_proc {
	enum hook_phase	 phase;
	struct hook_job	*job;
	char		 name[NAME_MAX + 1];
	pid_t		 pid;
	bool		 reaped;
	int		 pidfd;
	int		 outfd;
	uint64_t	 started;
	size_t		 out_bytes;
	bool		 capped;	/* HOOK_OUTPUT_MAX reached */
	size_t		 linelen;
	bool		 cut;		/* rest of the current line dropped */
	char		 line[HOOK_LINE_MAX + 1];
	struct loop_timer timer;
	struct loop_timer poll;
} cur = { .pidfd = -1, .outfd = -1 };

static TAILQ_HEAD(, hook_job) jobs = TAILQ_HEAD_INITIALIZER(jobs);
static int njobs;
static bool initialised;
static char hooks_dir[PATH_MAX];
static unsigned hooks_timeout_ms;
static int max_fd;			/* close_range() fallback in the child */
static struct loop_timer kick;

static const char *const kinds[] = { "promote", "demote", "notify", "fence" };

static void	hooks_step(void);
static void	poll_cb(void *);

/* run-parts(8) rules: skip hidden files, backups and package-manager leftovers. */
static int
hook_name_ok(const struct dirent *d)
{
	const char *n = d->d_name, *dot = strrchr(n, '.');

	if (n[0] == '.' || n[strlen(n) - 1] == '~')
		return 0;
	if (dot && (strcmp(dot, ".example") == 0 ||
	    strncmp(dot, ".dpkg-", 6) == 0 || strncmp(dot, ".rpm", 4) == 0))
		return 0;
	return 1;
}

static int
bad_owner(const char *path, const struct stat *st, char *why, size_t len)
{
	uid_t me = geteuid();

	if (st->st_uid == 0 || st->st_uid == me)
		return 0;
	if (me == 0)
		snprintf(why, len, "%s is owned by uid %u, not by root", path,
		    (unsigned)st->st_uid);
	else
		snprintf(why, len, "%s is owned by uid %u, neither root nor "
		    "uid %u", path, (unsigned)st->st_uid, (unsigned)me);
	return 1;
}

/*
 * path is a realpath(): it and every directory above it must be owned by
 * root (or by us) and writable by no one else; a directory with the sticky
 * bit (/tmp) is fine, as in other secure-path checks.
 */
static int
secure_path(const char *path, char *why, size_t len)
{
	char buf[PATH_MAX], *slash;
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		if (stat(buf, &st) == -1) {
			snprintf(why, len, "%s: %s", buf, strerror(errno));
			return -1;
		}
		if (bad_owner(buf, &st, why, len))
			return -1;
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
			snprintf(why, len, "%s %s is writable by group or others "
			    "(mode %04o)", S_ISDIR(st.st_mode) ? "directory" :
			    "file", buf, (unsigned)(st.st_mode & 07777));
			return -1;
		}
		if (strcmp(buf, "/") == 0)
			return 0;
		slash = strrchr(buf, '/');
		if (slash == buf)
			slash[1] = '\0';	/* up to "/" itself */
		else
			*slash = '\0';
	}
}

/* 1: run it (real is its resolved path); 0: not a hook; -1: refused. */
static int
hook_check(const struct hook_job *job, const char *name, char *real)
{
	char path[PATH_MAX], why[2 * PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", job->dir, name) >=
	    (int)sizeof(path)) {
		log_warnx("hook %s/%s refused: path too long", job->dir, name);
		return -1;
	}
	if (stat(path, &st) == -1) {
		if (errno == ENOENT && lstat(path, &st) == -1)
			return 0;	/* removed since scandir() */
		log_warn("hook %s refused", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		log_debug("hooks: %s is not an executable file, skipped", path);
		return 0;
	}
	if (realpath(path, real) == NULL) {
		log_warn("hook %s refused: realpath", path);
		return -1;
	}
	/* both: a symlinked hook is only as safe as the directory holding the link */
	if (secure_path(real, why, sizeof(why)) == -1 ||
	    secure_path(job->dir, why, sizeof(why)) == -1) {
		log_warnx("hook %s refused: %s", path, why);
		return -1;
	}
	return 1;
}

static void
job_fail(struct hook_job *job, const char *name)
{
	if (job->ok)
		snprintf(job->failed, sizeof(job->failed), "%s", name);
	job->ok = false;
}

static void
job_free(struct hook_job *job)
{
	for (int i = 0; i < HOOK_NENV; i++)
		free(job->env[i]);
	for (int i = 0; i < job->nnames; i++)
		free(job->names[i]);
	free(job->names);
	free(job->dir);
	free(job);
}

static void
job_start(struct hook_job *job)
{
	char path[PATH_MAX], dname[32];

	job->started = true;
	snprintf(dname, sizeof(dname), "%s.d", job->kind);
	if (snprintf(path, sizeof(path), "%s/%s", hooks_dir, dname) >=
	    (int)sizeof(path)) {
		log_warnx("hooks: %s/%s: path too long", hooks_dir, dname);
		job_fail(job, dname);
		return;
	}
	if ((job->dir = realpath(path, NULL)) == NULL) {
		if (errno == ENOENT)
			log_debug("hooks: no %s, nothing to run", path);
		else {
			log_warn("hooks: %s", path);
			job_fail(job, dname);
		}
		return;
	}
	job->nnames = scandir(job->dir, &job->names, hook_name_ok, alphasort);
	if (job->nnames == -1) {
		log_warn("hooks: %s", job->dir);
		job->nnames = 0;
		job->names = NULL;
		job_fail(job, dname);
	}
}

/* Async-signal-safe: what the child may say before execve. */
static void
child_error(const char *path, int err)
{
	char num[16];
	int i = sizeof(num);

	do
		num[--i] = '0' + err % 10;
	while ((err /= 10) && i > 0);
	(void)!write(2, "cannot execute ", 15);
	(void)!write(2, path, strlen(path));
	(void)!write(2, ": errno ", 8);
	(void)!write(2, num + i, sizeof(num) - i);
	(void)!write(2, "\n", 1);
}

static void __attribute__((noreturn))
hook_child(const char *path, char *const argv[], char *const envp[], int out)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int null;

	/* own session and process group: a timeout kills all of it */
	setsid();
	/* the daemon's blocked and ignored signals would survive execve */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	if ((null = open("/dev/null", O_RDWR)) == -1)
		_exit(126);
	if (out == -1)
		out = null;
	if (dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(126);
	/* callers set close-on-exec, but a hook must never inherit a socket or key */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == -1)
#endif
		for (int fd = 3; fd < max_fd; fd++)
			close(fd);
	if (chdir("/") == -1)
		_exit(126);
	execve(path, argv, envp);
	child_error(path, errno);
	_exit(126);
}

static int
pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static void
output_line(void)
{
	cur.line[cur.linelen] = '\0';
	log_info("hook %s: %s%s", cur.name, cur.line, cur.cut ? " [cut]" : "");
	cur.linelen = 0;
	cur.cut = false;
}

static void
output_feed(const char *buf, size_t n)
{
	if (cur.capped)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = buf[i];

		if (cur.out_bytes++ == HOOK_OUTPUT_MAX) {
			if (cur.linelen > 0 || cur.cut)
				output_line();
			log_warnx("hook %s: more than %d bytes of output, the "
			    "rest is dropped", cur.name, HOOK_OUTPUT_MAX);
			cur.capped = true;
			return;
		}
		if (c == '\n')
			output_line();
		else if (c == '\r')
			continue;
		else if (cur.linelen == HOOK_LINE_MAX)
			cur.cut = true;
		else	/* no terminal escapes or fake lines in the log */
			cur.line[cur.linelen++] =
			    (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c;
	}
}

static void
output_close(void)
{
	if (cur.outfd == -1)
		return;
	if (cur.linelen > 0 || cur.cut)
		output_line();
	loop_del_fd(cur.outfd);
	close(cur.outfd);
	cur.outfd = -1;
}

/* Bounded, so that a chatty hook cannot starve the loop; closes at EOF. */
static void
output_read(size_t max)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (cur.outfd != -1 && total < max) {
		if ((n = read(cur.outfd, buf, sizeof(buf))) > 0) {
			output_feed(buf, (size_t)n);
			total += (size_t)n;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN)
			return;
		else {
			if (n == -1)
				log_warn("hook %s: read", cur.name);
			output_close();
		}
	}
}

static void
output_cb(int fd, uint32_t events, void *arg)
{
	if (fd == cur.outfd)
		output_read(HOOK_READ_MAX);
}

static void
watch_close(void)
{
	loop_timer_cancel(&cur.poll);
	if (cur.pidfd == -1)
		return;
	loop_del_fd(cur.pidfd);
	close(cur.pidfd);
	cur.pidfd = -1;
}

static void
hook_signal(int sig)
{
	/* before the child's setsid() there is no group yet */
	if (kill(-cur.pid, sig) == -1 && !cur.reaped)
		kill(cur.pid, sig);
}

static void
hook_log_status(int status)
{
	unsigned long long ms = now_ms() - cur.started;
	const char *why = cur.phase == HOOK_RUNNING ? "" : ", timed out";

	if (status == -1)
		log_warnx("hook %s: exit status lost (%llu ms)", cur.name, ms);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    cur.phase == HOOK_RUNNING)
		log_info("hook %s exited with status 0 (%llu ms)", cur.name, ms);
	else if (WIFEXITED(status))
		log_warnx("hook %s failed: exit status %d (%llu ms%s)",
		    cur.name, WEXITSTATUS(status), ms, why);
	else
		log_warnx("hook %s failed: killed by signal %d (%llu ms%s)",
		    cur.name, WTERMSIG(status), ms, why);
}

/* Reaps the hook's main process once it has exited; never waits. */
static bool
hook_reaped(void)
{
	int status;
	pid_t r;

	if (cur.reaped)
		return true;
	while ((r = waitpid(cur.pid, &status, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == 0)
		return false;
	if (r == -1) {
		/* someone else reaped it (waitpid(-1) elsewhere is a bug) */
		log_warn("hook %s: waitpid %ld", cur.name, (long)cur.pid);
		status = -1;
	}
	cur.reaped = true;
	hook_log_status(status);
	if (status != 0)
		job_fail(cur.job, cur.name);
	watch_close();
	/* all it wrote is in the pipe now; leftovers in the background are not waited for */
	output_read(HOOK_DRAIN_MAX);
	output_close();
	return true;
}

static void
hook_done(void)
{
	loop_timer_cancel(&cur.timer);
	watch_close();
	output_close();
	cur.phase = HOOK_IDLE;
	cur.job = NULL;
	cur.pid = 0;
	hooks_step();
}

static void
hook_reap(void)
{
	if (!hook_reaped())
		return;
	if (cur.phase == HOOK_TERM && kill(-cur.pid, 0) == 0) {
		/* the main process obeyed SIGTERM; the rest of its group gets the same grace */
		loop_timer_set(&cur.poll, now_ms() + HOOK_POLL_MS, poll_cb, NULL);
		return;
	}
	hook_done();
}

static void
pidfd_cb(int fd, uint32_t events, void *arg)
{
	if (fd == cur.pidfd)
		hook_reap();
}

/* Reaping without a pidfd, and watching a timed-out group empty itself. */
static void
poll_cb(void *arg)
{
	loop_timer_set(&cur.poll, now_ms() + HOOK_POLL_MS, poll_cb, NULL);
	if (!cur.reaped)
		hook_reap();
	else if (kill(-cur.pid, 0) == -1 && errno == ESRCH)
		hook_done();
}

static void
timer_cb(void *arg)
{
	switch (cur.phase) {
	case HOOK_RUNNING:
		log_warnx("hook %s: timed out after %u ms, sending SIGTERM",
		    cur.name, hooks_timeout_ms);
		job_fail(cur.job, cur.name);
		hook_signal(SIGTERM);
		cur.phase = HOOK_TERM;
		loop_timer_set(&cur.timer, now_ms() + HOOK_KILL_MS, timer_cb,
		    NULL);
		break;
	case HOOK_TERM:
		if (cur.reaped)
			log_warnx("hook %s: its process group outlived SIGTERM "
			    "by %d ms, sending SIGKILL", cur.name, HOOK_KILL_MS);
		else
			log_warnx("hook %s: still running %d ms after SIGTERM, "
			    "sending SIGKILL", cur.name, HOOK_KILL_MS);
		hook_signal(SIGKILL);
		cur.phase = HOOK_KILL;
		if (cur.reaped)
			hook_done();
		break;
	default:
		break;
	}
}

static int
hook_spawn(struct hook_job *job, const char *name, const char *path)
{
	char *argv[] = { (char *)name, NULL };
	int p[2];
	pid_t pid;

	/* the child's end stays blocking: a hook must not see EAGAIN */
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("hook %s: pipe, output discarded", name);
		p[0] = p[1] = -1;
	} else if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1 ||
	    loop_add_fd(p[0], EPOLLIN, output_cb, NULL) == -1) {
		log_warn("hook %s: output pipe, output discarded", name);
		close(p[0]);
		close(p[1]);
		p[0] = p[1] = -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("hook %s: fork", name);
		if (p[0] != -1) {
			loop_del_fd(p[0]);
			close(p[0]);
			close(p[1]);
		}
		return -1;
	}
	if (pid == 0)
		hook_child(path, argv, job->env, p[1]);
	if (p[1] != -1)
		close(p[1]);

	cur.phase = HOOK_RUNNING;
	cur.job = job;
	snprintf(cur.name, sizeof(cur.name), "%s", name);
	cur.pid = pid;
	cur.reaped = false;
	cur.outfd = p[0];
	cur.started = now_ms();
	cur.out_bytes = cur.linelen = 0;
	cur.cut = cur.capped = false;
	log_debug("hook %s: started %s (pid %ld)", name, path, (long)pid);

	if ((cur.pidfd = pidfd_open_(pid)) == -1 ||
	    loop_add_fd(cur.pidfd, EPOLLIN, pidfd_cb, NULL) == -1) {
		log_debug("hook %s: no pidfd (%s), polling", name,
		    strerror(errno));
		if (cur.pidfd != -1)
			close(cur.pidfd);
		cur.pidfd = -1;
		loop_timer_set(&cur.poll, now_ms() + HOOK_POLL_MS, poll_cb,
		    NULL);
	}
	loop_timer_set(&cur.timer, cur.started + hooks_timeout_ms, timer_cb,
	    NULL);
	return 0;
}

/*
 * Start the next hook, or finish jobs until one has a hook to run. Called
 * whenever no hook runs; a callback may queue jobs or even finalise.
 */
static void
hooks_step(void)
{
	struct hook_job *job;
	char real[PATH_MAX];

	while (cur.phase == HOOK_IDLE && (job = TAILQ_FIRST(&jobs)) != NULL) {
		if (!job->started)
			job_start(job);
		while (job->next < job->nnames) {
			const char *name = job->names[job->next++]->d_name;
			int r = hook_check(job, name, real);

			if (r == 1 && hook_spawn(job, name, real) == 0)
				return;
			if (r != 0)
				job_fail(job, name);
		}
		TAILQ_REMOVE(&jobs, job, entry);
		njobs--;
		log_debug("hooks: %s done: %s%s", job->kind,
		    job->ok ? "ok" : "failed by ", job->ok ? "" : job->failed);
		if (job->cb)
			job->cb(job->arg, job->kind, job->ok,
			    job->ok ? NULL : job->failed);
		job_free(job);
	}
}

static void
kick_cb(void *arg)
{
	hooks_step();
}

int
hooks_init(const char *dir, unsigned timeout_ms)
{
	long n;

	if (snprintf(hooks_dir, sizeof(hooks_dir), "%s", dir) >=
	    (int)sizeof(hooks_dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	hooks_timeout_ms = timeout_ms ? timeout_ms : HOOK_TIMEOUT_MS;
	n = sysconf(_SC_OPEN_MAX);
	max_fd = n > 0 && n < 65536 ? (int)n : 65536;
	initialised = true;
	return 0;
}

int
hooks_run(const char *kind, const struct hook_env *env, hooks_done_cb cb,
    void *arg)
{
	static const char *const names[HOOK_NENV - 1] = { "FAILOVERD_EVENT",
	    "FAILOVERD_STATE", "FAILOVERD_PREV_STATE", "FAILOVERD_REASON",
	    "FAILOVERD_NODE", "FAILOVERD_PEER", "FAILOVERD_VIPS",
	    "FAILOVERD_CLUSTER_ID" };
	const struct hook_env none = { 0 };
	const char *values[HOOK_NENV - 1];
	struct hook_job *job;
	char id[16];
	size_t k;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (kind && strcmp(kind, kinds[k]) == 0)
			break;
	if (!initialised || k == sizeof(kinds) / sizeof(kinds[0])) {
		errno = EINVAL;
		return -1;
	}
	if (njobs >= HOOKS_QUEUE_MAX) {
		log_warnx("hooks: %d jobs queued, %s hooks not run", njobs,
		    kind);
		errno = EAGAIN;
		return -1;
	}
	if (env == NULL)
		env = &none;
	snprintf(id, sizeof(id), "%u", env->cluster_id);
	values[0] = env->event ? env->event : kind;
	values[1] = env->state;
	values[2] = env->prev_state;
	values[3] = env->reason;
	values[4] = env->node;
	values[5] = env->peer;
	values[6] = env->vips;
	values[7] = id;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return -1;
	snprintf(job->kind, sizeof(job->kind), "%s", kind);
	job->cb = cb;
	job->arg = arg;
	job->ok = true;
	for (int i = 0; i < HOOK_NENV - 1; i++) {
		if (asprintf(&job->env[i], "%s=%s", names[i],
		    values[i] ? values[i] : "") == -1) {
			job->env[i] = NULL;
			job_free(job);
			return -1;
		}
	}
	if ((job->env[HOOK_NENV - 1] = strdup(HOOK_PATH)) == NULL) {
		job_free(job);
		return -1;
	}
	TAILQ_INSERT_TAIL(&jobs, job, entry);
	njobs++;
	/* start from the loop, never from inside the caller */
	if (cur.phase == HOOK_IDLE)
		loop_timer_set(&kick, now_ms(), kick_cb, NULL);
	return 0;
}

int
hooks_pending(void)
{
	return njobs;
}

/* Bounded wait for the main process (and its group); the daemon is exiting. */
static bool
hook_wait(unsigned ms, bool group)
{
	uint64_t deadline = now_ms() + ms;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (;;) {
		if (hook_reaped() &&
		    (!group || (kill(-cur.pid, 0) == -1 && errno == ESRCH)))
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

void
hooks_finalise(void)
{
	struct hook_job *job;

	if (cur.phase != HOOK_IDLE) {
		log_info("hooks: stopping hook %s", cur.name);
		if (cur.phase != HOOK_KILL)
			hook_signal(SIGTERM);
		if (!hook_wait(HOOK_KILL_MS, true)) {
			log_warnx("hook %s: still running %d ms after SIGTERM, "
			    "sending SIGKILL", cur.name, HOOK_KILL_MS);
			hook_signal(SIGKILL);
			if (!hook_wait(HOOK_KILL_MS, false))
				log_warnx("hook %s: pid %ld survives SIGKILL",
				    cur.name, (long)cur.pid);
		}
		loop_timer_cancel(&cur.timer);
		watch_close();
		output_close();
		cur.phase = HOOK_IDLE;
		cur.job = NULL;
		cur.pid = 0;
	}
	while ((job = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, job, entry);
		job_free(job);
	}
	njobs = 0;
	loop_timer_cancel(&kick);
	initialised = false;
}
