/*
 * Control socket: RUNTIME_DIR/control.sock, mode 0600, root (or our own
 * uid) only, checked with SO_PEERCRED; with control_group, mode 0660 and
 * members of that group too. One request line per connection:
 *   "failoverd/1 COMMAND [ARGS]\n"
 * answered by one status line, then an optional body, then close:
 *   "failoverd/1 ok" | "failoverd/1 unhealthy" | "failoverd/1 error: REASON"
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbiter.h"
#include "checks.h"
#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "secpath.h"
#include "vip.h"

#define CTL_PROTO	"failoverd/1"
#define CTL_REQ_MAX	256
#define CTL_OUT_MAX	65536
#define CTL_TIMEOUT_MS	2000	/* a client that sends nothing is dropped */
#define CTL_CLIENTS	8

struct out {
	char	buf[CTL_OUT_MAX];
	size_t	len;
};

struct client {
	int			fd;
	char			req[CTL_REQ_MAX];
	size_t			len;
	struct loop_timer	timer;
};

static int listen_fd = -1;
static gid_t ctl_gid = (gid_t)-1;	/* control_group, if any */
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client clients[CTL_CLIENTS];

static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= sizeof(o->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	if (o->len > sizeof(o->buf))
		o->len = sizeof(o->buf);
}

static void
addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
		    (socklen_t)len);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    buf, (socklen_t)len);
}

/* Names and reasons are ours ([A-Za-z0-9._:-]); escape anyway. */
static void
out_json_str(struct out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out_printf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			out_printf(o, "\\u%04x", *s);
		else
			out_printf(o, "%c", *s);
	}
	out_printf(o, "\"");
}

/* milliseconds since then, or null when there is no then */
static void
out_json_ago(struct out *o, bool known, uint64_t now, uint64_t then)
{
	if (known)
		out_printf(o, "%llu", (unsigned long long)(now - then));
	else
		out_printf(o, "null");
}

bool
daemon_healthy(void)
{
	return d.fsm.state == FSM_ACTIVE || d.fsm.state == FSM_STANDBY ||
	    d.fsm.state == FSM_MAINTENANCE;
}

static void ago(struct out *, uint64_t);

static void
status_json_health(struct out *o, uint64_t now)
{
	const char *f[64];
	int nf = faults_get(f, 64);
	struct check_info ci;
	struct arbiter_info ai;

	out_printf(o, "\"timers\":{\"interval_ms\":%u,\"dead_ms\":%u,"
	    "\"init_dead_ms\":%u,\"preempt\":%s,\"preempt_delay_ms\":%u,"
	    "\"vip_lease_s\":%u},\"faults\":[", d.cfg.interval_ms, d.cfg.dead_ms,
	    d.cfg.init_dead_ms, d.cfg.preempt ? "true" : "false",
	    d.cfg.preempt_delay_ms, d.cfg.vip_lease_s);
	for (int i = 0; i < nf; i++) {
		out_printf(o, "%s", i ? "," : "");
		out_json_str(o, f[i]);
	}
	out_printf(o, "],\"checks\":[");
	for (int i = 0; i < d.cfg.nchecks; i++) {
		if (checks_info(i, &ci) == -1)
			continue;
		out_printf(o, "%s{\"name\":", i ? "," : "");
		out_json_str(o, d.cfg.checks[i].name);
		out_printf(o, ",\"healthy\":%s,\"recovering\":%s,\"ok_run\":%u,"
		    "\"fail_run\":%u,\"recover_runs\":%u,\"last_exit\":%d,"
		    "\"last_run_ms_ago\":", ci.healthy ? "true" : "false",
		    ci.recovering ? "true" : "false", ci.ok_run, ci.fail_run,
		    ci.recover_runs, ci.last_exit);
		out_json_ago(o, ci.last_run_ms != 0, now, ci.last_run_ms);
		out_printf(o, ",\"on_fail\":");
		if (d.cfg.checks[i].on_fail_penalty)
			out_printf(o, "%d}", -d.cfg.checks[i].on_fail_penalty);
		else
			out_printf(o, "\"fault\"}");
	}
	arbiter_get(&ai);
	out_printf(o, "],\"arbiter\":{\"enabled\":%s,\"reachable\":%s,"
	    "\"misses\":%u,\"last_reply_ms_ago\":", ai.enabled ? "true" : "false",
	    ai.reachable ? "true" : "false", ai.misses);
	out_json_ago(o, ai.last_reply_ms != 0, now, ai.last_reply_ms);
	out_printf(o, "}");
}

static void
status_text_health(struct out *o, uint64_t now)
{
	const char *f[64];
	int nf = faults_get(f, 64);
	struct check_info ci;
	struct arbiter_info ai;

	for (int i = 0; i < d.cfg.nchecks; i++) {
		if (checks_info(i, &ci) == -1)
			continue;
		out_printf(o, "check     %s: %s%s, %u ok / %u failed in a row",
		    d.cfg.checks[i].name, ci.healthy ? "healthy" : "FAILED",
		    ci.recovering ? " (recovering)" : "", ci.ok_run, ci.fail_run);
		if (ci.last_run_ms) {
			out_printf(o, ", last run ");
			ago(o, now - ci.last_run_ms);
		}
		out_printf(o, "\n");
	}
	arbiter_get(&ai);
	if (ai.enabled) {
		out_printf(o, "arbiter   %s", ai.reachable ? "reachable" : "UNREACHABLE");
		if (ai.last_reply_ms) {
			out_printf(o, ", last reply ");
			ago(o, now - ai.last_reply_ms);
		}
		out_printf(o, "\n");
	}
	for (int i = 0; i < nf; i++)
		out_printf(o, "%s %s\n", i ? "         " : "faults   ", f[i]);
}

static void
status_json(struct out *o)
{
	uint64_t now = now_ms();
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned n;
	const struct counters *c = &d.cnt;

	out_printf(o, "{\"version\":1,\"node\":");
	out_json_str(o, d.cfg.node_name);
	out_printf(o, ",\"cluster_id\":%u,\"state\":\"%s\",\"since_ms_ago\":%llu,"
	    "\"reason\":", d.cfg.cluster_id, fsm_state_name(d.fsm.state),
	    (unsigned long long)(now - d.fsm.since));
	out_json_str(o, d.fsm.reason);
	out_printf(o, ",\"priority\":%d,\"effective_priority\":%d,"
	    "\"maintenance\":%s,\"epoch\":%llu,\"uptime_ms\":%llu,",
	    d.cfg.priority, d.fsm.eff_priority,
	    d.fsm.state == FSM_MAINTENANCE ? "true" : "false",
	    (unsigned long long)d.epoch, (unsigned long long)(now - d.started_ms));
	out_printf(o, "\"peer\":{\"name\":");
	out_json_str(o, d.fsm.peer_known ? d.fsm.peer.name : "");
	out_printf(o, ",\"state\":\"%s\",\"known\":%s,\"alive\":%s,"
	    "\"priority\":%d,\"heard_ms_ago\":",
	    d.fsm.peer_known ? fsm_state_name(d.fsm.peer.state) : "unknown",
	    d.fsm.peer_known ? "true" : "false",
	    d.fsm.peer_known && now - d.fsm.peer_heard < d.cfg.dead_ms ? "true" : "false",
	    d.fsm.peer_known ? d.fsm.peer.priority : 0);
	out_json_ago(o, d.fsm.peer_known, now, d.fsm.peer_heard);
	out_printf(o, "}");

	out_printf(o, ",\"links\":[");
	for (int i = 0; i < d.cfg.nlinks; i++) {
		const struct link_state *ls = &d.links[i];

		addr_text(&d.cfg.links[i].local, a, sizeof(a));
		addr_text(&d.cfg.links[i].peer, b, sizeof(b));
		out_printf(o, "%s{\"interface\":", i ? "," : "");
		out_json_str(o, d.cfg.links[i].ifname);
		out_printf(o, ",\"local\":\"%s\",\"peer\":\"%s\",\"up\":%s,"
		    "\"heard_ms_ago\":", a, b, link_up(i, now) ? "true" : "false");
		out_json_ago(o, ls->heard, now, ls->heard_at);
		if (ls->rtt_valid)
			out_printf(o, ",\"rtt_us\":%llu}", (unsigned long long)ls->rtt_us);
		else
			out_printf(o, ",\"rtt_us\":null}");
	}
	out_printf(o, "],\"vips\":[");
	for (int i = 0; i < d.cfg.nvips; i++) {
		const struct cfg_vip *v = &d.cfg.vips[i];

		out_printf(o, "%s{\"address\":", i ? "," : "");
		out_json_str(o, v->text);
		out_printf(o, ",\"interface\":");
		out_json_str(o, v->ifname);
		out_printf(o, ",\"present\":%s,\"expected\":%s}",
		    vip_present(v) == 1 ? "true" : "false",
		    fsm_holds_vips(&d.fsm) ? "true" : "false");
	}
	out_printf(o, "],");
	status_json_health(o, now);
	out_printf(o, ",\"counters\":{\"sent\":%llu,\"send_errors\":%llu,"
	    "\"received\":%llu,\"auth_failures\":%llu,\"replays\":%llu,"
	    "\"late\":%llu,\"unconfirmed\":%llu,\"malformed\":%llu,\"bad_version\":%llu,"
	    "\"foreign\":%llu,\"wrong_source\":%llu,\"vip_repairs\":%llu,"
	    "\"dual_active\":%llu,\"log_dropped\":%llu,\"hooks_skipped\":%lu}",
	    (unsigned long long)c->sent, (unsigned long long)c->send_errors,
	    (unsigned long long)c->received, (unsigned long long)c->auth_failures,
	    (unsigned long long)c->replays, (unsigned long long)c->late,
	    (unsigned long long)c->unconfirmed,
	    (unsigned long long)c->malformed, (unsigned long long)c->bad_version,
	    (unsigned long long)c->foreign, (unsigned long long)c->wrong_source,
	    (unsigned long long)c->vip_repairs, (unsigned long long)c->dual_active,
	    (unsigned long long)log_dropped(), hooks_skipped());
	out_printf(o, ",\"transitions\":[");
	n = d.fsm.nhistory < FSM_HISTORY ? d.fsm.nhistory : FSM_HISTORY;
	for (unsigned k = 0; k < n; k++) {
		/* newest first */
		const struct fsm_transition *t =
		    &d.fsm.history[(d.fsm.nhistory - 1 - k) % FSM_HISTORY];

		out_printf(o, "%s{\"from\":\"%s\",\"to\":\"%s\",\"reason\":",
		    k ? "," : "", fsm_state_name(t->from), fsm_state_name(t->to));
		out_json_str(o, t->reason);
		out_printf(o, ",\"ms_ago\":%llu}", (unsigned long long)(now - t->at));
	}
	out_printf(o, "]}\n");
}

static void
ago(struct out *o, uint64_t ms)
{
	if (ms < 10000)
		out_printf(o, "%llu ms ago", (unsigned long long)ms);
	else if (ms < 3600 * 1000)
		out_printf(o, "%llu s ago", (unsigned long long)(ms / 1000));
	else
		out_printf(o, "%lluh%02llum ago", (unsigned long long)(ms / 3600000),
		    (unsigned long long)(ms / 60000 % 60));
}

static void
status_text(struct out *o)
{
	uint64_t now = now_ms();
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned n;
	const struct counters *c = &d.cnt;

	out_printf(o, "node      %s (cluster %u), priority %d (effective %d)\n",
	    d.cfg.node_name, d.cfg.cluster_id, d.cfg.priority, d.fsm.eff_priority);
	out_printf(o, "state     %s since ", fsm_state_name(d.fsm.state));
	ago(o, now - d.fsm.since);
	out_printf(o, " (%s)\n", d.fsm.reason);
	if (d.fsm.peer_known) {
		out_printf(o, "peer      %s: %s, priority %d, heard ", d.fsm.peer.name,
		    fsm_state_name(d.fsm.peer.state), d.fsm.peer.priority);
		ago(o, now - d.fsm.peer_heard);
		out_printf(o, "%s\n", now - d.fsm.peer_heard < d.cfg.dead_ms ? "" :
		    " (DEAD)");
	} else
		out_printf(o, "peer      never heard\n");
	for (int i = 0; i < d.cfg.nlinks; i++) {
		const struct link_state *ls = &d.links[i];

		addr_text(&d.cfg.links[i].local, a, sizeof(a));
		addr_text(&d.cfg.links[i].peer, b, sizeof(b));
		out_printf(o, "link %d    %s %s -> %s: %s", i, d.cfg.links[i].ifname,
		    a, b, link_up(i, now) ? "up" : "DOWN");
		if (ls->heard) {
			out_printf(o, ", heard ");
			ago(o, now - ls->heard_at);
		}
		if (ls->rtt_valid)
			out_printf(o, ", rtt %llu us", (unsigned long long)ls->rtt_us);
		out_printf(o, "\n");
	}
	for (int i = 0; i < d.cfg.nvips; i++) {
		const struct cfg_vip *v = &d.cfg.vips[i];
		bool present = vip_present(v) == 1, want = fsm_holds_vips(&d.fsm);

		out_printf(o, "vip       %s on %s: %s%s\n", v->text, v->ifname,
		    present ? "present" : "absent",
		    present != want ? (want ? " (MISSING)" : " (UNEXPECTED)") : "");
	}
	status_text_health(o, now);
	out_printf(o, "counters  sent %llu, received %llu, auth failures %llu, "
	    "replays %llu, late %llu, unconfirmed %llu, malformed %llu, bad version %llu, "
	    "foreign %llu, wrong source %llu, vip repairs %llu\n",
	    (unsigned long long)c->sent, (unsigned long long)c->received,
	    (unsigned long long)c->auth_failures, (unsigned long long)c->replays,
	    (unsigned long long)c->late,
	    (unsigned long long)c->unconfirmed, (unsigned long long)c->malformed,
	    (unsigned long long)c->bad_version, (unsigned long long)c->foreign,
	    (unsigned long long)c->wrong_source, (unsigned long long)c->vip_repairs);
	n = d.fsm.nhistory < FSM_HISTORY ? d.fsm.nhistory : FSM_HISTORY;
	for (unsigned k = 0; k < n; k++) {
		const struct fsm_transition *t =
		    &d.fsm.history[(d.fsm.nhistory - 1 - k) % FSM_HISTORY];

		out_printf(o, "%s %s -> %s (%s), ", k ? "          " : "history  ",
		    fsm_state_name(t->from), fsm_state_name(t->to), t->reason);
		ago(o, now - t->at);
		out_printf(o, "\n");
	}
}

static void
handle(const char *req, struct out *o)
{
	char cmd[CTL_REQ_MAX], arg[CTL_REQ_MAX];
	const char *why;
	int n;

	cmd[0] = arg[0] = '\0';
	if (strncmp(req, CTL_PROTO " ", sizeof(CTL_PROTO)) != 0) {
		out_printf(o, CTL_PROTO " error: unsupported protocol (want %s)\n",
		    CTL_PROTO);
		return;
	}
	n = sscanf(req + sizeof(CTL_PROTO), "%255s %255s", cmd, arg);
	if (n < 1) {
		out_printf(o, CTL_PROTO " error: empty request\n");
		return;
	}
	if (strcmp(cmd, "status") == 0 && (n == 1 || strcmp(arg, "json") == 0)) {
		out_printf(o, CTL_PROTO " %s\n", daemon_healthy() ? "ok" : "unhealthy");
		if (n == 1)
			status_text(o);
		else
			status_json(o);
	} else if (strcmp(cmd, "switchover") == 0 && n == 1) {
		if (!fsm_can_switchover(&d.fsm, now_ms(), &why)) {
			out_printf(o, CTL_PROTO " error: switchover refused: %s\n", why);
			return;
		}
		daemon_switchover();
		out_printf(o, CTL_PROTO " ok\nswitchover to %s started\n",
		    d.fsm.peer.name);
	} else if (strcmp(cmd, "maintenance") == 0 && n == 2 &&
	    (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0)) {
		daemon_maintenance(strcmp(arg, "on") == 0);
		out_printf(o, CTL_PROTO " ok\nmaintenance %s\n", arg);
	} else if (strcmp(cmd, "reload") == 0 && n == 1) {
		if (daemon_reload(o->buf + o->len, sizeof(o->buf) - o->len - 64) == -1) {
			char detail[CTL_OUT_MAX / 2];

			snprintf(detail, sizeof(detail), "%s", o->buf + o->len);
			o->len = 0;
			out_printf(o, CTL_PROTO " error: reload refused, the running "
			    "configuration stays\n%s", detail);
			return;
		}
		out_printf(o, CTL_PROTO " ok\nconfiguration reloaded\n");
	} else
		out_printf(o, CTL_PROTO " error: unknown command \"%s\"\n", cmd);
}

static void
client_close(struct client *c)
{
	loop_timer_cancel(&c->timer);
	loop_del_fd(c->fd);
	close(c->fd);
	c->fd = -1;
}

/* The one reply, then close: replies fit the socket buffer (raised below),
 * so never wait for a reader. */
static void
client_reply(struct client *c, const struct out *o)
{
	if (send(c->fd, o->buf, o->len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)o->len)
		log_debug("control: short reply");
	client_close(c);
}

static void
client_timeout(void *arg)
{
	struct client *c = arg;
	static struct out o;

	if (c->len == 0) {
		client_close(c);	/* said nothing: nothing to answer */
		return;
	}
	o.len = 0;
	out_printf(&o, CTL_PROTO " error: request incomplete after %d ms\n",
	    CTL_TIMEOUT_MS);
	client_reply(c, &o);
}

static void
client_readable(int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	static struct out o;
	ssize_t n;
	char *nl;

	n = read(fd, c->req + c->len, sizeof(c->req) - 1 - c->len);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n == -1 || (n == 0 && c->len == 0)) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	o.len = 0;
	if ((nl = memchr(c->req, '\n', c->len)) == NULL) {
		if (n > 0 && c->len < sizeof(c->req) - 1)
			return;
		out_printf(&o, CTL_PROTO " error: %s\n", n == 0 ?
		    "request ends without a newline" : "request too long");
	} else if (memchr(c->req, '\0', (size_t)(nl - c->req)) != NULL) {
		out_printf(&o, CTL_PROTO " error: request contains a NUL byte\n");
	} else {
		*nl = '\0';
		handle(c->req, &o);
	}
	client_reply(c, &o);
}

/* root, our own uid, or a member of control_group */
static bool
peer_allowed(int fd, const struct ucred *cr)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (ctl_gid == (gid_t)-1)
		return false;
	if (cr->gid == ctl_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == ctl_gid)
			return true;
	return false;
}

static void
accept_client(int fd, uint32_t events, void *arg)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int cfd, sndbuf = CTL_OUT_MAX * 2;
	struct client *c = NULL;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd == -1)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
	    !peer_allowed(cfd, &cr)) {
		static const char msg[] = CTL_PROTO " error: permission denied\n";

		log_warnx("control: refused a request from uid %d", (int)cr.uid);
		(void)!send(cfd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(cfd);
		return;
	}
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (clients[i].fd == -1) {
			c = &clients[i];
			break;
		}
	if (c == NULL) {
		close(cfd);
		return;
	}
	setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	c->fd = cfd;
	c->len = 0;
	if (loop_add_fd(cfd, EPOLLIN, client_readable, c) == -1) {
		close(cfd);
		c->fd = -1;
		return;
	}
	loop_timer_set(&c->timer, now_ms() + CTL_TIMEOUT_MS, client_timeout, c);
}

/* A live daemon accepts on its socket; a stale one refuses the connection. */
static bool
socket_answers(const struct sockaddr_un *sun)
{
	int fd, r;

	/* non-blocking: a frozen daemon with a full backlog answers EAGAIN */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return false;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (r == -1 && errno == EAGAIN)
		r = 0;
	close(fd);
	return r == 0;
}

bool
control_daemon_running(const char *runtime_dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/control.sock", runtime_dir) >= sizeof(sun.sun_path))
		return false;
	return socket_answers(&sun);
}

int
control_init(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	char err[PATH_MAX + 128];

	for (int i = 0; i < CTL_CLIENTS; i++)
		clients[i].fd = -1;
	if (secpath_dir("runtime_dir", d.cfg.runtime_dir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	ctl_gid = (gid_t)-1;
	if (d.cfg.control_group[0]) {
		struct group *gr = getgrnam(d.cfg.control_group);

		if (gr == NULL) {
			log_warnx("control_group \"%s\": no such group",
			    d.cfg.control_group);
			return -1;
		}
		ctl_gid = gr->gr_gid;
		/* members must reach the socket through the directory */
		if (chown(d.cfg.runtime_dir, (uid_t)-1, ctl_gid) == -1 ||
		    chmod(d.cfg.runtime_dir, 0750) == -1) {
			log_warn("runtime_dir %s", d.cfg.runtime_dir);
			return -1;
		}
	}
	if ((size_t)snprintf(sock_path, sizeof(sock_path), "%s/control.sock",
	    d.cfg.runtime_dir) >= sizeof(sock_path)) {
		log_warnx("runtime_dir %s: path too long for a socket", d.cfg.runtime_dir);
		return -1;
	}
	memcpy(sun.sun_path, sock_path, sizeof(sock_path));
	/* only a stale socket is removed, never another kind of file */
	if (lstat(sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("%s exists and is not a socket: refusing", sock_path);
			return -1;
		}
		if (socket_answers(&sun)) {
			log_warnx("another failoverd is running (%s answers): "
			    "refusing to start", sock_path);
			return -1;
		}
		unlink(sock_path);
	}
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd == -1)
		return -1;
	if (bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (ctl_gid != (gid_t)-1 && chown(sock_path, (uid_t)-1, ctl_gid) == -1) ||
	    chmod(sock_path, ctl_gid != (gid_t)-1 ? 0660 : 0600) == -1 ||
	    listen(listen_fd, 16) == -1 ||
	    loop_add_fd(listen_fd, EPOLLIN, accept_client, NULL) == -1) {
		log_warn("control socket %s", sock_path);
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	return 0;
}

void
control_finalise(void)
{
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (clients[i].fd != -1)
			client_close(&clients[i]);
	if (listen_fd != -1) {
		loop_del_fd(listen_fd);
		close(listen_fd);
		unlink(sock_path);
		listen_fd = -1;
	}
}
