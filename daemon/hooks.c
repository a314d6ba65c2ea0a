/*
 * Non-blocking hook runner (design.md section 7).
 *
 * One job per hooks_run() call. Jobs run strictly one after another, and the
 * hooks of a job one at a time in lexical order, so hooks never overlap and
 * never run out of order. Each hook is a proc.c child (own session, output
 * logged as "hook NAME: ...", timeout enforced on its process group): nothing
 * here ever waits, except hooks_finalise() while the daemon exits.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "proc.h"

#define HOOK_NENV	9		/* the FAILOVERD_* variables and PATH */
#define HOOK_TIMEOUT_MS	30000		/* when hooks_init() is given 0 */
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
	bool			 require_one;	/* fail when no hook ran */
	int			 nrun;
	char			 failed[NAME_MAX + 1];
};

/* The one hook that runs. */
static struct hook_proc {
	struct proc	 proc;
	struct hook_job	*job;
	char		 name[NAME_MAX + 1];
} cur;

static TAILQ_HEAD(, hook_job) jobs = TAILQ_HEAD_INITIALIZER(jobs);
static int njobs;
static bool initialised;
static char hooks_dir[PATH_MAX];
static unsigned hooks_timeout_ms;
static struct loop_timer kick;

static const char *const kinds[] = { "promote", "demote", "notify", "fence" };

static void	hooks_step(void);

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

/* The hook's process is over: log how it ended, go on with the job. */
static void
hook_exited(struct proc *p, const struct proc_result *res, void *arg)
{
	char why[64];

	if (proc_ok(res))
		log_info("hook %s exited with status 0 (%llu ms)", cur.name,
		    (unsigned long long)res->ms);
	else {
		log_warnx("hook %s failed: %s (%llu ms%s)", cur.name,
		    proc_status_str(res, why, sizeof(why)),
		    (unsigned long long)res->ms,
		    res->timed_out ? ", timed out" : "");
		job_fail(cur.job, cur.name);
	}
	cur.job = NULL;
	hooks_step();
}

static int
hook_spawn(struct hook_job *job, const char *name, const char *path)
{
	char *argv[] = { (char *)name, NULL };
	char label[PROC_LABEL_MAX];

	snprintf(label, sizeof(label), "hook %s", name);
	if (proc_spawn(&cur.proc, label, path, argv, job->env, hooks_timeout_ms,
	    0, hook_exited, NULL) == -1)
		return -1;
	cur.job = job;
	snprintf(cur.name, sizeof(cur.name), "%s", name);
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

	while (!proc_running(&cur.proc) && (job = TAILQ_FIRST(&jobs)) != NULL) {
		if (!job->started)
			job_start(job);
		while (job->next < job->nnames) {
			const char *name = job->names[job->next++]->d_name;
			int r = hook_check(job, name, real);

			if (r == 1 && hook_spawn(job, name, real) == 0) {
				job->nrun++;
				return;
			}
			if (r != 0)
				job_fail(job, name);
		}
		if (job->require_one && job->nrun == 0 && job->ok) {
			log_warnx("hooks: no hook to run in %s.d, and one is required",
			    job->kind);
			job_fail(job, "(none)");
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
	if (snprintf(hooks_dir, sizeof(hooks_dir), "%s", dir) >=
	    (int)sizeof(hooks_dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	hooks_timeout_ms = timeout_ms ? timeout_ms : HOOK_TIMEOUT_MS;
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
	job->require_one = env->require_one;
	for (int i = 0; i < HOOK_NENV - 1; i++) {
		if (asprintf(&job->env[i], "%s=%s", names[i],
		    values[i] ? values[i] : "") == -1) {
			job->env[i] = NULL;
			job_free(job);
			return -1;
		}
	}
	if ((job->env[HOOK_NENV - 1] = strdup(PROC_PATH)) == NULL) {
		job_free(job);
		return -1;
	}
	TAILQ_INSERT_TAIL(&jobs, job, entry);
	njobs++;
	/* start from the loop, never from inside the caller */
	if (!proc_running(&cur.proc))
		loop_timer_set(&kick, now_ms(), kick_cb, NULL);
	return 0;
}

int
hooks_count(const char *kind)
{
	char path[PATH_MAX], file[PATH_MAX + 256];
	struct dirent **names;
	struct stat st;
	int n, count = 0;

	if (snprintf(path, sizeof(path), "%s/%s.d", hooks_dir, kind) >=
	    (int)sizeof(path))
		return 0;
	if ((n = scandir(path, &names, hook_name_ok, alphasort)) == -1)
		return 0;
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 0111))
			count++;
		free(names[i]);
	}
	free(names);
	return count;
}

int
hooks_pending(void)
{
	return njobs;
}

void
hooks_finalise(void)
{
	struct proc *p = &cur.proc;
	struct hook_job *job;

	if (proc_running(p)) {
		log_info("hooks: stopping hook %s", cur.name);
		proc_finalise(&p, 1, PROC_KILL_MS);
		cur.job = NULL;
	}
	while ((job = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, job, entry);
		job_free(job);
	}
	njobs = 0;
	loop_timer_cancel(&kick);
	initialised = false;
}
