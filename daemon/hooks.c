/*
 * Non-blocking hook runner (design.md section 7).
 *
 * One job per hooks_run() call, in one of two lanes: promote, demote and
 * fence jobs in the role lane, notify jobs in the notify lane, so that a slow
 * notify hook never delays a promotion. In a lane, jobs run strictly one
 * after another and the hooks of a job one at a time in lexical order, so
 * they never overlap and never run out of order. Each hook is a proc.c child
 * (own session, output logged as "hook NAME: ...", timeout enforced on its
 * process group): nothing here ever waits, except hooks_finalise() while the
 * daemon exits. Memory is fixed: when a lane is full, queued jobs are
 * coalesced (lane_slot()).
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

#include "config.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "proc.h"

#define HOOK_NENV	10		/* the FAILOVERD_* variables and PATH */
#define HOOK_VALUE_MAX	255		/* a value is cut there, but FAILOVERD_VIPS */
#define HOOK_VIPS_MAX	3583		/* CFG_MAX_VIPS addresses */
#define HOOK_ENV_BYTES	6144		/* holds all the variables at their maximum */
#define HOOK_TIMEOUT_MS	30000		/* when hooks_init() is given 0 */

/* 8 variables of up to 20 + 1 + HOOK_VALUE_MAX + 1 bytes, and the VIPs */
_Static_assert(8 * (22 + HOOK_VALUE_MAX) + 16 + HOOK_VIPS_MAX <= HOOK_ENV_BYTES,
    "HOOK_ENV_BYTES too small");

struct hook_job {
	TAILQ_ENTRY(hook_job)	 entry;
	bool			 used;		/* a slot of its lane's pool */
	char			 kind[16];
	char			 group[CFG_NAME_MAX + 1];
	char			 envbuf[HOOK_ENV_BYTES];
	char			*env[HOOK_NENV + 1];
	hooks_done_cb		 cb;
	void			*arg;
	bool			 started;
	bool			 superseded;	/* promote: a demote was queued after it */
	unsigned		 replaced;	/* notify: older transitions it replaced */
	char			*dir;		/* realpath of HOOKS_DIR/<kind>.d */
	struct dirent		**names;	/* scandir(), when the job starts */
	int			 nnames;
	int			 next;		/* next entry of names to run */
	bool			 ok;
	bool			 require_one;	/* fail when no hook ran */
	int			 nrun;
	char			 failed[NAME_MAX + 1];
};

TAILQ_HEAD(hook_jobs, hook_job);

/*
 * A lane runs its jobs strictly one after another, one hook at a time, from
 * a fixed pool (no allocation when a job is queued). Role jobs (promote,
 * demote, fence) and notify jobs have a lane each: a slow notify hook never
 * holds up a promote hook.
 */
struct hook_lane {
	struct hook_job		*pool;
	int			 max;
	struct hook_jobs	 jobs;
	int			 njobs;
	struct proc		 proc;		/* the hook that runs */
	struct hook_job		*job;		/* whose it is */
	char			 hook[NAME_MAX + 1];
	struct loop_timer	 kick;
};

static struct hook_job role_pool[HOOKS_ROLE_MAX];
static struct hook_job notify_pool[HOOKS_NOTIFY_MAX];
static struct hook_lane role_lane = {
	.pool = role_pool, .max = HOOKS_ROLE_MAX,
	.jobs = TAILQ_HEAD_INITIALIZER(role_lane.jobs),
};
static struct hook_lane notify_lane = {
	.pool = notify_pool, .max = HOOKS_NOTIFY_MAX,
	.jobs = TAILQ_HEAD_INITIALIZER(notify_lane.jobs),
};
static bool initialised;
static char hooks_dir[PATH_MAX];
static unsigned hooks_timeout_ms;
static unsigned long skipped;
static struct hooks_stats stats;

static const char *const kinds[HOOKS_NKINDS] = { "promote", "demote", "notify",
	"fence" };
static const char *const results[HOOK_NRESULTS] = { "ok", "failed", "timeout",
	"refused" };
/* from a quick notify hook to a service start that takes minutes */
const unsigned hooks_bucket_ms[HOOKS_NBUCKETS] = { 10, 50, 100, 250, 500,
	1000, 2500, 5000, 10000, 30000, 60000, 120000 };

static void	lane_step(struct hook_lane *);

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

/* Out of its lane, its slot free again; no callback. */
static void
job_drop(struct hook_lane *lane, struct hook_job *job)
{
	TAILQ_REMOVE(&lane->jobs, job, entry);
	lane->njobs--;
	for (int i = 0; i < job->nnames; i++)
		free(job->names[i]);
	free(job->names);
	free(job->dir);
	memset(job, 0, sizeof(*job));
}

static void
job_start(struct hook_job *job)
{
	char path[PATH_MAX], dname[32];

	job->started = true;
	if (job->replaced)
		log_info("hooks: notify hooks of %u transitions skipped (notify.d "
		    "is slow): running those of the newest", job->replaced);
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

/*
 * The job is over: out of the lane, then its callback, unless it no longer
 * applies: a promote job superseded by a demote must neither fault a node
 * that left the active role nor bring up the VIPs of a newer promotion.
 */
static void
job_done(struct hook_lane *lane, struct hook_job *job)
{
	char kind[sizeof(job->kind)], failed[sizeof(job->failed)];
	hooks_done_cb cb = job->superseded ? NULL : job->cb;
	void *arg = job->arg;
	bool ok = job->ok;

	if (job->require_one && job->nrun == 0 && job->ok) {
		log_warnx("hooks: no hook to run in %s.d, and one is required",
		    job->kind);
		job_fail(job, "(none)");
		ok = false;
	}
	if (job->superseded && !ok)
		log_warnx("hooks: promote hook %s failed after this node left "
		    "the active role: not a fault", job->failed);
	log_debug("hooks: %s done: %s%s", job->kind, ok ? "ok" : "failed by ",
	    ok ? "" : job->failed);
	memcpy(kind, job->kind, sizeof(kind));
	memcpy(failed, job->failed, sizeof(failed));
	/* the callback may queue a job in the slot */
	job_drop(lane, job);
	if (cb)
		cb(arg, kind, ok, ok ? NULL : failed);
}

static int
kind_index(const char *kind)
{
	for (int k = 0; k < HOOKS_NKINDS; k++)
		if (strcmp(kind, kinds[k]) == 0)
			return k;
	return -1;
}

/* ms: how long it ran; 0 with a result of a hook that did not run */
static void
count_run(const struct hook_job *job, enum hooks_result r, uint64_t ms)
{
	int k = kind_index(job->kind), b = 0;

	if (k == -1)
		return;
	stats.runs[k][r]++;
	if (r == HOOK_REFUSED)
		return;
	while (b < HOOKS_NBUCKETS && ms > hooks_bucket_ms[b])
		b++;
	stats.bucket[k][b]++;
	stats.sum_ms[k] += ms;
}

/* The hook's process is over: log how it ended, go on with the job. */
static void
hook_exited(struct proc *p, const struct proc_result *res, void *arg)
{
	struct hook_lane *lane = arg;
	char why[64];

	count_run(lane->job, res->timed_out ? HOOK_TIMEOUT : proc_ok(res) ?
	    HOOK_OK : HOOK_FAILED, res->ms);
	if (proc_ok(res))
		log_info("hook %s exited with status 0 (%llu ms)", lane->hook,
		    (unsigned long long)res->ms);
	else {
		log_warnx("hook %s failed: %s (%llu ms%s)", lane->hook,
		    proc_status_str(res, why, sizeof(why)),
		    (unsigned long long)res->ms,
		    res->timed_out ? ", timed out" : "");
		job_fail(lane->job, lane->hook);
	}
	lane->job = NULL;
	lane_step(lane);
}

static int
hook_spawn(struct hook_lane *lane, struct hook_job *job, const char *name,
    const char *path)
{
	char *argv[] = { (char *)name, NULL };
	char label[PROC_LABEL_MAX];

	snprintf(label, sizeof(label), "hook %s", name);
	if (proc_spawn(&lane->proc, label, path, argv, job->env,
	    hooks_timeout_ms, 0, hook_exited, lane) == -1)
		return -1;
	lane->job = job;
	snprintf(lane->hook, sizeof(lane->hook), "%s", name);
	return 0;
}

/*
 * Start the next hook of the lane, or finish jobs until one has a hook to
 * run. Called whenever the lane runs no hook; a callback may queue jobs or
 * even finalise.
 */
static void
lane_step(struct hook_lane *lane)
{
	struct hook_job *job;
	char real[PATH_MAX];

	while (!proc_running(&lane->proc) &&
	    (job = TAILQ_FIRST(&lane->jobs)) != NULL) {
		if (!job->started)
			job_start(job);
		while (job->next < job->nnames) {
			const char *name = job->names[job->next++]->d_name;
			int r = hook_check(job, name, real);

			if (r == 1 && hook_spawn(lane, job, name, real) == 0) {
				job->nrun++;
				return;
			}
			if (r != 0) {
				count_run(job, r == -1 ? HOOK_REFUSED : HOOK_FAILED, 0);
				job_fail(job, name);
			}
		}
		job_done(lane, job);
	}
}

static void
kick_cb(void *arg)
{
	lane_step(arg);
}

/*
 * The role lane is full: a role hook hangs while the node keeps changing
 * roles. Make room, keeping the order and the newest transition: a promote
 * job and the demote job right after it, neither started, stand for an
 * active period none of whose hooks ran, and both go; of two fence jobs in a
 * row, neither started, the older goes (the newer is the one awaited).
 */
static int
role_compact(struct hook_lane *lane)
{
	struct hook_job *a, *b;

	TAILQ_FOREACH(a, &lane->jobs, entry) {
		if (a->started || (b = TAILQ_NEXT(a, entry)) == NULL)
			continue;
		if (strcmp(a->kind, "promote") == 0 &&
		    strcmp(b->kind, "demote") == 0 &&
		    strcmp(a->group, b->group) == 0) {
			log_warnx("hooks: %d promote, demote and fence jobs "
			    "queued: the promote and demote hooks of an earlier "
			    "active period, not started yet, are skipped",
			    lane->njobs);
			job_drop(lane, a);
			job_drop(lane, b);
			skipped += 2;
			return 0;
		}
		if (strcmp(a->kind, "fence") == 0 &&
		    strcmp(b->kind, "fence") == 0 &&
		    strcmp(a->group, b->group) == 0) {
			log_warnx("hooks: %d promote, demote and fence jobs "
			    "queued: an older fence job, not started yet, is "
			    "skipped for a newer one", lane->njobs);
			job_drop(lane, a);
			skipped++;
			return 0;
		}
	}
	return -1;
}

/*
 * A free slot of the lane; when there is none, room is made (never by
 * refusing a role job, nor the newest notify job). NULL: nothing to free.
 */
static struct hook_job *
lane_slot(struct hook_lane *lane, const char *group, unsigned *replaced)
{
	struct hook_job *last, *j;

	*replaced = 0;
	if (lane->njobs < lane->max)
		;
	else if (lane == &notify_lane) {
		/* never the one that runs: HOOKS_NOTIFY_MAX > 1 */
		last = TAILQ_LAST(&lane->jobs, hook_jobs);
		/* the same group's newest news first: others keep theirs */
		TAILQ_FOREACH_REVERSE(j, &lane->jobs, hook_jobs, entry)
			if (!j->started && strcmp(j->group, group) == 0) {
				last = j;
				break;
			}
		*replaced = last->replaced + 1;
		if (*replaced == 1)
			log_warnx("hooks: %d notify jobs queued (notify.d is "
			    "slow): the newest transition's replaces the last "
			    "one queued", lane->njobs);
		job_drop(lane, last);
		skipped++;
	} else if (role_compact(lane) == -1)
		return NULL;
	for (int i = 0; i < lane->max; i++)
		if (!lane->pool[i].used)
			return &lane->pool[i];
	return NULL;
}

/* The variables in the job's own buffer; PATH is a constant. */
static void
job_env(struct hook_job *job, const char *kind, const struct hook_env *env)
{
	static const char *const names[HOOK_NENV - 1] = { "FAILOVERD_EVENT",
	    "FAILOVERD_STATE", "FAILOVERD_PREV_STATE", "FAILOVERD_REASON",
	    "FAILOVERD_NODE", "FAILOVERD_PEER", "FAILOVERD_VIPS",
	    "FAILOVERD_CLUSTER_ID", "FAILOVERD_GROUP" };
	const char *values[HOOK_NENV - 1];
	char id[16];
	size_t off = 0;
	int n;

	snprintf(id, sizeof(id), "%u", env->cluster_id);
	values[0] = env->event ? env->event : kind;
	values[1] = env->state;
	values[2] = env->prev_state;
	values[3] = env->reason;
	values[4] = env->node;
	values[5] = env->peer;
	values[6] = env->vips;
	values[7] = id;
	values[8] = env->group;
	for (int i = 0; i < HOOK_NENV - 1; i++) {
		n = snprintf(job->envbuf + off, sizeof(job->envbuf) - off,
		    "%s=%.*s", names[i], i == 6 ? HOOK_VIPS_MAX : HOOK_VALUE_MAX,
		    values[i] ? values[i] : "");
		job->env[i] = job->envbuf + off;
		off += (size_t)n + 1;	/* fits: see HOOK_ENV_BYTES */
	}
	job->env[HOOK_NENV - 1] = (char *)PROC_PATH;
	job->env[HOOK_NENV] = NULL;
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
	const struct hook_env none = { 0 };
	struct hook_lane *lane;
	struct hook_job *job, *j;
	unsigned replaced;

	if (!initialised || kind == NULL || kind_index(kind) == -1) {
		errno = EINVAL;
		return -1;
	}
	lane = strcmp(kind, "notify") == 0 ? &notify_lane : &role_lane;
	if ((job = lane_slot(lane, env && env->group ? env->group : "",
	    &replaced)) == NULL) {
		log_warnx("hooks: %d jobs queued, %s hooks not run", lane->njobs,
		    kind);
		errno = EAGAIN;
		return -1;
	}
	if (env == NULL)
		env = &none;
	job->used = true;
	snprintf(job->kind, sizeof(job->kind), "%s", kind);
	snprintf(job->group, sizeof(job->group), "%s",
	    env->group ? env->group : "");
	job_env(job, kind, env);
	job->cb = cb;
	job->arg = arg;
	job->ok = true;
	job->require_one = env->require_one;
	job->replaced = replaced;
	/* the group left the active role: its earlier promote jobs no longer apply */
	if (strcmp(kind, "demote") == 0)
		TAILQ_FOREACH(j, &lane->jobs, entry)
			if (strcmp(j->kind, "promote") == 0 &&
			    strcmp(j->group, job->group) == 0)
				j->superseded = true;
	TAILQ_INSERT_TAIL(&lane->jobs, job, entry);
	lane->njobs++;
	/* start from the loop, never from inside the caller */
	if (!proc_running(&lane->proc))
		loop_timer_set(&lane->kick, now_ms(), kick_cb, lane);
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
	return role_lane.njobs + notify_lane.njobs;
}

unsigned long
hooks_skipped(void)
{
	return skipped;
}

void
hooks_get_stats(struct hooks_stats *out)
{
	*out = stats;
}

const char *
hooks_kind_name(int kind)
{
	return kind >= 0 && kind < HOOKS_NKINDS ? kinds[kind] : "?";
}

const char *
hooks_result_name(enum hooks_result r)
{
	return (unsigned)r < HOOK_NRESULTS ? results[r] : "?";
}

void
hooks_finalise(void)
{
	struct hook_lane *lanes[] = { &role_lane, &notify_lane };
	struct proc *procs[] = { &role_lane.proc, &notify_lane.proc };
	struct hook_job *job;

	for (int i = 0; i < 2; i++)
		if (proc_running(procs[i]))
			log_info("hooks: stopping hook %s", lanes[i]->hook);
	/* both at once: the daemon waits for the slower only */
	proc_finalise(procs, 2, PROC_KILL_MS);
	for (int i = 0; i < 2; i++) {
		lanes[i]->job = NULL;
		while ((job = TAILQ_FIRST(&lanes[i]->jobs)) != NULL)
			job_drop(lanes[i], job);
		loop_timer_cancel(&lanes[i]->kick);
	}
	initialised = false;
}
