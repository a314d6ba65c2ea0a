/*
 * Hook runner: real scripts in a mkdtemp() directory, run as real child
 * processes by a local event loop. Works as root and as any other user.
 *
 * The test process makes itself a child subreaper: a hook's background
 * children, orphaned when the hook dies, come to us instead of PID 1, so
 * that "gone" can be checked exactly (kill(pid, 0) == ESRCH after we reap
 * them) even where PID 1 does not reap (containers, sandboxes).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "unit.h"
#include "unit_sandbox.h"

#define FOD_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


struct result {
	int	done;
	int	order;
	bool	ok;
	bool	failed_null;
	char	failed[256];
	char	kind[16];
};
static int ndone;

static void
done_cb(void *arg, const char *kind, bool ok, const char *failed)
{
	struct result *r = arg;

	r->done++;
	r->order = ++ndone;
	r->ok = ok;
	r->failed_null = failed == NULL;
	snprintf(r->failed, sizeof(r->failed), "%s", failed ? failed : "");
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
}

/* ---- files ---- */

static void
make_dir(const char *rel, mode_t mode)
{
	const char *p = unit_path(rel);

	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s", p);
	if (chmod(p, mode) == -1)
		fatal("chmod %s", p);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	/* O_CLOEXEC: a writer open in any child would make execve fail (ETXTBSY) */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		fatal("open %s", path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fatal("write %s", path);
	close(fd);
	if (chmod(path, mode) == -1)
		fatal("chmod %s", path);
}

/* A /bin/sh hook at base/rel; BASE in the body is replaced by the scratch dir. */
static void
hook(const char *rel, mode_t mode, const char *body)
{
	char p[PATH_MAX], text[8192];
	size_t n;

	snprintf(p, sizeof(p), "%s", unit_path(rel));
	n = (size_t)snprintf(text, sizeof(text), "#!/bin/sh\n");
	unit_expand(text + n, sizeof(text) - n, body, unit_base);
	write_file(p, text, mode);
}

static pid_t
read_pid(const char *rel)
{
	char *s = unit_file(rel);
	pid_t pid = s ? (pid_t)atoi(s) : 0;

	free(s);
	return pid;
}

#define count unit_count

/* ---- the loop ---- */

static int ticks;
static pid_t orphan;		/* 0: unknown yet; -1: reaped */

static bool
flag_set(void *flag)
{
	return *(const int *)flag != 0;
}

/* Run the loop until *flag is non-zero or ms pass; true if the flag was set. */
static bool
run_until(const int *flag, unsigned ms)
{
	return unit_run_until(flag_set, (void *)flag, ms);
}

static struct loop_timer tick;

/* Counts firings; reaps the hook's orphaned background child, as PID 1 would. */
static void
tick_cb(void *arg)
{
	ticks++;
	if (orphan == 0 && unit_exists("bg.pid"))
		orphan = read_pid("bg.pid");
	if (orphan > 0 && waitpid(orphan, NULL, WNOHANG) > 0)
		orphan = -1;
	loop_timer_set(&tick, now_ms() + 10, tick_cb, NULL);
}

/* Reaps pid if it is our (orphaned) child; true once it no longer exists. */
static bool
gone(pid_t pid, unsigned ms)
{
	uint64_t deadline = now_ms() + ms;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (pid <= 0)
		return false;
	for (;;) {
		waitpid(pid, NULL, WNOHANG);
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

static const struct hook_env env_a = {
	.event = "promote", .state = "active", .prev_state = "standby",
	.reason = "peer-dead", .node = "alpha", .peer = "beta",
	.vips = "192.0.2.10/24 2001:db8::10/64", .cluster_id = 7,
};

static void
init_dir(const char *rel, unsigned timeout_ms)
{
	const char *p = unit_path(rel);

	CHECK_EQ(hooks_init(p, timeout_ms), 0);
}

/* ---- tests ---- */

/* Runs of kind k counted since *before (histogram: every bucket). */
static uint64_t
stats_runs(const struct hooks_stats *before, int k, enum hooks_result r)
{
	struct hooks_stats now;

	hooks_get_stats(&now);
	return now.runs[k][r] - before->runs[k][r];
}

static uint64_t
stats_timed(const struct hooks_stats *before, int k)
{
	struct hooks_stats now;
	uint64_t n = 0;

	hooks_get_stats(&now);
	for (int b = 0; b <= HOOKS_NBUCKETS; b++)
		n += now.bucket[k][b] - before->bucket[k][b];
	return n;
}

enum { K_PROMOTE, K_DEMOTE, K_NOTIFY, K_FENCE };

static void
test_env(void)
{
	struct result r = { 0 };
	char body[1024], *s;
	int leak, pid = 0, pgrp = -1, sid = -2;

	make_dir("h1", 0755);
	make_dir("h1/notify.d", 0755);
	/* a descriptor the daemon forgot to mark close-on-exec */
	if ((leak = open("/dev/null", O_RDONLY)) == -1)
		fatal("open");
	snprintf(body, sizeof(body),
	    "env > BASE/env.out\n"
	    "echo \"$$ $(cut -d' ' -f5,6 /proc/$$/stat)\" > BASE/ids.out\n"
	    "readlink /proc/$$/fd/0 > BASE/stdin.out\n"
	    "if [ -e /proc/$$/fd/%d ]; then echo leaked; else echo closed; fi"
	    " > BASE/fd.out\n", leak);
	hook("h1/notify.d/10-env", 0755, body);
	setenv("FOD_TEST_SECRET", "1", 1);

	init_dir("h1", 5000);
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &r), 0);
	CHECK(run_until(&r.done, 5000));
	close(leak);
	CHECK(r.ok);
	CHECK(r.failed_null);
	CHECK_STR(r.kind, "notify");

	s = unit_file("env.out");
	CHECK(s != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_EVENT=promote\n") != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_STATE=active\n") != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_PREV_STATE=standby\n") != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_REASON=peer-dead\n") != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_NODE=alpha\n") != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_PEER=beta\n") != NULL);
	CHECK(strstr(s ? s : "",
	    "FAILOVERD_VIPS=192.0.2.10/24 2001:db8::10/64\n") != NULL);
	CHECK(strstr(s ? s : "", "FAILOVERD_CLUSTER_ID=7\n") != NULL);
	CHECK(strstr(s ? s : "", FOD_PATH "\n") != NULL);
	CHECK(strstr(s ? s : "", "FOD_TEST_SECRET") == NULL);
	/* nothing else, but the PWD that sh itself sets */
	unit_env_only(s, "FAILOVERD_");
	free(s);

	/* own session and process group */
	s = unit_file("ids.out");
	CHECK(s && sscanf(s, "%d %d %d", &pid, &pgrp, &sid) == 3);
	CHECK(pid > 0);
	CHECK_EQ(pgrp, pid);
	CHECK_EQ(sid, pid);
	free(s);
	s = unit_file("stdin.out");
	CHECK_STR(s, "/dev/null\n");
	free(s);
	s = unit_file("fd.out");
	CHECK_STR(s, "closed\n");
	free(s);
	unsetenv("FOD_TEST_SECRET");
}

static void
test_order(void)
{
	struct result r = { 0 };
	char *s;

	make_dir("h1/promote.d", 0755);
	hook("h1/promote.d/30-c", 0755, "echo 30-c >> BASE/order.out\n");
	hook("h1/promote.d/10-a", 0755, "echo 10-a >> BASE/order.out\n");
	hook("h1/promote.d/20-b", 0755, "echo 20-b >> BASE/order.out\n");
	/* never run: hidden, backup, example, package leftovers, not executable */
	hook("h1/promote.d/.hidden", 0755, "echo BAD >> BASE/order.out\n");
	hook("h1/promote.d/15-x~", 0755, "echo BAD >> BASE/order.out\n");
	hook("h1/promote.d/25-y.example", 0755, "echo BAD >> BASE/order.out\n");
	hook("h1/promote.d/26-z.dpkg-old", 0755, "echo BAD >> BASE/order.out\n");
	hook("h1/promote.d/27-w.rpmnew", 0755, "echo BAD >> BASE/order.out\n");
	hook("h1/promote.d/28-noexec", 0644, "echo BAD >> BASE/order.out\n");
	make_dir("h1/promote.d/29-dir", 0755);

	CHECK_EQ(hooks_run("promote", &env_a, done_cb, &r), 0);
	CHECK_EQ(hooks_pending(), 1);
	CHECK(run_until(&r.done, 5000));
	CHECK(r.ok);
	CHECK_EQ(hooks_pending(), 0);
	s = unit_file("order.out");
	CHECK_STR(s, "10-a\n20-b\n30-c\n");
	free(s);
}

static void
test_two_jobs(void)
{
	struct result ra = { 0 }, rb = { 0 };
	struct hook_env ea = env_a, eb = env_a;
	char *s;

	make_dir("h1/demote.d", 0755);
	hook("h1/demote.d/10-first", 0755,
	    "echo \"start $FAILOVERD_REASON 10\" >> BASE/jobs.out\n"
	    "sleep 0.1\n"
	    "echo \"end $FAILOVERD_REASON 10\" >> BASE/jobs.out\n");
	hook("h1/demote.d/20-second", 0755,
	    "echo \"start $FAILOVERD_REASON 20\" >> BASE/jobs.out\n"
	    "sleep 0.1\n"
	    "echo \"end $FAILOVERD_REASON 20\" >> BASE/jobs.out\n");
	ea.reason = "a";
	eb.reason = "b";
	ndone = 0;
	CHECK_EQ(hooks_run("demote", &ea, done_cb, &ra), 0);
	CHECK_EQ(hooks_run("demote", &eb, done_cb, &rb), 0);
	CHECK_EQ(hooks_pending(), 2);
	CHECK(run_until(&rb.done, 10000));
	CHECK_EQ(ra.done, 1);
	CHECK_EQ(rb.done, 1);
	CHECK_EQ(ra.order, 1);
	CHECK_EQ(rb.order, 2);
	CHECK(ra.ok && rb.ok);
	s = unit_file("jobs.out");
	CHECK_STR(s, "start a 10\nend a 10\nstart a 20\nend a 20\n"
	    "start b 10\nend b 10\nstart b 20\nend b 20\n");
	free(s);

	/* only the four documented kinds; nothing queued on error */
	CHECK_EQ(hooks_run("bogus", &ea, done_cb, &ra), -1);
	CHECK_EQ(hooks_run("../promote", &ea, done_cb, &ra), -1);
	CHECK_EQ(hooks_pending(), 0);
}

/* Runs kind.d of dir, with the log captured; returns the log. */
static char *
run_kind_captured(const char *dir, const char *kind, struct result *r,
    unsigned ms)
{
	char *log;

	init_dir(dir, 10000);
	unit_capture_start("log.out");
	if (hooks_run(kind, &env_a, done_cb, r) == 0)
		run_until(&r->done, ms);
	log = unit_capture_stop("log.out");
	CHECK_EQ(r->done, 1);
	return log;
}

static char *
run_captured(const char *dir, struct result *r, unsigned ms)
{
	return run_kind_captured(dir, "notify", r, ms);
}

static void
test_failure(void)
{
	struct result r = { 0 };
	char p[PATH_MAX], *log;
	struct hooks_stats st;

	hooks_get_stats(&st);
	CHECK_STR(hooks_kind_name(K_PROMOTE), "promote");
	CHECK_STR(hooks_kind_name(K_FENCE), "fence");
	CHECK_STR(hooks_result_name(HOOK_TIMEOUT), "timeout");

	make_dir("h2", 0755);
	make_dir("h2/promote.d", 0755);
	hook("h2/promote.d/10-ok", 0755, "exit 0\n");
	hook("h2/promote.d/20-bad", 0755, "exit 3\n");
	hook("h2/promote.d/30-bad2", 0755, "kill -USR1 $$\n");
	hook("h2/promote.d/40-after", 0755, "touch BASE/after.out\n");
	/* no #! line: execve() fails with ENOEXEC */
	snprintf(p, sizeof(p), "%s", unit_path("h2/promote.d/50-noshebang"));
	write_file(p, "touch BASE/noshebang.out\n", 0755);
	log = run_kind_captured("h2", "promote", &r, 5000);
	CHECK(!r.ok);
	CHECK_STR(r.failed, "20-bad");
	/* the rest still ran */
	CHECK(unit_exists("after.out"));
	CHECK(!unit_exists("noshebang.out"));
	CHECK(strstr(log, "hook 20-bad failed: exit status 3 (") != NULL);
	CHECK(strstr(log, "hook 30-bad2 failed: killed by signal 10 (") != NULL);
	CHECK(strstr(log, "hook 50-noshebang: cannot execute ") != NULL);
	CHECK(strstr(log, "hook 50-noshebang failed: exit status 126 (") != NULL);
	free(log);
	/* counted: 2 ok, 3 failed, every one of them timed */
	CHECK_EQ(stats_runs(&st, K_PROMOTE, HOOK_OK), 2);
	CHECK_EQ(stats_runs(&st, K_PROMOTE, HOOK_FAILED), 3);
	CHECK_EQ(stats_runs(&st, K_PROMOTE, HOOK_TIMEOUT), 0);
	CHECK_EQ(stats_timed(&st, K_PROMOTE), 5);
	CHECK_EQ(stats_timed(&st, K_NOTIFY), 0);
}

static struct result chained;

/* As the daemon does: a job's callback queues the next job. */
static void
chain_cb(void *arg, const char *kind, bool ok, const char *failed)
{
	done_cb(arg, kind, ok, failed);
	CHECK_EQ(hooks_pending(), 0);
	CHECK_EQ(hooks_run("promote", &env_a, done_cb, &chained), 0);
}

static void
test_chained(void)
{
	struct result r = { 0 };

	init_dir("h2", 5000);
	CHECK_EQ(hooks_run("fence", &env_a, chain_cb, &r), 0);
	CHECK(run_until(&chained.done, 5000));
	CHECK_EQ(r.done, 1);
	CHECK_EQ(chained.done, 1);
	CHECK(!chained.ok);
	CHECK_STR(chained.failed, "20-bad");
	CHECK_EQ(hooks_pending(), 0);
}

static void
test_missing_dir(void)
{
	struct result r = { 0 }, r2 = { 0 };

	/* h2 has no fence.d; h-none does not exist at all */
	CHECK_EQ(hooks_run("fence", &env_a, done_cb, &r), 0);
	CHECK(run_until(&r.done, 2000));
	CHECK(r.ok);
	CHECK(r.failed_null);
	init_dir("h-none", 5000);
	CHECK_EQ(hooks_run("notify", NULL, done_cb, &r2), 0);
	CHECK(run_until(&r2.done, 2000));
	CHECK(r2.ok);
}

/*
 * Runs a job whose hook hangs; returns its duration in ms. The repeating
 * 10 ms timer must keep firing meanwhile: the loop is never blocked.
 */
static uint64_t
run_hanging(const char *dir, const char *body, const char *name,
    pid_t *leader, pid_t *bg)
{
	struct result r = { 0 };
	char rel[PATH_MAX];
	uint64_t start, ms;
	int before;
	struct hooks_stats st;

	hooks_get_stats(&st);
	make_dir(dir, 0755);
	snprintf(rel, sizeof(rel), "%s/notify.d", dir);
	make_dir(rel, 0755);
	snprintf(rel, sizeof(rel), "%s/notify.d/%s", dir, name);
	hook(rel, 0755, body);
	init_dir(dir, 200);

	orphan = 0;
	before = ticks;
	loop_timer_set(&tick, now_ms() + 10, tick_cb, NULL);
	start = now_ms();
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &r), 0);
	CHECK(run_until(&r.done, 10000));
	ms = now_ms() - start;
	loop_timer_cancel(&tick);
	CHECK_EQ(r.done, 1);
	CHECK(!r.ok);
	CHECK_STR(r.failed, name);
	CHECK_EQ(stats_runs(&st, K_NOTIFY, HOOK_TIMEOUT), 1);
	CHECK_EQ(stats_runs(&st, K_NOTIFY, HOOK_FAILED), 0);
	CHECK_EQ(stats_timed(&st, K_NOTIFY), 1);
	CHECK(ms >= 200);
	/* 10 ms timer: at least half of the expected firings */
	CHECK(ticks - before >= (int)(ms / 10 / 2));
	CHECK(ticks - before >= 10);
	*leader = read_pid("leader.pid");
	*bg = read_pid("bg.pid");
	CHECK(*leader > 0 && *bg > 0);
	CHECK(gone(*leader, 3000));
	CHECK(gone(*bg, 3000));
	unlink(unit_path("leader.pid"));
	unlink(unit_path("bg.pid"));
	return ms;
}

static void
test_timeout(void)
{
	pid_t leader, bg;
	uint64_t ms;

	/* obeys SIGTERM, as does its background child: no SIGKILL needed */
	ms = run_hanging("h3",
	    "sleep 60 &\n"
	    "echo $! > BASE/bg.pid\n"
	    "echo $$ > BASE/leader.pid\n"
	    "exec sleep 60\n", "10-slow", &leader, &bg);
	CHECK(ms < 1900);

	/* ignores SIGTERM: SIGKILL to the whole group 2 s later */
	ms = run_hanging("h4",
	    "trap '' TERM\n"
	    "sleep 60 &\n"
	    "echo $! > BASE/bg.pid\n"
	    "echo $$ > BASE/leader.pid\n"
	    "exec sleep 60\n", "10-stubborn", &leader, &bg);
	CHECK(ms >= 2150);
	CHECK(ms < 6000);

	/* the main process obeys, its background child does not */
	ms = run_hanging("h5",
	    "(trap '' TERM; exec sleep 60) &\n"
	    "echo $! > BASE/bg.pid\n"
	    "echo $$ > BASE/leader.pid\n"
	    "exec sleep 60\n", "10-straggler", &leader, &bg);
	CHECK(ms >= 2150);
	CHECK(ms < 6000);
}


/*
 * The daemon blocks signals (signalfd) and ignores SIGPIPE; hooks must start
 * with neither. cat, not sh: dash clears its signal mask itself.
 */
static void
test_signals(void)
{
	struct result r = { 0 };
	char p[PATH_MAX], *log;
	sigset_t block, old;

	make_dir("h14", 0755);
	make_dir("h14/notify.d", 0755);
	snprintf(p, sizeof(p), "%s", unit_path("h14/notify.d/10-status"));
	write_file(p, "#!/bin/cat /proc/self/status\n", 0755);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	log = run_captured("h14", &r, 5000);
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK(r.ok);
	CHECK(strstr(log, "hook 10-status: SigBlk:\t0000000000000000\n") != NULL);
	CHECK(strstr(log, "hook 10-status: SigIgn:\t0000000000000000\n") != NULL);
	free(log);
}

static void
test_refused_files(void)
{
	struct result r = { 0 };
	char p[PATH_MAX], *log;
	struct hooks_stats st;

	hooks_get_stats(&st);
	make_dir("h6", 0755);
	make_dir("h6/notify.d", 0755);
	hook("h6/notify.d/10-ww", 0777, "touch BASE/ww.out\n");
	hook("h6/notify.d/12-gw", 0775, "touch BASE/gw.out\n");
	hook("h6/notify.d/20-ok", 0755, "touch BASE/ok.out\n");
	if (geteuid() == 0) {
		hook("h6/notify.d/15-nobody", 0755, "touch BASE/nobody.out\n");
		snprintf(p, sizeof(p), "%s", unit_path("h6/notify.d/15-nobody"));
		if (chown(p, 65534, 65534) == -1)
			fatal("chown");
	}
	log = run_captured("h6", &r, 5000);
	CHECK(!r.ok);
	CHECK_STR(r.failed, "10-ww");
	CHECK(!unit_exists("ww.out"));
	CHECK(!unit_exists("gw.out"));
	CHECK(unit_exists("ok.out"));
	CHECK(strstr(log, "10-ww refused: file ") != NULL);
	CHECK(strstr(log, "10-ww is writable by group or others (mode 0777)") != NULL);
	CHECK(strstr(log, "12-gw is writable by group or others (mode 0775)") != NULL);
	if (geteuid() == 0) {
		CHECK(!unit_exists("nobody.out"));
		CHECK(strstr(log, "15-nobody is owned by uid 65534, not by root")
		    != NULL);
	}
	free(log);
	/* refused ones never ran: not timed */
	CHECK_EQ(stats_runs(&st, K_NOTIFY, HOOK_REFUSED), geteuid() == 0 ? 3 : 2);
	CHECK_EQ(stats_runs(&st, K_NOTIFY, HOOK_OK), 1);
	CHECK_EQ(stats_timed(&st, K_NOTIFY), 1);
}

static void
test_refused_dirs(void)
{
	struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 }, r5 = { 0 };
	char p[PATH_MAX], target[PATH_MAX], *log;

	/* a group-writable directory on the path, above the hooks dir */
	make_dir("h7", 0775);
	make_dir("h7/hooks", 0755);
	make_dir("h7/hooks/notify.d", 0755);
	hook("h7/hooks/notify.d/10-x", 0755, "touch BASE/h7.out\n");
	log = run_captured("h7/hooks", &r1, 5000);
	CHECK(!r1.ok);
	CHECK_STR(r1.failed, "10-x");
	CHECK(!unit_exists("h7.out"));
	CHECK(strstr(log, "10-x refused: directory ") != NULL);
	CHECK(strstr(log, "/h7 is writable by group or others (mode 0775)") != NULL);
	free(log);

	/* the notify.d directory itself */
	make_dir("h8", 0755);
	make_dir("h8/notify.d", 0777);
	hook("h8/notify.d/10-x", 0755, "touch BASE/h8.out\n");
	log = run_captured("h8", &r2, 5000);
	CHECK(!r2.ok);
	CHECK(!unit_exists("h8.out"));
	CHECK(strstr(log, "/h8/notify.d is writable by group or others") != NULL);
	free(log);

	/* a symlink to a hook in an unsafe directory: the target's path counts */
	make_dir("unsafe", 0777);
	hook("unsafe/real", 0755, "touch BASE/h9.out\n");
	make_dir("h9", 0755);
	make_dir("h9/notify.d", 0755);
	snprintf(target, sizeof(target), "%s", unit_path("unsafe/real"));
	snprintf(p, sizeof(p), "%s", unit_path("h9/notify.d/10-link"));
	if (symlink(target, p) == -1)
		fatal("symlink");
	log = run_captured("h9", &r3, 5000);
	CHECK(!r3.ok);
	CHECK_STR(r3.failed, "10-link");
	CHECK(!unit_exists("h9.out"));
	CHECK(strstr(log, "/unsafe is writable by group or others") != NULL);
	free(log);

	/* a symlink to a safe hook, in an unsafe directory: the link's path counts */
	make_dir("safe", 0755);
	hook("safe/real", 0755, "touch BASE/h13.out\n");
	make_dir("h13", 0755);
	make_dir("h13/notify.d", 0777);
	snprintf(target, sizeof(target), "%s", unit_path("safe/real"));
	snprintf(p, sizeof(p), "%s", unit_path("h13/notify.d/10-link"));
	if (symlink(target, p) == -1)
		fatal("symlink");
	log = run_captured("h13", &r5, 5000);
	CHECK(!r5.ok);
	CHECK_STR(r5.failed, "10-link");
	CHECK(!unit_exists("h13.out"));
	CHECK(strstr(log, "/h13/notify.d is writable by group or others") != NULL);
	free(log);

	/* a world-writable directory with the sticky bit (like /tmp) is fine */
	make_dir("h10", 01777);
	make_dir("h10/notify.d", 0755);
	hook("h10/notify.d/10-x", 0755, "touch BASE/h10.out\n");
	log = run_captured("h10", &r4, 5000);
	CHECK(r4.ok);
	CHECK(unit_exists("h10.out"));
	free(log);
}

static void
test_output(void)
{
	struct result r = { 0 };
	char *log, *line, *next;
	size_t longest = 0;
	int flood;

	make_dir("h11", 0755);
	make_dir("h11/notify.d", 0755);
	hook("h11/notify.d/10-talk", 0755,
	    "echo 'hello world'\n"
	    "echo 'to stderr' >&2\n"
	    "printf 'bell\\007here\\r\\n'\n"
	    "printf '%05000d\\n' 0\n"
	    /* 1 MB: the hook must not block on a full pipe */
	    "yes 'flood line' | head -c 1000000\n");
	hook("h11/notify.d/20-tail", 0755, "printf 'last words'\n");
	log = run_captured("h11", &r, 10000);
	CHECK(r.ok);
	CHECK(strstr(log, "hook 10-talk: hello world\n") != NULL);
	CHECK(strstr(log, "hook 10-talk: to stderr\n") != NULL);
	CHECK(strstr(log, "hook 10-talk: bell?here\n") != NULL);
	CHECK(strstr(log, "hook 10-talk: 0000000000") != NULL);
	CHECK(strstr(log, "hook 20-tail: last words\n") != NULL);
	CHECK(strstr(log, "hook 10-talk exited with status 0") != NULL);
	/* bounded: one warning, about 64 KiB of the 1 MB logged, short lines */
	CHECK_EQ(count(log, "bytes of output, the rest is dropped"), 1);
	flood = count(log, "hook 10-talk: flood line\n");
	CHECK(flood > 1000);
	CHECK(flood < 70000 / 11);
	for (line = log; line && *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if ((size_t)(next - line) > longest)
			longest = (size_t)(next - line);
	}
	CHECK(longest < 600);
	free(log);
}

/*
 * A background child that keeps the output pipe open does not hold the job
 * up, and what the hook wrote before exiting is all logged.
 */
static void
test_background(void)
{
	struct result r = { 0 };
	uint64_t start, ms;
	char *log;

	make_dir("h15", 0755);
	make_dir("h15/notify.d", 0755);
	hook("h15/notify.d/10-burst", 0755,
	    "seq -f 'line %g' 0 2999 > BASE/burst.txt\n"
	    "sleep 3 &\n"
	    "echo $! > BASE/burst.pid\n"
	    /* 30 KB at once: still in the pipe when the exit is noticed */
	    "cat BASE/burst.txt\n"
	    "echo 'final words'\n");
	start = now_ms();
	log = run_captured("h15", &r, 5000);
	ms = now_ms() - start;
	CHECK(r.ok);
	CHECK(ms < 2000);
	CHECK_EQ(count(log, "hook 10-burst: line "), 3000);
	CHECK(strstr(log, "hook 10-burst: line 2999\n") != NULL);
	CHECK(strstr(log, "hook 10-burst: final words\n") != NULL);
	CHECK(gone(read_pid("burst.pid"), 5000));
	free(log);
}

/*
 * A background process that writes after its hook exited is logged and
 * does not die of SIGPIPE; the job was over when the hook exited.
 */
static void
test_background_writer(void)
{
	struct result r = { 0 };
	char *log, *s;

	make_dir("h19", 0755);
	make_dir("h19/notify.d", 0755);
	hook("h19/notify.d/10-bg", 0755,
	    "(sleep 0.5; echo 'from the background'; echo $? > BASE/bg19.status) &\n"
	    "echo $! > BASE/bg19.pid\n"
	    "echo 'hook done'\n");
	init_dir("h19", 5000);
	unit_capture_start("log19.out");
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &r), 0);
	CHECK(run_until(&r.done, 5000));
	CHECK(unit_wait_file("bg19.status", "\n", 1, 5000));
	CHECK(unit_wait_file("log19.out", "hook 10-bg: from the background\n", 1,
	    5000));
	log = unit_capture_stop("log19.out");
	CHECK(r.ok);
	s = unit_file("bg19.status");
	CHECK_STR(s, "0\n");
	free(s);
	CHECK(strstr(log, "hook 10-bg: hook done\n") != NULL);
	CHECK(strstr(log, "hook 10-bg exited with status 0") != NULL &&
	    strstr(log, "hook 10-bg exited with status 0") <
	    strstr(log, "hook 10-bg: from the background"));
	CHECK(strstr(log, "no longer reading") == NULL);
	CHECK(gone(read_pid("bg19.pid"), 3000));
	free(log);
}

/*
 * What a hook leaves running is read for at most the hook timeout and
 * PROC_LINGER_BYTES after the hook exited; then its pipe is closed.
 */
static void
test_background_bounds(void)
{
	struct result r = { 0 };
	uint64_t start;
	pid_t hold;
	char *log;

	make_dir("h20", 0755);
	make_dir("h20/notify.d", 0755);
	hook("h20/notify.d/10-hold", 0755,
	    "sleep 30 &\n"
	    "echo $! > BASE/hold20.pid\n");
	hook("h20/notify.d/20-flood", 0755,
	    "(sleep 0.2; exec head -c 3000000 /dev/zero) &\n"
	    "echo $! > BASE/flood20.pid\n");
	init_dir("h20", 2000);
	unit_capture_start("log20.out");
	start = now_ms();
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &r), 0);
	CHECK(run_until(&r.done, 5000));
	CHECK(unit_wait_file("log20.out", "hook 20-flood: more than 1048576 "
	    "bytes of output after the run; no longer reading it", 1, 5000));
	CHECK(unit_wait_file("log20.out", "hook 10-hold: output still open ",
	    1, 5000));
	CHECK(now_ms() - start >= 2000);
	log = unit_capture_stop("log20.out");
	CHECK(r.ok);
	CHECK_EQ(count(log, "hook 20-flood: more than 65536 bytes of output, "
	    "the rest is dropped"), 1);
	CHECK(gone(read_pid("flood20.pid"), 3000));	/* SIGPIPE */
	hold = read_pid("hold20.pid");
	CHECK(hold > 0);
	if (hold > 0)
		kill(hold, SIGKILL);
	CHECK(gone(hold, 3000));
	free(log);
}

/*
 * A notify hook that hangs holds up no promote or demote hook, and no job
 * is refused: past 8 notify jobs, the newest replaces the last one queued,
 * so that the newest transition is still notified.
 */
static void
test_notify_lane(void)
{
	enum { T = HOOKS_NOTIFY_MAX + 32, KEPT = HOOKS_NOTIFY_MAX - 2 };
	static struct result rn[T + 1], rr[T + 1];
	struct hook_env e = env_a;
	char reason[16], want[8192], notes[2048], *s, *log;
	unsigned long skipped0 = hooks_skipped();
	size_t off = 0;
	int i;

	make_dir("h16", 0755);
	make_dir("h16/notify.d", 0755);
	make_dir("h16/promote.d", 0755);
	make_dir("h16/demote.d", 0755);
	hook("h16/notify.d/10-note", 0755,
	    "echo \"$FAILOVERD_REASON\" >> BASE/notes16.out\n"
	    "[ \"$FAILOVERD_REASON\" = hang ] || exit 0\n"
	    "echo $$ > BASE/hang16.pid\n"
	    "while [ ! -e BASE/release16 ]; do sleep 0.02; done\n");
	hook("h16/promote.d/10-p", 0755,
	    "echo \"$FAILOVERD_EVENT $FAILOVERD_REASON\" >> BASE/roles16.out\n");
	hook("h16/demote.d/10-d", 0755,
	    "echo \"$FAILOVERD_EVENT $FAILOVERD_REASON\" >> BASE/roles16.out\n");
	init_dir("h16", 20000);
	unit_capture_start("log16.out");
	e.reason = "hang";
	CHECK_EQ(hooks_run("notify", &e, done_cb, &rn[0]), 0);
	CHECK(unit_wait_file("hang16.pid", "\n", 1, 5000));

	/* T transitions, each with a notify job and a role job */
	for (i = 1; i <= T; i++) {
		snprintf(reason, sizeof(reason), "t%d", i);
		e.reason = reason;
		e.event = i % 2 ? "promote" : "demote";
		CHECK_EQ(hooks_run("notify", &e, done_cb, &rn[i]), 0);
		CHECK_EQ(hooks_run(e.event, &e, done_cb, &rr[i]), 0);
		off += (size_t)snprintf(want + off, sizeof(want) - off,
		    "%s t%d\n", e.event, i);
		if (!unit_wait_file("roles16.out", "\n", i, 5000))
			break;
	}
	CHECK_EQ(i, T + 1);	/* each role job ran at once */
	s = unit_file("roles16.out");
	CHECK_STR(s, want);
	free(s);
	CHECK(run_until(&rr[T].done, 5000));
	CHECK(rr[T].ok);
	/* the running one, t1..tKEPT queued, tT in place of the others */
	CHECK_EQ(hooks_pending(), HOOKS_NOTIFY_MAX);
	CHECK_EQ(hooks_skipped() - skipped0, T - KEPT - 1);

	write_file(unit_path("release16"), "", 0644);
	CHECK(run_until(&rn[T].done, 5000));
	log = unit_capture_stop("log16.out");
	CHECK_EQ(hooks_pending(), 0);
	s = unit_file("notes16.out");
	off = (size_t)snprintf(notes, sizeof(notes), "hang\n");
	for (i = 1; i <= KEPT; i++)
		off += (size_t)snprintf(notes + off, sizeof(notes) - off, "t%d\n", i);
	snprintf(notes + off, sizeof(notes) - off, "t%d\n", T);
	CHECK_STR(s, notes);
	free(s);
	CHECK(rn[0].ok && rn[T].ok);
	for (i = 1; i < T; i++)
		CHECK_EQ(rn[i].done, i <= KEPT);
	snprintf(notes, sizeof(notes), "hooks: %d notify jobs queued (notify.d "
	    "is slow): the newest transition's replaces the last one queued",
	    HOOKS_NOTIFY_MAX);
	CHECK_EQ(count(log, notes), 1);
	snprintf(notes, sizeof(notes), "hooks: notify hooks of %d transitions "
	    "skipped (notify.d is slow): running those of the newest",
	    T - KEPT - 1);
	CHECK(strstr(log, notes) != NULL);
	free(log);
}

/*
 * A role hook that hangs while the node keeps flapping: no job is refused,
 * the lane stays bounded, promote and demote hooks still alternate, and the
 * newest active period's hooks run with its own environment.
 */
static void
test_role_lane_bounded(void)
{
	enum { F = HOOKS_ROLE_MAX * 2 };	/* flaps */
	static struct result rd[F + 1], rf[F + 1], rp[F + 1];
	static const char *const kinds3[] = { "demote", "fence", "promote" };
	char tail[128];
	struct result r0 = { 0 };
	struct hook_env e = env_a;
	unsigned long skipped0 = hooks_skipped();
	char reason[16], *s, *log, *line, *next, last = 0;
	int i, lines = 0, most = 0, bad = 0, refused = 0;

	make_dir("h17", 0755);
	for (i = 0; i < 3; i++) {
		snprintf(reason, sizeof(reason), "h17/%s.d", kinds3[i]);
		make_dir(reason, 0755);
		snprintf(reason, sizeof(reason), "h17/%s.d/10-x", kinds3[i]);
		hook(reason, 0755,
		    "echo \"$FAILOVERD_EVENT $FAILOVERD_REASON\" >> BASE/roles17.out\n"
		    "[ \"$FAILOVERD_REASON\" = hang ] || exit 0\n"
		    "echo $$ > BASE/hang17.pid\n"
		    "while [ ! -e BASE/release17 ]; do sleep 0.02; done\n");
	}
	init_dir("h17", 20000);
	unit_capture_start("log17.out");
	e.reason = "hang";
	e.event = NULL;
	CHECK_EQ(hooks_run("promote", &e, done_cb, &r0), 0);
	CHECK(unit_wait_file("hang17.pid", "\n", 1, 5000));
	snprintf(tail, sizeof(tail), "demote t%d\nfence t%d\npromote t%d\n",
	    F, F, F);
	/* F flaps, as the FSM orders them: demote, fence, promote */
	for (i = 1; i <= F; i++) {
		struct result *rs[] = { &rd[i], &rf[i], &rp[i] };

		snprintf(reason, sizeof(reason), "t%d", i);
		e.reason = reason;
		for (int k = 0; k < 3; k++)
			refused += hooks_run(kinds3[k], &e, done_cb, rs[k]) != 0;
		if (hooks_pending() > most)
			most = hooks_pending();
	}
	CHECK_EQ(refused, 0);
	CHECK(most <= HOOKS_ROLE_MAX);
	write_file(unit_path("release17"), "", 0644);
	CHECK(run_until(&rp[F].done, 10000));
	log = unit_capture_stop("log17.out");
	CHECK_EQ(hooks_pending(), 0);
	CHECK(rp[F].ok && rf[F].ok);
	CHECK_EQ(r0.done, 0);		/* superseded by demote t1 */

	/* every job either ran once or was skipped, in order */
	s = unit_file("roles17.out");
	CHECK(s != NULL);
	for (line = s; line && *line; line = next + 1) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		lines++;
		/* promote and demote alternate; a fence only before a promote */
		if (line[0] == 'p' || line[0] == 'd') {
			bad += last == line[0];
			last = line[0];
		} else
			bad += last != 'd' || strncmp(next + 1, "demote", 6) == 0;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(lines + (int)(hooks_skipped() - skipped0), 1 + 3 * F);
	CHECK(s && strncmp(s, "promote hang\ndemote t1\n", 23) == 0);
	CHECK(s && strlen(s) > strlen(tail) &&
	    strcmp(s + strlen(s) - strlen(tail), tail) == 0);
	free(s);
	CHECK(count(log, "are skipped") >= 1);
	CHECK(count(log, "an older fence job, not started yet, is skipped") >= 1);
	free(log);
}

/*
 * A promote job that fails after a demote job was queued (the node left
 * the active role) reports nothing: it must not fault the node. A later
 * promote job, which applies, does.
 */
static void
test_superseded_promote(void)
{
	struct result rp = { 0 }, rd = { 0 }, rp2 = { 0 };
	char *log;

	make_dir("h18", 0755);
	make_dir("h18/promote.d", 0755);
	hook("h18/promote.d/10-slow", 0755,
	    "echo $$ >> BASE/slow18.pid\n"
	    "while [ ! -e BASE/go18 ]; do sleep 0.02; done\n"
	    "exit 1\n");
	init_dir("h18", 20000);
	unit_capture_start("log18.out");
	CHECK_EQ(hooks_run("promote", &env_a, done_cb, &rp), 0);
	CHECK(unit_wait_file("slow18.pid", "\n", 1, 5000));
	CHECK_EQ(hooks_run("demote", &env_a, done_cb, &rd), 0);
	write_file(unit_path("go18"), "", 0644);
	CHECK(run_until(&rd.done, 5000));
	CHECK_EQ(rp.done, 0);
	CHECK(rd.ok);
	CHECK_EQ(hooks_run("promote", &env_a, done_cb, &rp2), 0);
	CHECK(run_until(&rp2.done, 5000));
	log = unit_capture_stop("log18.out");
	CHECK(!rp2.ok);
	CHECK_STR(rp2.failed, "10-slow");
	CHECK_EQ(rp.done, 0);
	CHECK_EQ(count(log, "hook 10-slow failed: exit status 1"), 2);
	CHECK_EQ(count(log, "hooks: promote hook 10-slow failed after this node "
	    "left the active role: not a fault"), 1);
	free(log);
}

static int sleepy_started;

static void
sleepy_cb(void *arg)
{
	struct loop_timer *t = arg;

	/* the file exists before echo wrote to it */
	if (read_pid("sleepy.pid") > 0)
		sleepy_started = 1;
	else
		loop_timer_set(t, now_ms() + 10, sleepy_cb, t);
}

static void
test_finalise(void)
{
	struct result ra = { 0 }, rb = { 0 };
	struct loop_timer t = { 0 };
	int flag = 0;
	uint64_t start, ms;
	pid_t pid;

	make_dir("h12", 0755);
	make_dir("h12/notify.d", 0755);
	hook("h12/notify.d/10-sleepy", 0755,
	    "trap '' TERM\n"
	    "echo $$ > BASE/sleepy.pid\n"
	    "exec sleep 60\n");
	init_dir("h12", 30000);
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &ra), 0);
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &rb), 0);
	loop_timer_set(&t, now_ms() + 10, sleepy_cb, &t);
	CHECK(run_until(&sleepy_started, 5000));
	loop_timer_cancel(&t);
	pid = read_pid("sleepy.pid");
	CHECK(pid > 0);

	start = now_ms();
	hooks_finalise();
	ms = now_ms() - start;
	/* SIGTERM ignored: SIGKILL after 2 s */
	CHECK(ms >= 1900);
	CHECK(ms < 4500);
	CHECK(gone(pid, 1000));
	CHECK_EQ(hooks_pending(), 0);
	/* dropped, not run, no callbacks */
	run_until(&flag, 100);
	CHECK_EQ(ra.done, 0);
	CHECK_EQ(rb.done, 0);
	CHECK_EQ(hooks_run("notify", &env_a, done_cb, &ra), -1);
}

int
main(void)
{
	log_init("test_hooks", 0);
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does: hooks must not inherit it */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		fatal("prctl");
	unit_sandbox_start("test_hooks");

	test_env();
	test_order();
	test_two_jobs();
	test_failure();
	test_missing_dir();
	test_chained();
	test_timeout();
	test_signals();
	test_refused_files();
	test_refused_dirs();
	test_output();
	test_background();
	test_background_writer();
	test_background_bounds();
	test_notify_lane();
	test_role_lane_bounded();
	test_superseded_promote();
	test_finalise();

	unit_sandbox_end();	/* also: no zombies, every child was reaped */
	return unit_summary("test_hooks");
}
