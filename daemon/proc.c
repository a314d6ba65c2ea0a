/*
 * Child processes that never block the loop (hooks, checks, recover
 * commands).
 *
 * A child is a session leader, so that a timeout can signal its whole
 * process group. The loop learns of its exit through a pidfd (or, without
 * one, by polling waitpid), reads its output through a non-blocking pipe and
 * enforces its timeout with a loop timer. Only proc_finalise() waits, while
 * the daemon exits.
 *
 * A pipe still open when its child is done (a background process of the
 * child holds it) moves to a linger slot and is read on there, bounded, so
 * that the proc is free for its next run and that process gets no SIGPIPE.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "proc.h"

#define PROC_POLL_MS	50		/* reaping without a pidfd; stragglers */
#define PROC_READ_MAX	16384		/* bytes read per loop round */
#define PROC_LINGER_MAX	16		/* pipes read on after their child is done */

enum proc_phase {
	PROC_IDLE,			/* nothing runs */
	PROC_RUNNING,			/* timer: the timeout */
	PROC_TERM,			/* SIGTERM sent; timer: SIGKILL */
	PROC_KILL			/* SIGKILL sent */
};

/* The output pipe of a child that is done, still held by what it started. */
struct proc_linger {
	bool			 used;
	struct proc_output	 out;
	const struct proc	*owner;		/* for proc_finalise() */
	uint64_t		 since;
	size_t			 read;		/* bytes since then */
	struct loop_timer	 timer;		/* the time bound */
};

static int max_fd;			/* close_range() fallback in the child */
static struct proc_linger lingers[PROC_LINGER_MAX];

static void	poll_cb(void *);

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
child(const char *path, char *const argv[], char *const envp[], int out)
{
	/* SIG_DFL is 0: zeroes are "default, no flags, empty mask" in any layout */
	static const unsigned long kernel_dfl[8];
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int null;

	/* own session and process group: a timeout kills all of it */
	setsid();
	/* the daemon's blocked and ignored signals would survive execve */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		/* glibc refuses its own 32 and 33, which may come in ignored */
		if (sigaction(sig, &sa, NULL) == -1)
			(void)syscall(SYS_rt_sigaction, sig, kernel_dfl, NULL,
			    (size_t)(NSIG - 1) / 8);
	if ((null = open("/dev/null", O_RDWR)) == -1)
		_exit(126);
	if (out == -1)
		out = null;
	if (dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(126);
	/* callers set close-on-exec, but a child must never inherit a socket or key */
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

/* Something about a child worth a warning; debug only for PROC_QUIET ones. */
static void __attribute__((format(printf, 2, 3)))
output_notice(const struct proc_output *o, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->flags & PROC_QUIET)
		log_debug("%s: %s", o->label, msg);
	else
		log_warnx("%s: %s", o->label, msg);
}

static void
output_line(struct proc_output *o)
{
	o->line[o->linelen] = '\0';
	if (o->flags & PROC_QUIET)
		log_debug("%s: %s%s", o->label, o->line, o->cut ? " [cut]" : "");
	else
		log_info("%s: %s%s", o->label, o->line, o->cut ? " [cut]" : "");
	if (o->linelen > 0 && o->last)
		memcpy(o->last, o->line, o->linelen + 1);
	o->linelen = 0;
	o->cut = false;
}

static void
output_feed(struct proc_output *o, const char *buf, size_t n)
{
	if (o->capped)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = buf[i];

		if (o->bytes++ == PROC_OUTPUT_MAX) {
			if (o->linelen > 0 || o->cut)
				output_line(o);
			output_notice(o, "more than %d bytes of output, the "
			    "rest is dropped", PROC_OUTPUT_MAX);
			o->capped = true;
			return;
		}
		if (c == '\n')
			output_line(o);
		else if (c == '\r')
			continue;
		else if (o->linelen == PROC_LINE_MAX)
			o->cut = true;
		else	/* no terminal escapes or fake lines in the log */
			o->line[o->linelen++] =
			    (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c;
	}
}

static void
output_close(struct proc_output *o)
{
	if (o->fd == -1)
		return;
	if (o->linelen > 0 || o->cut)
		output_line(o);
	loop_del_fd(o->fd);
	close(o->fd);
	o->fd = -1;
}

/*
 * Bounded, so that a chatty child cannot starve the loop; closes at EOF.
 * Returns the bytes read.
 */
static size_t
output_read(struct proc_output *o, size_t max)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (o->fd != -1 && total < max) {
		if ((n = read(o->fd, buf, sizeof(buf))) > 0) {
			output_feed(o, buf, (size_t)n);
			total += (size_t)n;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN)
			break;
		else {
			if (n == -1)
				log_warn("%s: read", o->label);
			output_close(o);
		}
	}
	return total;
}

static void
output_cb(int fd, uint32_t events, void *arg)
{
	struct proc *p = arg;

	if (fd == p->out.fd)
		output_read(&p->out, PROC_READ_MAX);
}

/* The slot is free again; why (if not NULL) says why its pipe is given up. */
static void
linger_end(struct proc_linger *l, const char *why)
{
	if (why)
		output_notice(&l->out, "%s; no longer reading it: what the run "
		    "left running gets SIGPIPE (or EPIPE) at its next write", why);
	output_close(&l->out);
	loop_timer_cancel(&l->timer);
	l->used = false;
}

static void
linger_cb(int fd, uint32_t events, void *arg)
{
	struct proc_linger *l = arg;
	char why[64];

	if (!l->used || fd != l->out.fd)
		return;
	l->read += output_read(&l->out, PROC_READ_MAX);
	if (l->out.fd == -1) {
		log_debug("%s: output closed by every process", l->out.label);
		linger_end(l, NULL);
	} else if (l->read > PROC_LINGER_BYTES) {
		snprintf(why, sizeof(why), "more than %d bytes of output after "
		    "the run", PROC_LINGER_BYTES);
		linger_end(l, why);
	}
}

static void
linger_expired(void *arg)
{
	struct proc_linger *l = arg;
	char why[64];

	snprintf(why, sizeof(why), "output still open %llu ms after the run",
	    (unsigned long long)(now_ms() - l->since));
	linger_end(l, why);
}

/*
 * The run is over, but something it started holds the output pipe: read on
 * in a linger slot (the oldest one gives way when all are taken), for at
 * most the run's timeout and PROC_LINGER_BYTES.
 */
static void
output_linger(struct proc *p)
{
	struct proc_linger *l = &lingers[0];

	if (p->out.fd == -1)
		return;
	for (int i = 0; i < PROC_LINGER_MAX && l->used; i++)
		if (!lingers[i].used || lingers[i].since < l->since)
			l = &lingers[i];
	if (l->used)
		linger_end(l, "too many outputs held open after their runs");
	loop_del_fd(p->out.fd);
	l->out = p->out;
	l->out.last = NULL;
	p->out.fd = -1;
	if (loop_add_fd(l->out.fd, EPOLLIN, linger_cb, l) == -1) {
		log_warn("%s: output pipe", l->out.label);
		output_close(&l->out);
		return;
	}
	l->used = true;
	l->owner = p;
	l->since = now_ms();
	l->read = 0;
	loop_timer_set(&l->timer, l->since + p->timeout_ms, linger_expired, l);
	log_debug("%s: run over, its output still open: reading on",
	    l->out.label);
}

static void
watch_close(struct proc *p)
{
	loop_timer_cancel(&p->poll);
	if (p->pidfd == -1)
		return;
	loop_del_fd(p->pidfd);
	close(p->pidfd);
	p->pidfd = -1;
}

static void
proc_signal(struct proc *p, int sig)
{
	/* before the child's setsid() there is no group yet */
	if (kill(-p->pid, sig) == -1 && !p->reaped)
		kill(p->pid, sig);
}

static bool
group_gone(const struct proc *p)
{
	return kill(-p->pid, 0) == -1 && errno == ESRCH;
}

/* Reaps the child once it has exited; never waits. */
static bool
proc_reaped(struct proc *p)
{
	int status;
	pid_t r;

	if (p->reaped)
		return true;
	while ((r = waitpid(p->pid, &status, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == 0)
		return false;
	if (r == -1) {
		/* someone else reaped it (waitpid(-1) elsewhere is a bug) */
		log_warn("%s: waitpid %ld", p->out.label, (long)p->pid);
		status = -1;
	}
	p->reaped = true;
	p->status = status;
	watch_close(p);
	/* all it wrote is in the pipe now; what it left running may write on */
	output_read(&p->out, PROC_LINGER_BYTES);
	return true;
}

/* Back to idle, without a callback. */
static void
proc_clear(struct proc *p)
{
	loop_timer_cancel(&p->timer);
	watch_close(p);
	output_close(&p->out);
	p->phase = PROC_IDLE;
	p->pid = 0;
}

static void
proc_done(struct proc *p)
{
	struct proc_result res = {
		.status = p->status,
		.timed_out = p->timed_out,
		.ms = now_ms() - p->started,
	};

	output_linger(p);
	proc_clear(p);
	p->cb(p, &res, p->arg);
}

static void
proc_reap(struct proc *p)
{
	if (!proc_reaped(p))
		return;
	if (p->phase == PROC_TERM && !group_gone(p)) {
		/* the child obeyed SIGTERM; the rest of its group gets the same grace */
		loop_timer_set(&p->poll, now_ms() + PROC_POLL_MS, poll_cb, p);
		return;
	}
	proc_done(p);
}

static void
pidfd_cb(int fd, uint32_t events, void *arg)
{
	struct proc *p = arg;

	if (fd == p->pidfd)
		proc_reap(p);
}

/* Reaping without a pidfd, and watching a timed-out group empty itself. */
static void
poll_cb(void *arg)
{
	struct proc *p = arg;

	loop_timer_set(&p->poll, now_ms() + PROC_POLL_MS, poll_cb, p);
	if (!p->reaped)
		proc_reap(p);
	else if (group_gone(p))
		proc_done(p);
}

static void
timer_cb(void *arg)
{
	struct proc *p = arg;

	switch (p->phase) {
	case PROC_RUNNING:
		output_notice(&p->out, "timed out after %u ms, sending SIGTERM",
		    p->timeout_ms);
		p->timed_out = true;
		proc_signal(p, SIGTERM);
		p->phase = PROC_TERM;
		loop_timer_set(&p->timer, now_ms() + PROC_KILL_MS, timer_cb, p);
		break;
	case PROC_TERM:
		if (p->reaped)
			log_warnx("%s: its process group outlived SIGTERM "
			    "by %d ms, sending SIGKILL", p->out.label, PROC_KILL_MS);
		else
			log_warnx("%s: still running %d ms after SIGTERM, "
			    "sending SIGKILL", p->out.label, PROC_KILL_MS);
		proc_signal(p, SIGKILL);
		p->phase = PROC_KILL;
		if (p->reaped)
			proc_done(p);
		break;
	default:
		break;
	}
}

int
proc_spawn(struct proc *p, const char *label, const char *path,
    char *const argv[], char *const envp[], unsigned timeout_ms, int flags,
    proc_done_cb cb, void *arg)
{
	int pipefd[2], rd = -1, wr = -1;
	pid_t pid;

	if (p->phase != PROC_IDLE || timeout_ms == 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (max_fd == 0) {
		long n = sysconf(_SC_OPEN_MAX);

		max_fd = n > 0 && n < 65536 ? (int)n : 65536;
	}
	snprintf(p->out.label, sizeof(p->out.label), "%s", label);
	p->out.flags = flags;
	p->out.fd = p->pidfd = -1;
	p->out.bytes = p->out.linelen = 0;
	p->out.cut = p->out.capped = false;
	p->out.last = p->last;
	p->last[0] = '\0';
	/* the child's end stays blocking: a child must not see EAGAIN */
	if (pipe2(pipefd, O_CLOEXEC) == -1)
		log_warn("%s: pipe, output discarded", label);
	else if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) == -1 ||
	    loop_add_fd(pipefd[0], EPOLLIN, output_cb, p) == -1) {
		log_warn("%s: output pipe, output discarded", label);
		close(pipefd[0]);
		close(pipefd[1]);
	} else {
		rd = pipefd[0];
		wr = pipefd[1];
	}
	if ((pid = fork()) == -1) {
		log_warn("%s: fork", label);
		if (rd != -1) {
			loop_del_fd(rd);
			close(rd);
			close(wr);
		}
		return -1;
	}
	if (pid == 0)
		child(path, argv, envp, wr);
	if (wr != -1)
		close(wr);

	p->phase = PROC_RUNNING;
	p->pid = pid;
	p->reaped = false;
	p->status = -1;
	p->timed_out = false;
	p->out.fd = rd;
	p->started = now_ms();
	p->timeout_ms = timeout_ms;
	p->cb = cb;
	p->arg = arg;
	log_debug("%s: started %s (pid %ld)", label, path, (long)pid);

	if ((p->pidfd = pidfd_open_(pid)) == -1 ||
	    loop_add_fd(p->pidfd, EPOLLIN, pidfd_cb, p) == -1) {
		log_debug("%s: no pidfd (%s), polling", label, strerror(errno));
		if (p->pidfd != -1)
			close(p->pidfd);
		p->pidfd = -1;
		loop_timer_set(&p->poll, now_ms() + PROC_POLL_MS, poll_cb, p);
	}
	loop_timer_set(&p->timer, p->started + timeout_ms, timer_cb, p);
	return 0;
}

bool
proc_running(const struct proc *p)
{
	return p->phase != PROC_IDLE;
}

const char *
proc_last_line(const struct proc *p)
{
	return p->last;
}

bool
proc_ok(const struct proc_result *r)
{
	return !r->timed_out && r->status != -1 && WIFEXITED(r->status) &&
	    WEXITSTATUS(r->status) == 0;
}

const char *
proc_status_str(const struct proc_result *r, char *buf, size_t len)
{
	if (r->status == -1)
		snprintf(buf, len, "exit status lost");
	else if (WIFEXITED(r->status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(r->status));
	else
		snprintf(buf, len, "killed by signal %d", WTERMSIG(r->status));
	return buf;
}

/* Bounded wait until each is reaped (and, with group, its group is gone). */
static bool
wait_all(struct proc *const procs[], int n, unsigned ms, bool group)
{
	uint64_t deadline = now_ms() + ms;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	bool all;

	for (;;) {
		all = true;
		for (int i = 0; i < n; i++) {
			struct proc *p = procs[i];

			if (p->phase == PROC_IDLE)
				continue;
			if (!proc_reaped(p) || (group && !group_gone(p)))
				all = false;
		}
		if (all)
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

void
proc_finalise(struct proc *const procs[], int n, unsigned grace_ms)
{
	int i;

	for (i = 0; i < n; i++)
		if (procs[i]->phase != PROC_IDLE && procs[i]->phase != PROC_KILL) {
			proc_signal(procs[i], SIGTERM);
			procs[i]->phase = PROC_TERM;
		}
	if (!wait_all(procs, n, grace_ms, true)) {
		for (i = 0; i < n; i++) {
			struct proc *p = procs[i];

			if (p->phase == PROC_IDLE ||
			    (p->reaped && group_gone(p)))
				continue;
			log_warnx("%s: still running %u ms after SIGTERM, "
			    "sending SIGKILL", p->out.label, grace_ms);
			proc_signal(p, SIGKILL);
			p->phase = PROC_KILL;
		}
		if (!wait_all(procs, n, grace_ms, false))
			for (i = 0; i < n; i++)
				if (procs[i]->phase != PROC_IDLE &&
				    !procs[i]->reaped)
					log_warnx("%s: pid %ld survives SIGKILL",
					    procs[i]->out.label,
					    (long)procs[i]->pid);
	}
	for (i = 0; i < n; i++) {
		if (procs[i]->phase != PROC_IDLE)
			proc_clear(procs[i]);
		for (int j = 0; j < PROC_LINGER_MAX; j++)
			if (lingers[j].used && lingers[j].owner == procs[i])
				linger_end(&lingers[j], NULL);
	}
}
