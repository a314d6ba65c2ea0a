/*
 * Health checks with real /bin/sh children driven by a local event loop; no
 * privileges needed. The arbiter has its own tests (test_arbiter.c).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "log.h"
#include "loop.h"
#include "proc.h"
#include "unit.h"
#include "unit_sandbox.h"

/* ---- files ---- */

static void
expand(char *out, size_t len, const char *text)
{
	unit_expand(out, len, text, unit_base);
}

#define count unit_count

/* occurrences of needle in the file rel (0 if absent) */
static int
count_in(const char *rel, const char *needle)
{
	char *s = unit_file(rel);
	int n = count(s, needle);

	free(s);
	return n;
}

static void
touch(const char *rel)
{
	int fd;

	if ((fd = open(unit_path(rel), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("touch %s", rel);
	close(fd);
}

/* ---- the loop ---- */

static bool
never(void *arg)
{
	return false;
}

/* ---- verdicts ---- */

struct event {
	int			idx;
	bool			healthy;
	uint64_t		ms;
	int			runs;		/* check runs seen by then */
	int			recovers;	/* recover runs seen by then */
	struct check_info	info;
};

static struct event evs[64];
static int nevents;
static const char *ev_runs_file, *ev_runs_word, *ev_rec_file;

static void
checks_event(void *arg, int idx, bool healthy)
{
	struct event *e;

	if (nevents == (int)(sizeof(evs) / sizeof(evs[0])))
		fatalx("too many events");
	e = &evs[nevents++];
	e->idx = idx;
	e->healthy = healthy;
	e->ms = now_ms();
	e->runs = ev_runs_file ? count_in(ev_runs_file, ev_runs_word) : -1;
	e->recovers = ev_rec_file ? count_in(ev_rec_file, "r\n") : -1;
	CHECK_EQ(checks_info(idx, &e->info), 0);
	/* reported with the verdict already in place */
	CHECK_EQ(e->info.healthy, healthy);
}

static bool
nevents_at_least(void *arg)
{
	return nevents >= *(int *)arg;
}

static void
events_reset(const char *runs_file, const char *runs_word,
    const char *rec_file)
{
	nevents = 0;
	ev_runs_file = runs_file;
	ev_runs_word = runs_word;
	ev_rec_file = rec_file;
}

static struct cfg_check
mk(const char *name, const char *command, unsigned interval_ms,
    unsigned timeout_ms, unsigned rise, unsigned fall, const char *recover,
    unsigned attempts)
{
	struct cfg_check c = { .interval_ms = interval_ms,
	    .timeout_ms = timeout_ms, .rise = rise, .fall = fall,
	    .recover_attempts = attempts };

	snprintf(c.name, sizeof(c.name), "%s", name);
	expand(c.command, sizeof(c.command), command);
	if (recover)
		expand(c.recover, sizeof(c.recover), recover);
	return c;
}

/* every pid in the file (one a line) no longer exists */
static bool
all_gone(const char *rel)
{
	char *s = unit_file(rel), *p;
	bool gone = true;
	int n = 0;

	for (p = s; p && *p; p = strchr(p, '\n') + 1) {
		pid_t pid = (pid_t)atoi(p);

		n++;
		if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			gone = false;
		if (strchr(p, '\n') == NULL)
			break;
	}
	free(s);
	return gone && n > 0;
}

/* ---- checks ---- */

struct counter_cond {
	const char	*file, *word;
	int		 n;
};

static bool
count_reached(void *arg)
{
	struct counter_cond *c = arg;

	return count_in(c->file, c->word) >= c->n;
}

/*
 * fall and rise count consecutive runs; a check that fails twice in every
 * three runs never reaches fall = 3. Two checks at once: indices matter.
 */
static void
test_rise_fall(void)
{
	struct cfg_check cfg[2];
	struct counter_cond cc;
	int want, ok_before;
	char *log;

	cfg[0] = mk("flappy", "n=$(cat BASE/flappy.n 2>/dev/null || echo 0); "
	    "n=$((n+1)); echo $n > BASE/flappy.n; echo x >> BASE/flappy.log; "
	    "[ $((n % 3)) -eq 0 ]", 20, 2000, 2, 3, NULL, 1);
	cfg[1] = mk("web", "if [ -e BASE/web.ok ]; then echo ok >> BASE/web.log;"
	    " exit 0; fi; echo fail >> BASE/web.log; echo 'web is  broken';"
	    " exit 3", 20, 2000, 2, 3, NULL, 1);
	touch("web.ok");
	events_reset("web.log", "fail\n", NULL);
	unit_capture_start("rise_fall.log");
	CHECK_EQ(checks_init(cfg, 2, checks_event, NULL), 0);
	cc = (struct counter_cond){ "web.log", "ok\n", 3 };
	CHECK(unit_run_until(count_reached, &cc, 5000));
	CHECK_EQ(nevents, 0);

	unlink(unit_path("web.ok"));
	want = 1;
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK_EQ(nevents, 1);
	CHECK_EQ(evs[0].idx, 1);
	CHECK(!evs[0].healthy);
	CHECK_EQ(evs[0].runs, 3);
	CHECK_EQ(evs[0].info.fail_run, 3);
	CHECK_EQ(evs[0].info.ok_run, 0);
	CHECK_EQ(evs[0].info.last_exit, 3);
	CHECK(evs[0].info.last_run_ms > 0);
	CHECK(!evs[0].info.recovering);

	/* still failing: no more verdicts */
	cc = (struct counter_cond){ "web.log", "fail\n", 6 };
	CHECK(unit_run_until(count_reached, &cc, 5000));
	CHECK_EQ(nevents, 1);

	ev_runs_word = "ok\n";
	ok_before = count_in("web.log", "ok\n");
	touch("web.ok");
	want = 2;
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK_EQ(nevents, 2);
	CHECK_EQ(evs[1].idx, 1);
	CHECK(evs[1].healthy);
	CHECK_EQ(evs[1].runs - ok_before, 2);	/* rise = 2 */
	CHECK_EQ(evs[1].info.ok_run, 2);
	CHECK_EQ(evs[1].info.last_exit, 0);

	/* the flappy one ran all along, never failed */
	cc = (struct counter_cond){ "flappy.log", "x\n", 15 };
	CHECK(unit_run_until(count_reached, &cc, 5000));
	checks_finalise();
	log = unit_capture_stop("rise_fall.log");
	CHECK_EQ(nevents, 2);
	CHECK(count_in("flappy.log", "x\n") >= 15);
	CHECK(strstr(log, "check web: failing (1/3): exit status 3: web is  "
	    "broken\n") != NULL);
	CHECK(strstr(log, "check web: failing (3/3): exit status 3: ") != NULL);
	CHECK_EQ(count(log, "check web: failing (4/3)"), 0);
	CHECK_EQ(count(log, "check web: failed\n"), 1);
	CHECK_EQ(count(log, "check web: passing (1/2)\n"), 1);
	CHECK_EQ(count(log, "check web: healthy again\n"), 1);
	CHECK(strstr(log, "check flappy: failing (2/3)") != NULL);
	CHECK_EQ(count(log, "check flappy: failing (3/3)"), 0);
	CHECK(strstr(log, "check flappy: passing again\n") != NULL);
	/* output of checks only at debug level */
	CHECK_EQ(count(log, "check web: web is"), 0);
	free(log);
}

/*
 * checks_init() again (a reload): a check with the same name and command
 * keeps its failed verdict, without a callback, until it passes rise times;
 * one whose command changed starts afresh, healthy.
 */
static void
test_reload_keeps_verdict(void)
{
	struct cfg_check cfg = mk("svc", "echo run >> BASE/keep.log; "
	    "[ -e BASE/keep.ok ]", 20, 2000, 2, 2, NULL, 1);
	struct cfg_check other = mk("svc", "true", 20, 2000, 2, 2, NULL, 1);
	struct counter_cond cc;
	struct check_info ci;
	int want = 1;

	events_reset(NULL, NULL, NULL);
	CHECK_EQ(checks_init(&cfg, 1, checks_event, NULL), 0);
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK(!evs[0].healthy);

	CHECK_EQ(checks_init(&cfg, 1, checks_event, NULL), 0);
	CHECK_EQ(checks_info(0, &ci), 0);
	CHECK(!ci.healthy);
	cc = (struct counter_cond){ "keep.log", "run\n",
	    count_in("keep.log", "run\n") + 4 };
	CHECK(unit_run_until(count_reached, &cc, 5000));
	CHECK_EQ(nevents, 1);		/* still failed: nothing to report */
	touch("keep.ok");
	want = 2;
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK(evs[1].healthy);
	CHECK_EQ(evs[1].info.ok_run, 2);	/* rise = 2 */
	/* totals (metrics) outlive the reload: 2 + 4 failed runs, 2 good */
	CHECK(evs[1].info.failures >= 6);
	CHECK_EQ(evs[1].info.runs - evs[1].info.failures, 2);

	unlink(unit_path("keep.ok"));
	want = 3;
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK(!evs[2].healthy);
	CHECK_EQ(checks_init(&other, 1, checks_event, NULL), 0);
	CHECK_EQ(checks_info(0, &ci), 0);
	CHECK(ci.healthy);
	unit_run_until(never, NULL, 200);
	CHECK_EQ(nevents, 3);
	checks_finalise();
}

/* a run that outlives timeout_ms is killed and counts as a failure */
static void
test_timeout(void)
{
	struct cfg_check cfg = mk("slow", "echo $$ >> BASE/slow.pids; "
	    "exec sleep 10", 50, 150, 1, 2, NULL, 1);
	struct check_info info;
	uint64_t start;
	char *log;
	int want = 1;

	events_reset("slow.pids", "\n", NULL);
	unit_capture_start("timeout.log");
	start = now_ms();
	CHECK_EQ(checks_init(&cfg, 1, checks_event, NULL), 0);
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK(!evs[0].healthy);
	CHECK(evs[0].ms - start >= 300);
	CHECK(evs[0].ms - start < 2000);
	CHECK_EQ(evs[0].info.last_exit, -1);
	CHECK_EQ(evs[0].info.fail_run, 2);
	CHECK_EQ(evs[0].runs, 2);
	checks_finalise();
	CHECK(all_gone("slow.pids"));
	log = unit_capture_stop("timeout.log");
	CHECK_EQ(checks_info(0, &info), -1);
	CHECK_EQ(count(log, "check slow: failing (1/2): timed out after 150 ms"
	    "\n"), 1);
	CHECK_EQ(count(log, "check slow: failed\n"), 1);
	free(log);
}

/* runs longer than interval_ms: slots are skipped, runs never overlap */
static void
test_no_overlap(void)
{
	struct cfg_check cfg = mk("long", "mkdir BASE/long.lock 2>/dev/null || "
	    "echo overlap >> BASE/long.bad; echo run >> BASE/long.log; "
	    "sleep 0.25; rmdir BASE/long.lock", 40, 5000, 1, 1, NULL, 1);
	int runs;

	events_reset(NULL, NULL, NULL);
	CHECK_EQ(checks_init(&cfg, 1, checks_event, NULL), 0);
	unit_run_until(never, NULL, 1300);
	checks_finalise();
	runs = count_in("long.log", "run\n");
	CHECK(runs >= 3);
	CHECK(runs <= 6);
	CHECK(!unit_exists("long.bad"));
	CHECK_EQ(nevents, 0);
}

struct sample {
	int			idx;
	bool			saw_recovering;
	unsigned		max_recover_runs;
	struct loop_timer	t;
};

/* samples checks_info every 2 ms */
static void
sample_cb(void *arg)
{
	struct sample *s = arg;
	struct check_info info;

	if (checks_info(s->idx, &info) == 0) {
		s->saw_recovering |= info.recovering;
		if (info.recover_runs > s->max_recover_runs)
			s->max_recover_runs = info.recover_runs;
	}
	loop_timer_set(&s->t, now_ms() + 2, sample_cb, s);
}

struct settled {
	int		idx;
	unsigned	ok_run;
};

static bool
settled_healthy(void *arg)
{
	struct settled *s = arg;
	struct check_info info;

	return checks_info(s->idx, &info) == 0 && info.healthy &&
	    !info.recovering && info.recover_runs == 0 &&
	    info.ok_run >= s->ok_run;
}

/* a recover command that restores health: no unhealthy verdict, ever */
static void
test_recover_helps(void)
{
	struct cfg_check cfg = mk("svc", "test -e BASE/svc.flag", 20, 2000, 2,
	    2, "echo r >> BASE/svc.rec; touch BASE/svc.flag", 1);
	struct sample smp = { .idx = 0 };
	struct settled st = { 0, 2 };
	struct counter_cond cc = { "svc.rec", "r\n", 2 };
	char *log;

	events_reset(NULL, NULL, NULL);
	unit_capture_start("recover_helps.log");
	loop_timer_set(&smp.t, now_ms() + 2, sample_cb, &smp);
	CHECK_EQ(checks_init(&cfg, 1, checks_event, NULL), 0);
	CHECK(unit_run_until(settled_healthy, &st, 5000));
	CHECK_EQ(count_in("svc.rec", "r\n"), 1);
	CHECK(smp.saw_recovering);
	CHECK_EQ(smp.max_recover_runs, 1);

	/* breaks again later: a new episode, with its attempt back */
	unlink(unit_path("svc.flag"));
	CHECK(unit_run_until(count_reached, &cc, 5000));
	CHECK(unit_run_until(settled_healthy, &st, 5000));
	unit_run_until(never, NULL, 150);
	loop_timer_cancel(&smp.t);
	checks_finalise();
	log = unit_capture_stop("recover_helps.log");
	CHECK_EQ(count_in("svc.rec", "r\n"), 2);
	CHECK_EQ(nevents, 0);
	CHECK_EQ(count(log, "check svc: failing (2/2): exit status 1\n"), 2);
	CHECK_EQ(count(log, "check svc: running recover (attempt 1/1): echo r"),
	    2);
	CHECK_EQ(count(log, "check svc: recover command exited with status 0"),
	    2);
	CHECK_EQ(count(log, "check svc: recovered (after 1 recover attempt)\n"),
	    2);
	CHECK_EQ(count(log, "check svc: failed"), 0);
	free(log);
}

/*
 * A recover command that does not help: after fall failures, recover, fall
 * failures, recover, fall failures, the check fails. No check runs while
 * the recover command does. Then rise successes make it healthy again.
 */
static void
test_recover_fails(void)
{
	struct cfg_check cfg = mk("db", "echo c >> BASE/db.log; "
	    "if [ -d BASE/db.lock ]; then echo overlap >> BASE/db.bad; fi; "
	    "test -e BASE/db.ok", 20, 2000, 3, 2,
	    "mkdir BASE/db.lock; echo r >> BASE/db.rec; echo recovering db; "
	    "sleep 0.2; rmdir BASE/db.lock; exit 4", 2);
	struct counter_cond cc = { "db.log", "c\n", 0 };
	char *log;
	int want = 1;

	events_reset("db.log", "c\n", "db.rec");
	unit_capture_start("recover_fails.log");
	CHECK_EQ(checks_init(&cfg, 1, checks_event, NULL), 0);
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK_EQ(nevents, 1);
	CHECK(!evs[0].healthy);
	CHECK_EQ(evs[0].runs, 6);
	CHECK_EQ(evs[0].recovers, 2);
	CHECK_EQ(evs[0].info.recover_runs, 2);
	CHECK(!evs[0].info.recovering);
	CHECK_EQ(evs[0].info.fail_run, 6);

	/* failed for good: no more recover commands */
	cc.n = evs[0].runs + 5;
	CHECK(unit_run_until(count_reached, &cc, 5000));
	CHECK_EQ(count_in("db.rec", "r\n"), 2);
	CHECK_EQ(nevents, 1);

	touch("db.ok");
	want = 2;
	CHECK(unit_run_until(nevents_at_least, &want, 5000));
	CHECK_EQ(nevents, 2);
	CHECK(evs[1].healthy);
	CHECK_EQ(evs[1].info.ok_run, 3);
	CHECK_EQ(evs[1].info.recover_runs, 0);
	checks_finalise();
	log = unit_capture_stop("recover_fails.log");
	CHECK(!unit_exists("db.bad"));
	CHECK_EQ(count(log, "check db: running recover (attempt 1/2)"), 1);
	CHECK_EQ(count(log, "check db: running recover (attempt 2/2)"), 1);
	CHECK_EQ(count(log, "check db recover: recovering db\n"), 2);
	CHECK_EQ(count(log, "check db: recover command failed: exit status 4"),
	    2);
	CHECK_EQ(count(log, "check db: failed, 2 recover attempts did not "
	    "help\n"), 1);
	CHECK_EQ(count(log, "check db: passing (2/3)\n"), 1);
	CHECK_EQ(count(log, "check db: healthy again\n"), 1);
	free(log);
}

static bool
has_ok_run(void *arg)
{
	struct check_info info;

	return checks_info(*(int *)arg, &info) == 0 && info.ok_run >= 1;
}

/* only PATH and FAILOVERD_CHECK (and the PWD sh sets), for both commands */
static void
check_env(const char *rel, const char *name)
{
	char want[64], *s = unit_file(rel);

	CHECK(s != NULL);
	snprintf(want, sizeof(want), "FAILOVERD_CHECK=%s\n", name);
	CHECK(strstr(s ? s : "", want) != NULL);
	CHECK(strstr(s ? s : "", PROC_PATH "\n") != NULL);
	unit_env_only(s, "FAILOVERD_CHECK=");
	free(s);
}

static void
test_env(void)
{
	struct cfg_check cfg[2];
	sigset_t block, old;
	int idx = 1;
	char *s;

	cfg[0] = mk("other", "true", 1000, 1000, 1, 1, NULL, 1);
	cfg[1] = mk("env-check", "env > BASE/env.out; "
	    "grep ^Sig /proc/self/status > BASE/sig.out; test -e BASE/env.rec",
	    20, 2000, 1, 1, "env > BASE/env.rec", 1);
	setenv("FOD_TEST_SECRET", "1", 1);
	/* as the daemon does (signalfd); a check must start with none blocked */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	events_reset(NULL, NULL, NULL);
	CHECK_EQ(checks_init(cfg, 2, checks_event, NULL), 0);
	CHECK(unit_run_until(has_ok_run, &idx, 5000));
	checks_finalise();
	sigprocmask(SIG_SETMASK, &old, NULL);
	unsetenv("FOD_TEST_SECRET");
	CHECK_EQ(nevents, 0);
	check_env("env.out", "env-check");
	check_env("env.rec", "env-check");
	s = unit_file("sig.out");
	CHECK(strstr(s ? s : "", "SigBlk:\t0000000000000000\n") != NULL);
	CHECK(strstr(s ? s : "", "SigIgn:\t0000000000000000\n") != NULL);
	free(s);
}

static bool
both_started(void *arg)
{
	/* each file exists before echo wrote to it */
	return count_in("fin0.pid", "\n") == 1 && count_in("fin1.pid", "\n") == 1;
}

/* finalise kills running checks and recover commands, and reaps them */
static void
test_finalise(void)
{
	struct cfg_check cfg[2];
	uint64_t start, ms;
	char *log;

	cfg[0] = mk("fin0", "echo $$ > BASE/fin0.pid; exec sleep 60", 20,
	    30000, 1, 1, NULL, 1);
	cfg[1] = mk("fin1", "false", 20, 30000, 1, 1,
	    "trap '' TERM; echo $$ > BASE/fin1.pid; exec sleep 60", 1);
	events_reset(NULL, NULL, NULL);
	unit_capture_start("finalise.log");
	CHECK_EQ(checks_init(cfg, 2, checks_event, NULL), 0);
	CHECK(unit_run_until(both_started, NULL, 5000));
	start = now_ms();
	checks_finalise();
	ms = now_ms() - start;
	log = unit_capture_stop("finalise.log");
	/* the recover command ignores SIGTERM: SIGKILL after 100 ms */
	CHECK(ms >= 90);
	CHECK(ms < 1000);
	CHECK(all_gone("fin0.pid"));
	CHECK(all_gone("fin1.pid"));
	CHECK(strstr(log, "check fin0: stopping its run\n") != NULL);
	CHECK(strstr(log, "check fin1: stopping its recover command\n") != NULL);
	CHECK(strstr(log, "check fin1 recover: still running 100 ms after "
	    "SIGTERM, sending SIGKILL\n") != NULL);
	CHECK(strstr(log, "check fin0: still running") == NULL);
	free(log);
	/* nothing runs any more */
	unlink(unit_path("fin0.pid"));
	unit_run_until(never, NULL, 100);
	CHECK(!unit_exists("fin0.pid"));
	CHECK_EQ(nevents, 0);

	/* no checks at all */
	CHECK_EQ(checks_init(NULL, 0, checks_event, NULL), 0);
	CHECK_EQ(checks_info(0, NULL), -1);
	checks_finalise();
	CHECK_EQ(checks_init(cfg, CFG_MAX_CHECKS + 1, checks_event, NULL), -1);
}

int
main(void)
{
	log_init("test_checks", 0);
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	unit_sandbox_start("test_checks");

	test_rise_fall();
	test_reload_keeps_verdict();
	test_timeout();
	test_no_overlap();
	test_recover_helps();
	test_recover_fails();
	test_env();
	test_finalise();

	unit_sandbox_end();	/* also: no zombies, every child was reaped */
	return unit_summary("test_checks");
}
