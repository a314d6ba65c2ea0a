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
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failoverd.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "out.h"
#include "secpath.h"
#include "status.h"

#define CTL_PROTO	"failoverd/1"
#define CTL_REQ_MAX	256
#define CTL_OUT_MAX	65536
#define CTL_TIMEOUT_MS	2000	/* a client that sends nothing is dropped */
#define CTL_CLIENTS	8

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

/* The reply being made: each is sent at once, so one buffer serves all. */
static struct out *
reply_start(void)
{
	static char buf[CTL_OUT_MAX];
	static struct out o = { buf, sizeof(buf), 0 };

	o.len = 0;
	return &o;
}

/*
 * "switchover [GROUP...]": every group named, or every group held, each to
 * the best standby; "switchover GROUP NODE": that group to that node.
 */
static void
switchover(const char *line, struct out *o)
{
	char buf[CTL_REQ_MAX], *name, *save, *to = NULL;
	const char *why;
	uint32_t mask = 0;
	int g, ngiven = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	strtok_r(buf, " \t", &save);	/* the command */
	while ((name = strtok_r(NULL, " \t", &save)) != NULL) {
		for (g = 0; g < d.ngroups; g++)
			if (strcmp(d.cfg.groups[g].name, name) == 0)
				break;
		if (g < d.ngroups && to == NULL) {
			mask |= 1u << g;
			ngiven++;
			continue;
		}
		/* a second word that is no group: the node to hand over to */
		if (ngiven == 1 && to == NULL) {
			to = name;
			continue;
		}
		if (to)
			out_printf(o, CTL_PROTO " error: switchover refused: "
			    "one group, then one node: GROUP NODE\n");
		else
			out_printf(o, CTL_PROTO " error: switchover refused: "
			    "no group named %s\n", name);
		return;
	}
	if (daemon_switchover(mask, to, &why) == -1) {
		out_printf(o, CTL_PROTO " error: switchover refused: %s\n", why);
		return;
	}
	out_printf(o, CTL_PROTO " ok\n");
	for (g = 0; g < d.ngroups; g++)
		if (mask ? mask & (1u << g) : d.groups[g].fsm.handover)
			out_printf(o, "switchover%s%s to %s started\n",
			    d.cfg.groups_explicit ? " of " : "",
			    d.cfg.groups_explicit ? d.cfg.groups[g].name : "",
			    d.groups[g].fsm.peer.name);
}

/* body: a reply's text that is not in o (metrics: it may be larger) */
static void
handle(const char *req, struct out *o, struct iovec *body)
{
	char cmd[CTL_REQ_MAX], arg[CTL_REQ_MAX];
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
		static struct status_snapshot s;

		status_fill(&s, now_ms());
		out_printf(o, CTL_PROTO " %s\n", status_healthy(&s) ? "ok" : "unhealthy");
		if (n == 1)
			status_write_text(&s, o);
		else
			status_write_json(&s, o);
	} else if (strcmp(cmd, "metrics") == 0 && n == 1) {
		if ((body->iov_base = (void *)metrics_render(&body->iov_len)) ==
		    NULL) {
			out_printf(o, CTL_PROTO " error: out of memory\n");
			return;
		}
		out_printf(o, CTL_PROTO " ok\n");
	} else if (strcmp(cmd, "switchover") == 0) {
		switchover(req + sizeof(CTL_PROTO), o);
	} else if (strcmp(cmd, "maintenance") == 0 && n == 2 &&
	    (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0)) {
		daemon_maintenance(strcmp(arg, "on") == 0);
		out_printf(o, CTL_PROTO " ok\nmaintenance %s\n", arg);
	} else if (strcmp(cmd, "reload") == 0 && n == 1) {
		if (daemon_reload(o->buf + o->len, o->size - o->len - 64) == -1) {
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

/* The one reply, then close: replies fit the socket buffer (raised here
 * and below), so never wait for a reader. */
static void
client_reply(struct client *c, const struct out *o, const struct iovec *body)
{
	struct iovec iov[2] = { { o->buf, o->len }, { NULL, 0 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t len = o->len;
	int sndbuf;

	if (body != NULL)
		iov[1] = *body;
	len += iov[1].iov_len;
	if (len > CTL_OUT_MAX) {
		sndbuf = (int)len + 4096;
		if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
		    sizeof(sndbuf)) == -1)
			setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
			    sizeof(sndbuf));
	}
	if (sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		log_debug("control: short reply");
	client_close(c);
}

static void
client_timeout(void *arg)
{
	struct client *c = arg;
	struct out *o;

	if (c->len == 0) {
		client_close(c);	/* said nothing: nothing to answer */
		return;
	}
	o = reply_start();
	out_printf(o, CTL_PROTO " error: request incomplete after %d ms\n",
	    CTL_TIMEOUT_MS);
	client_reply(c, o, NULL);
}

static void
client_readable(int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	struct iovec body = { NULL, 0 };
	struct out *o;
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
	o = reply_start();
	if ((nl = memchr(c->req, '\n', c->len)) == NULL) {
		if (n > 0 && c->len < sizeof(c->req) - 1)
			return;
		out_printf(o, CTL_PROTO " error: %s\n", n == 0 ?
		    "request ends without a newline" : "request too long");
	} else if (memchr(c->req, '\0', (size_t)(nl - c->req)) != NULL) {
		out_printf(o, CTL_PROTO " error: request contains a NUL byte\n");
	} else {
		*nl = '\0';
		handle(c->req, o, &body);
	}
	client_reply(c, o, &body);
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
