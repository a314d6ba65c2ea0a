/*
 * GET /metrics over HTTP (design 10), served by libmicrohttpd from the
 * daemon's one event loop: MHD runs without threads ("external" epoll
 * mode); its epoll fd is one more fd of loop.c, and MHD_run(), which never
 * blocks, runs when that fd is readable or when MHD's own timeout is due.
 * A client, however slow or hostile, costs at most one of METRICS_CONNS
 * connections, METRICS_CONN_MEM bytes of MHD's memory and METRICS_IDLE_S
 * seconds of idleness; a round of the loop does at most one bounded MHD
 * run, so heartbeats are never held up. Requests within METRICS_FRESH_MS
 * share one rendering: a flood of scrapes does not make a flood of
 * status_fill() calls (each asks the kernel about every VIP).
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "mhd_dl.h"
#include "status.h"

#define METRICS_CONNS		64		/* at once; more wait in the backlog */
#define METRICS_BACKLOG		128
#define METRICS_IDLE_S		5		/* a connection silent this long is closed */
#define METRICS_CONN_MEM	(16 * 1024)	/* MHD's buffer per connection */
#define METRICS_FRESH_MS	100
#define METRICS_TEXT_MIN	(64 * 1024)
#define METRICS_TEXT_MAX	(4 * 1024 * 1024)	/* the largest config makes ~300 KB */

static struct {
	struct MHD_Daemon	*mhd;
	int			 epfd;		/* MHD's, in our loop */
	struct loop_timer	 timer;		/* MHD's timeout */
	bool			 on;
	struct sockaddr_storage	 addr;		/* what runs */
	socklen_t		 salen;
	int			 pending;	/* bound by prepare, for apply */
	struct MHD_Response	*latest;	/* the newest rendering */
	uint64_t		 latest_at;
	struct MHD_Response	*not_found, *not_allowed;
	bool			 closed;	/* a connection closed in this run */
} m = { .epfd = -1, .pending = -1 };

static char *text;
static size_t text_size;

static int
grow(void)
{
	size_t want = text_size ? text_size * 2 : METRICS_TEXT_MIN;
	char *nb;

	if ((nb = realloc(text, want)) == NULL)
		return -1;
	text = nb;
	text_size = want;
	return 0;
}

const char *
metrics_render(size_t *len)
{
	static struct status_snapshot s;
	struct out o;

	status_fill(&s, now_ms());
	if (text_size == 0 && grow() == -1)
		return NULL;
	for (;;) {
		o = (struct out){ text, text_size, 0 };
		metrics_write(&s, &o);
		if (o.len < o.size)
			break;
		if (text_size >= METRICS_TEXT_MAX) {
			/* cannot happen (see METRICS_TEXT_MAX): whole lines only */
			while (o.len > 0 && text[o.len - 1] != '\n')
				o.len--;
			break;
		}
		if (grow() == -1)
			return NULL;
	}
	*len = o.len;
	return text;
}

/* "FILE:LINE: metrics.listen ADDR:PORT: why" */
static int
bind_error(const struct config *c, char *err, size_t errlen, int fd)
{
	int e = errno;

	if (fd != -1)
		close(fd);
	return config_error(c, c->metrics.line, err, errlen,
	    "metrics.listen %s: %s", c->metrics.listen, strerror(e));
}

/* A listening socket on the configured address; -1 with err. */
static int
bind_listen(const struct config *c, char *err, size_t errlen)
{
	int fd, on = 1;

	fd = socket(c->metrics.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return bind_error(c, err, errlen, fd);
	/* a restart must not wait for the old connections' TIME_WAIT */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&c->metrics.addr,
	    c->metrics.salen) == -1 || listen(fd, METRICS_BACKLOG) == -1)
		return bind_error(c, err, errlen, fd);
	return fd;
}

static struct MHD_Response *
response(const char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;

	r = lm.create_response_from_buffer(len, (void *)body, mode);
	if (r != NULL)
		lm.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    METRICS_CONTENT_TYPE);
	return r;
}

/* The newest rendering, made now unless one is fresh enough. */
static struct MHD_Response *
latest(void)
{
	uint64_t now = now_ms();
	struct MHD_Response *r;
	const char *t;
	size_t len;

	if (m.latest != NULL && now - m.latest_at < METRICS_FRESH_MS)
		return m.latest;
	if ((t = metrics_render(&len)) == NULL ||
	    (r = response(t, len, MHD_RESPMEM_MUST_COPY)) == NULL)
		return m.latest;	/* out of memory: the last one, if any */
	/* connections still sending the old one keep it until they are done */
	if (m.latest != NULL)
		lm.destroy_response(m.latest);
	m.latest = r;
	m.latest_at = now;
	return r;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct MHD_Response *r;

	/* answered at once, from the headers: a body is never read */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return lm.queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    m.not_allowed);
	if (strcmp(url, "/metrics") != 0)
		return lm.queue_response(c, MHD_HTTP_NOT_FOUND, m.not_found);
	if ((r = latest()) == NULL)
		return MHD_NO;		/* closes the connection */
	return lm.queue_response(c, MHD_HTTP_OK, r);
}

/* MHD's complaints are about clients: debug level, never a flood */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("metrics: %s", buf);
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_ConnectionNotificationCode what)
{
	if (what == MHD_CONNECTION_NOTIFY_CLOSED)
		m.closed = true;
}

static void run(void);

static void
on_timer(void *arg)
{
	run();
}

static void
on_ready(int fd, uint32_t events, void *arg)
{
	run();
}

/*
 * One MHD run, then wake up for MHD's next timeout. At least 1 ms later:
 * a timer due now would run again in this very round (loop.c rescans), and
 * MHD with work left says 0. After a connection closed, once more: at its
 * connection limit MHD stops listening, and starts again only in a run
 * after the close, which its timeout does not ask for.
 */
static void
run(void)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (m.mhd == NULL)
		return;
	m.closed = false;
	lm.run(m.mhd);
	if (lm.get_timeout(m.mhd, &ms) == MHD_NO)
		ms = m.closed ? 1 : 0;
	else if (m.closed || ms == 0)
		ms = 1;
	if (ms)
		loop_timer_set(&m.timer, now_ms() + ms, on_timer, NULL);
	else
		loop_timer_cancel(&m.timer);
}

static void
stop(void)
{
	loop_timer_cancel(&m.timer);
	if (m.epfd != -1)
		loop_del_fd(m.epfd);
	m.epfd = -1;
	/* closes the listening socket and every connection */
	if (m.mhd != NULL)
		lm.stop_daemon(m.mhd);
	m.mhd = NULL;
	m.on = false;
}

/* Serve on fd, bound to c's address. */
static int
serve(const struct config *c, int fd)
{
	static const char nf[] = "failoverd: the metrics are at /metrics\n";
	static const char na[] = "failoverd: only GET and HEAD\n";
	const union MHD_DaemonInfo *info;

	if (m.not_found == NULL) {
		m.not_found = response(nf, sizeof(nf) - 1, MHD_RESPMEM_PERSISTENT);
		m.not_allowed = response(na, sizeof(na) - 1,
		    MHD_RESPMEM_PERSISTENT);
		if (m.not_allowed != NULL)
			lm.add_response_header(m.not_allowed,
			    MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	}
	m.mhd = lm.start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, handle, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONN_MEM,
	    MHD_OPTION_END);
	if (m.mhd == NULL || m.not_found == NULL || m.not_allowed == NULL ||
	    (info = lm.get_daemon_info(m.mhd, MHD_DAEMON_INFO_EPOLL_FD)) ==
	    NULL || loop_add_fd(info->epoll_fd, EPOLLIN, on_ready, NULL) == -1) {
		log_warnx("metrics: cannot start the HTTP server on %s",
		    c->metrics.listen);
		stop();
		return -1;
	}
	m.epfd = info->epoll_fd;
	m.on = true;
	m.addr = c->metrics.addr;
	m.salen = c->metrics.salen;
	log_info("metrics: serving http://%s/metrics", c->metrics.listen);
	run();
	return 0;
}

/* libmicrohttpd, the first time metrics are on (mhd_dl.h) */
int
metrics_http_load(const struct config *c, char *err, size_t errlen)
{
	char why[512];

	if (c->metrics.enabled && mhd_dl_open(why, sizeof(why)) == -1)
		return config_error(c, c->metrics.line, err, errlen, "%s", why);
	return 0;
}

int
metrics_http_init(const struct config *c, char *err, size_t errlen)
{
	int fd;

	if (!c->metrics.enabled)
		return 0;
	if (metrics_http_load(c, err, errlen) == -1 ||
	    (fd = bind_listen(c, err, errlen)) == -1)
		return -1;
	if (serve(c, fd) == -1)
		return config_error(c, c->metrics.line, err, errlen,
		    "metrics.listen %s: cannot start the HTTP server",
		    c->metrics.listen);
	return 0;
}

static bool
unchanged(const struct config *nc)
{
	return m.on == nc->metrics.enabled && (!m.on ||
	    (m.salen == nc->metrics.salen &&
	    memcmp(&m.addr, &nc->metrics.addr, m.salen) == 0));
}

int
metrics_http_prepare(const struct config *nc, char *err, size_t errlen)
{
	if (m.pending != -1)
		close(m.pending);
	m.pending = -1;
	if (unchanged(nc) || !nc->metrics.enabled)
		return 0;
	if (metrics_http_load(nc, err, errlen) == -1 ||
	    (m.pending = bind_listen(nc, err, errlen)) == -1)
		return -1;
	return 0;
}

void
metrics_http_apply(const struct config *nc)
{
	int fd = m.pending;

	m.pending = -1;
	if (unchanged(nc))
		return;
	if (m.on)
		log_info("metrics: no longer serving on the old address");
	stop();
	if (nc->metrics.enabled && fd != -1)
		(void)serve(nc, fd);
}

void
metrics_http_finalise(void)
{
	stop();
	if (m.pending != -1)
		close(m.pending);
	m.pending = -1;
	if (m.latest != NULL)
		lm.destroy_response(m.latest);
	if (m.not_found != NULL)
		lm.destroy_response(m.not_found);
	if (m.not_allowed != NULL)
		lm.destroy_response(m.not_allowed);
	m.latest = m.not_found = m.not_allowed = NULL;
	free(text);
	text = NULL;
	text_size = 0;
}
