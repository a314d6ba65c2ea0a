/*
 * For unit tests that run real child processes from the event loop (hooks,
 * checks): a scratch directory, stderr capture, running the loop until a
 * condition holds, and the end checks (no zombies, nothing left behind).
 * Include after log.h, loop.h and unit.h.
 */
#ifndef FOD_UNIT_SANDBOX_H
#define FOD_UNIT_SANDBOX_H

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

static char unit_base[64];	/* the scratch directory, /tmp/NAME.XXXXXX */
static int unit_saved_stderr = -1;
static bool unit_deadline_hit;

/* The loop and a fresh /tmp/NAME.XXXXXX. */
static inline void
unit_sandbox_start(const char *name)
{
	if (loop_init() == -1)
		fatal("loop_init");
	snprintf(unit_base, sizeof(unit_base), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(unit_base) == NULL)
		fatal("mkdtemp");
}

/* unit_base/rel (four results live at a time). */
static inline const char *
unit_path(const char *rel)
{
	static char p[4][PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", unit_base, rel);
	return p[k];
}

/* The file rel as a malloc'd string; NULL if absent. */
static inline char *
unit_file(const char *rel)
{
	return unit_slurp(unit_path(rel));
}

static inline bool
unit_exists(const char *rel)
{
	return access(unit_path(rel), F_OK) == 0;
}

/* stderr into the file rel, until unit_capture_stop(). */
static inline void
unit_capture_start(const char *rel)
{
	int fd;

	fflush(stderr);
	if ((unit_saved_stderr = dup(2)) == -1 || (fd = open(unit_path(rel),
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		fatal("capture %s", rel);
	dup2(fd, 2);
	close(fd);
}

/* Returns what was logged (malloc'd); failed CHECKs in it are shown again. */
static inline char *
unit_capture_stop(const char *rel)
{
	char *log, *line, *end;

	fflush(stderr);
	dup2(unit_saved_stderr, 2);
	close(unit_saved_stderr);
	log = unit_file(rel);
	for (line = log; line && *line; line = end + 1) {
		if ((end = strchr(line, '\n')) == NULL)
			break;
		if (strstr(line, ": CHECK") && strstr(line, ": CHECK") < end)
			fprintf(stderr, "%.*s\n", (int)(end - line), line);
	}
	return log;
}

/* A child's environment (the output of `env`) holds only variables
 * starting with prefix, PATH, and the PWD=/ that sh itself sets. */
static inline void
unit_env_only(const char *env, const char *prefix)
{
	for (const char *line = env; line && *line;
	    line = strchr(line, '\n') + 1) {
		bool known = strncmp(line, prefix, strlen(prefix)) == 0 ||
		    strncmp(line, "PATH=", 5) == 0 ||
		    strncmp(line, "PWD=/\n", 6) == 0;
		if (!known)
			fprintf(stderr, "unexpected env: %.*s\n",
			    (int)strcspn(line, "\n"), line);
		CHECK(known);
		if (strchr(line, '\n') == NULL)
			break;
	}
}

static inline void
unit_deadline_cb(void *arg)
{
	unit_deadline_hit = true;
}

/* Runs the loop until cond(arg) holds or ms pass; true if it holds. */
static inline bool
unit_run_until(bool (*cond)(void *), void *arg, unsigned ms)
{
	struct loop_timer t = { 0 };

	unit_deadline_hit = false;
	loop_timer_set(&t, now_ms() + ms, unit_deadline_cb, NULL);
	while (!(cond && cond(arg)) && !unit_deadline_hit)
		if (loop_run_once() == -1)
			fatal("loop_run_once");
	loop_timer_cancel(&t);
	return cond && cond(arg);
}

struct unit_grep {
	const char	*rel;
	const char	*text;		/* NULL: the file exists */
	int		 n;		/* at least this many times */
};

static inline bool
unit_grep_cond(void *arg)
{
	const struct unit_grep *g = arg;
	char *s;
	bool hit;

	fflush(stderr);
	if ((s = unit_file(g->rel)) == NULL)
		return false;
	hit = g->text == NULL || unit_count(s, g->text) >= g->n;
	free(s);
	return hit;
}

static inline void
unit_poll_cb(void *arg)
{
	loop_timer_set(arg, now_ms() + 10, unit_poll_cb, arg);
}

/*
 * Runs the loop until the file rel holds text n times (text NULL: exists)
 * or ms pass; true if it does. Polls: children write files without waking
 * the loop.
 */
static inline bool
unit_wait_file(const char *rel, const char *text, int n, unsigned ms)
{
	struct unit_grep g = { rel, text, n };
	struct loop_timer poll = { 0 };
	bool hit;

	unit_poll_cb(&poll);
	hit = unit_run_until(unit_grep_cond, &g, ms);
	loop_timer_cancel(&poll);
	return hit;
}

static inline int
unit_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Every child was reaped; then the loop and the scratch directory go. */
static inline void
unit_sandbox_end(void)
{
	int status;

	errno = 0;
	CHECK_EQ(waitpid(-1, &status, WNOHANG), -1);
	CHECK_EQ(errno, ECHILD);
	loop_finalise();
	nftw(unit_base, unit_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
