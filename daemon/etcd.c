/*
 * Asynchronous etcd v3 client (see etcd.h) on libcurl's multi "socket"
 * interface, on the daemon's loop.
 *
 * Plumbing, after metrics_http.c: libcurl's sockets go into an epoll set
 * of our own (CURLMOPT_SOCKETFUNCTION adds, modifies and removes them);
 * that epoll fd is one fd of loop.c. When it is readable, a zero-timeout
 * epoll_wait() says which sockets are ready and lc.multi_socket_action()
 * runs on each: never a blocking call. CURLMOPT_TIMERFUNCTION arms one
 * loop timer, whose expiry runs lc.multi_socket_action(TIMEOUT).
 *
 * Requests: one struct req per request, one easy handle each, a fixed body
 * and a bounded answer buffer. An attempt that fails (connection refused,
 * timeout, HTTP error without an etcd answer, an etcd "unavailable") goes
 * to the next member, until every member was tried once; the member that
 * answered becomes the first to try for the next request. A member not
 * asked for a while is probed (/v3/maintenance/status) so that status
 * can tell which members are reachable.
 */
#include <sys/epoll.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_dl.h"

#include "etcd.h"
#include "etcd_json.h"
#include "log.h"
#include "loop.h"

#define RESP_MAX	(256 * 1024)	/* bigger answers are refused */
#define RETRY_MS	100		/* after a request failed on every member */
#define GRANT_RETRY_MS	250
#define GRPC_DEADLINE	4
#define GRPC_UNAVAILABLE 14

enum kind { K_GRANT, K_KEEPALIVE, K_ADOPT, K_TTL, K_REVOKE, K_KEY, K_PROBE };

static const char *const kind_path[] = {
	[K_GRANT] = "/v3/lease/grant",
	[K_KEEPALIVE] = "/v3/lease/keepalive",
	[K_ADOPT] = "/v3/lease/keepalive",
	[K_TTL] = "/v3/lease/timetolive",
	[K_REVOKE] = "/v3/lease/revoke",
	[K_KEY] = "/v3/kv/txn",		/* a holder query: /v3/kv/range */
	[K_PROBE] = "/v3/maintenance/status",
};

struct req {
	enum kind	 kind;
	enum etcd_op	 op;		/* K_KEY */
	int		 g;		/* K_KEY: group index */
	int64_t		 lease;		/* the lease the request is about */
	int		 member;	/* of this attempt */
	int		 tries;
	bool		 fixed_member;	/* K_PROBE: that member only */
	uint64_t	 sent_ms;	/* this attempt */
	char		 body[EJ_REQ_MAX];
	size_t		 body_len;
	char		*resp;
	size_t		 resp_len, resp_cap;
	bool		 too_big;
	CURL		*easy;
	char		 errbuf[CURL_ERROR_SIZE];
	struct req	*next;
};

struct member {
	char		 url[CFG_URL_MAX];
	uint64_t	 ok_at, fail_at, asked_at;	/* 0 = never */
	char		 error[96];
};

struct group {
	char		 name[CFG_NAME_MAX + 1];
	char		 key[EJ_KEY_MAX + 1];
	enum etcd_result state;
	char		 holder[EJ_VALUE_MAX + 1];
	int64_t		 holder_lease;
	uint64_t	 seen_at;
	bool		 adopted;	/* under our adopted lease, not yet claimed */
};

static struct {
	bool		 on;
	struct cfg_quorum q;
	unsigned	 cluster_id;
	char		 node[CFG_NAME_MAX + 1];
	char		 lease_file[PATH_MAX];	/* "" = none */
	uint32_t	 adopt_grace_ms, poll_ms;
	struct etcd_callbacks cb;

	CURLM		*multi;
	int		 epfd;
	struct loop_timer curl_timer;
	struct curl_slist *headers;
	struct req	*reqs;			/* in flight */

	struct member	 members[CFG_MAX_ETCD];
	int		 nmembers, current;

	/* the lease */
	int64_t		 lease, ttl_s;
	uint64_t	 valid_until;
	bool		 adopted;
	bool		 adopting;		/* at start: old_lease is to adopt */
	int64_t		 old_lease;		/* from the file: to adopt or revoke */
	bool		 lease_busy;		/* a grant/keepalive/adopt in flight */
	bool		 revoking;		/* etcd_revoke(): no new grant */
	struct loop_timer lease_timer;		/* next keepalive or grant */
	struct loop_timer expire_timer;		/* the safe bound */
	struct loop_timer adopt_timer;		/* end of adopt_grace_ms */
	struct loop_timer probe_timer;
	struct loop_timer poll_timer;

	struct group	 groups[ETCD_GROUPS_MAX];
	int		 ngroups;
} E = { .epfd = -1 };

static void lease_step(void *);

uint32_t
etcd_request_timeout_ms(void)
{
	/* members are tried one after another: two dead ones still leave a
	   renewal sent at ttl/3 inside the lease's margin (ttl/4) */
	uint32_t t = E.q.ttl_s * 1000 / 8;

	return t < 100 ? 100 : t > 2000 ? 2000 : t;
}

static uint32_t
ttl_ms(void)
{
	int64_t t = E.ttl_s > 0 ? E.ttl_s : (int64_t)E.q.ttl_s;

	return (uint32_t)(t > 3600 ? 3600000 : t * 1000);
}

const char *
etcd_result_name(enum etcd_result r)
{
	switch (r) {
	case ETCD_HELD:
		return "held";
	case ETCD_HELD_OTHER:
		return "held-by-other";
	case ETCD_FREE:
		return "free";
	default:
		return "unknown";
	}
}

const char *
etcd_op_name(enum etcd_op op)
{
	static const char *const names[] = { "acquire", "takeover", "release",
		"holder" };

	return (unsigned)op < 4 ? names[op] : "?";
}

/* --- the lease file --- */

static void
lease_file_write(int64_t id)
{
	char tmp[PATH_MAX + 8], buf[128];
	int fd, len;

	if (E.lease_file[0] == '\0')
		return;
	if (id == 0) {
		if (unlink(E.lease_file) == -1 && errno != ENOENT)
			log_warn("etcd: %s", E.lease_file);
		return;
	}
	len = snprintf(buf, sizeof(buf), "%" PRId64 " %u %s\n", id,
	    E.cluster_id, E.node);
	snprintf(tmp, sizeof(tmp), "%s.tmp", E.lease_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 || write(fd, buf, (size_t)len) != len || close(fd) == -1 ||
	    rename(tmp, E.lease_file) == -1) {
		log_warn("etcd: cannot write %s", E.lease_file);
		if (fd != -1)
			unlink(tmp);
	}
}

/* The lease our earlier run left, if it was this node's in this cluster. */
static int64_t
lease_file_read(void)
{
	char buf[128], name[CFG_NAME_MAX + 2];
	long long id;
	unsigned cid;
	ssize_t n;
	int fd;

	if (E.lease_file[0] == '\0')
		return 0;
	fd = open(E.lease_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lld %u %32s", &id, &cid, name) != 3 || id <= 0 ||
	    cid != E.cluster_id || strcmp(name, E.node) != 0) {
		log_info("etcd: ignoring %s (not a lease of %s in cluster %u)",
		    E.lease_file, E.node, E.cluster_id);
		return 0;
	}
	return id;
}

/* --- groups --- */

static int
group_index(const char *name, bool create)
{
	int i;

	for (i = 0; i < E.ngroups; i++)
		if (strcmp(E.groups[i].name, name) == 0)
			return i;
	if (!create || E.ngroups == ETCD_GROUPS_MAX || name[0] == '\0' ||
	    strlen(name) > CFG_NAME_MAX || strchr(name, '/') != NULL)
		return -1;
	struct group *g = &E.groups[E.ngroups];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	if ((size_t)snprintf(g->key, sizeof(g->key), "%s/%u/%s", E.q.prefix,
	    E.cluster_id, name) >= sizeof(g->key))
		return -1;
	return E.ngroups++;
}

/* "PREFIX/CLUSTER/NAME" -> NAME, or NULL when not one of our cluster's. */
static const char *
group_of_key(const char *key)
{
	char pre[EJ_KEY_MAX + 1];
	size_t n;

	n = (size_t)snprintf(pre, sizeof(pre), "%s/%u/", E.q.prefix,
	    E.cluster_id);
	if (n >= sizeof(pre) || strncmp(key, pre, n) != 0 || key[n] == '\0' ||
	    strchr(key + n, '/') != NULL)
		return NULL;
	return key + n;
}

/* --- members --- */

static void
member_ok(int m, uint64_t now)
{
	E.members[m].ok_at = now;
}

static void
member_fail(int m, uint64_t now, const char *why)
{
	struct member *mb = &E.members[m];

	if (mb->fail_at <= mb->ok_at)	/* newly failing: say so once */
		log_info("etcd: %s: %s", mb->url, why);
	mb->fail_at = now;
	snprintf(mb->error, sizeof(mb->error), "%s", why);
}

static bool
member_reachable(int m, uint64_t now)
{
	const struct member *mb = &E.members[m];

	return mb->ok_at != 0 && mb->ok_at >= mb->fail_at &&
	    now - mb->ok_at <= 2 * (uint64_t)ttl_ms();
}

/* --- requests --- */

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n, cap;
	char *nb;

	if (r->resp_len + len + 1 > RESP_MAX) {
		r->too_big = true;
		return 0;		/* aborts the transfer */
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		cap = r->resp_cap ? r->resp_cap : 1024;
		while (cap < r->resp_len + len + 1)
			cap *= 2;
		if ((nb = realloc(r->resp, cap)) == NULL)
			return 0;
		r->resp = nb;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, p, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

static void
req_free(struct req *r)
{
	struct req **pp;

	for (pp = &E.reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (r->easy) {
		lc.multi_remove_handle(E.multi, r->easy);
		lc.easy_cleanup(r->easy);
	}
	free(r->resp);
	free(r);
}

static const char *
req_path(const struct req *r)
{
	return r->kind == K_KEY && r->op == ETCD_OP_HOLDER ? "/v3/kv/range" :
	    kind_path[r->kind];
}

/* Start the attempt on r->member; -1 if libcurl refuses. */
static int
attempt(struct req *r)
{
	char url[CFG_URL_MAX + 64];
	long t = (long)etcd_request_timeout_ms();

	snprintf(url, sizeof(url), "%s%s", E.members[r->member].url,
	    req_path(r));
	r->resp_len = 0;
	r->too_big = false;
	r->errbuf[0] = '\0';
	if (r->easy == NULL) {
		if ((r->easy = lc.easy_init()) == NULL)
			return -1;
		lc.easy_setopt(r->easy, CURLOPT_PRIVATE, r);
		lc.easy_setopt(r->easy, CURLOPT_HTTPHEADER, E.headers);
		lc.easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		lc.easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
		lc.easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data);
		lc.easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
		lc.easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
		lc.easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
		lc.easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, t);
		lc.easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, t);
#if LIBCURL_VERSION_NUM >= 0x075500
		lc.easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
		lc.easy_setopt(r->easy, CURLOPT_PROTOCOLS,
		    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
		lc.easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
		/* no proxy from the environment: etcd is on our network */
		lc.easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
		if (E.q.ca_file[0])
			lc.easy_setopt(r->easy, CURLOPT_CAINFO, E.q.ca_file);
		if (E.q.cert_file[0]) {
			lc.easy_setopt(r->easy, CURLOPT_SSLCERT, E.q.cert_file);
			lc.easy_setopt(r->easy, CURLOPT_SSLKEY, E.q.key_file);
		}
	}
	lc.easy_setopt(r->easy, CURLOPT_URL, url);
	r->sent_ms = now_ms();
	E.members[r->member].asked_at = r->sent_ms;
	if (lc.multi_add_handle(E.multi, r->easy) != CURLM_OK)
		return -1;
	return 0;
}

static void complete(struct req *r, CURLcode rc);

/* A new request; its first attempt goes to the current member. */
static struct req *
submit(enum kind kind, int member)
{
	struct req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->kind = kind;
	r->g = -1;
	r->fixed_member = member >= 0;
	r->member = member >= 0 ? member : E.current;
	r->lease = E.lease;
	r->next = E.reqs;
	E.reqs = r;
	return r;
}

static int
send_req(struct req *r, int body_len)
{
	if (body_len < 0) {
		req_free(r);
		return -1;
	}
	r->body_len = (size_t)body_len;
	if (attempt(r) == -1) {
		log_warnx("etcd: libcurl refused a request");
		req_free(r);
		return -1;
	}
	return 0;
}

/* --- results --- */

static void
key_event(int gi, enum etcd_op op, enum etcd_result res, const struct ej_kv *kv,
    const char *error)
{
	struct group *g = &E.groups[gi];
	struct etcd_key_event ev = { .group = g->name, .op = op, .result = res,
		.holder = "", .error = error ? error : "" };

	if (res != ETCD_UNKNOWN) {
		g->state = res;
		g->seen_at = now_ms();
		g->holder[0] = '\0';
		g->holder_lease = 0;
		if (kv && kv->present) {
			snprintf(g->holder, sizeof(g->holder), "%s", kv->value);
			g->holder_lease = kv->lease;
		}
		if (res != ETCD_HELD)
			g->adopted = false;
		ev.holder = g->holder;
		ev.holder_lease = g->holder_lease;
	}
	if (E.cb.key)
		E.cb.key(&ev, E.cb.arg);
}

/* No lease any more: the keys it carried are now `keys` (unknown, or free). */
static void
lease_forget(enum etcd_result keys)
{
	E.lease = 0;
	E.valid_until = 0;
	E.adopted = false;
	loop_timer_cancel(&E.expire_timer);
	for (int i = 0; i < E.ngroups; i++)
		if (E.groups[i].state == ETCD_HELD) {
			E.groups[i].state = keys;
			E.groups[i].adopted = false;
		}
}

static void
lease_lost(const char *why)
{
	if (E.lease == 0)
		return;
	log_warnx("etcd: lease %" PRIx64 " lost: %s", (uint64_t)E.lease, why);
	E.old_lease = E.lease;	/* revoked, best effort, before the next grant */
	lease_forget(ETCD_UNKNOWN);
	loop_timer_cancel(&E.adopt_timer);
	if (E.cb.lease)
		E.cb.lease(false, E.cb.arg);
	if (!E.lease_busy)
		loop_timer_set(&E.lease_timer, now_ms(), lease_step, NULL);
}

static void
on_expire(void *arg)
{
	if (E.lease != 0 && now_ms() >= E.valid_until)
		lease_lost("no renewal succeeded before its safe bound");
}

/* A successful grant, keepalive or adoption of id, sent at sent_ms. */
static void
lease_renewed(int64_t id, int64_t ttl, uint64_t sent_ms, bool fresh)
{
	uint64_t until = sent_ms + (uint64_t)ttl * 1000;

	E.ttl_s = ttl;
	if (fresh) {
		E.lease = id;
		E.valid_until = until;
		lease_file_write(id);
	} else if (until > E.valid_until)
		E.valid_until = until;
	loop_timer_set(&E.expire_timer, E.valid_until, on_expire, NULL);
	/* the next renewal a third of the TTL after this one was sent */
	/* every ttl/4: the VIPs' 1 s lifetimes are renewed with the lease */
	loop_timer_set(&E.lease_timer, sent_ms + ttl_ms() / 4, lease_step, NULL);
	if (E.cb.renewed)
		E.cb.renewed(E.valid_until, E.cb.arg);
}

static void
adopt_grace_over(void *arg)
{
	int i;

	for (i = 0; i < E.ngroups; i++) {
		if (!E.groups[i].adopted)
			continue;
		E.groups[i].adopted = false;
		log_info("etcd: group %s: releasing the key left by our earlier"
		    " run (not claimed)", E.groups[i].name);
		etcd_release(E.groups[i].name);
	}
}

/* etcd answered r (HTTP and JSON fine, or an etcd error object). */
static void
handle(struct req *r, int rc, const struct ej_error *err)
{
	struct ej_lease l;
	struct ej_txn t;
	struct ej_ttl tt;
	struct ej_error e2;
	uint64_t now = now_ms();
	const char *name;
	int i, gi;

	switch (r->kind) {
	case K_GRANT:
		E.lease_busy = false;
		if (rc != EJ_OK || ej_parse_lease(r->resp, r->resp_len, &l,
		    &e2) != EJ_OK || l.ttl <= 0) {
			log_warnx("etcd: lease grant refused: %s", rc == EJ_ERR ?
			    err->message : "bad answer");
			loop_timer_set(&E.lease_timer, now + GRANT_RETRY_MS,
			    lease_step, NULL);
			return;
		}
		if (E.revoking) {	/* etcd_revoke() meanwhile: give it back */
			E.lease = l.id;
			etcd_revoke();
			return;
		}
		log_info("etcd: lease %" PRIx64 " granted, TTL %" PRId64 " s",
		    (uint64_t)l.id, l.ttl);
		lease_renewed(l.id, l.ttl, r->sent_ms, true);
		if (E.cb.lease)
			E.cb.lease(true, E.cb.arg);
		return;
	case K_KEEPALIVE:
		E.lease_busy = false;
		if (r->lease != E.lease) {
			/* about a lease given up meanwhile: on with the next */
			loop_timer_set(&E.lease_timer, now, lease_step, NULL);
			return;
		}
		if (rc == EJ_OK && ej_parse_lease(r->resp, r->resp_len, &l,
		    &e2) == EJ_OK && l.id == r->lease) {
			if (l.ttl > 0)
				lease_renewed(l.id, l.ttl, r->sent_ms, false);
			else
				lease_lost("etcd says it has expired");
			return;
		}
		if (rc == EJ_ERR && err->code == EJ_CODE_NOT_FOUND) {
			lease_lost("etcd says it is not found");
			return;
		}
		loop_timer_set(&E.lease_timer, now + RETRY_MS, lease_step, NULL);
		return;
	case K_ADOPT:
		E.lease_busy = false;
		if (rc == EJ_OK && ej_parse_lease(r->resp, r->resp_len, &l,
		    &e2) == EJ_OK && l.id == r->lease && l.ttl > 0 &&
		    !E.revoking) {
			log_info("etcd: lease %" PRIx64 " of our earlier run"
			    " adopted, TTL %" PRId64 " s", (uint64_t)l.id, l.ttl);
			E.adopting = false;
			E.old_lease = 0;
			E.adopted = true;
			lease_renewed(l.id, l.ttl, r->sent_ms, true);
			/* which keys it carries: timetolive */
			struct req *q = submit(K_TTL, -1);
			if (q != NULL)
				send_req(q, ej_req_timetolive(q->body,
				    sizeof(q->body), E.lease));
			if (E.cb.lease)
				E.cb.lease(true, E.cb.arg);
			return;
		}
		log_info("etcd: the lease of our earlier run is gone");
		E.adopting = false;
		E.old_lease = 0;
		lease_file_write(0);
		loop_timer_set(&E.lease_timer, now, lease_step, NULL);
		return;
	case K_TTL:
		if (rc != EJ_OK || r->lease != E.lease ||
		    ej_parse_timetolive(r->resp, r->resp_len, &tt, &e2) != EJ_OK)
			return;
		for (i = 0; i < tt.nkeys; i++) {
			if ((name = group_of_key(tt.keys[i])) == NULL ||
			    (gi = group_index(name, true)) == -1)
				continue;
			if (E.groups[gi].state == ETCD_HELD &&
			    !E.groups[gi].adopted)
				continue;	/* already claimed */
			E.groups[gi].state = ETCD_HELD;
			E.groups[gi].adopted = true;
			E.groups[gi].holder_lease = E.lease;
			E.groups[gi].seen_at = now;
			snprintf(E.groups[gi].holder, sizeof(E.groups[gi].holder),
			    "%s", E.node);
			log_info("etcd: group %s: key %s still ours (adopted);"
			    " released unless claimed within %u ms", name,
			    tt.keys[i], E.adopt_grace_ms ? E.adopt_grace_ms :
			    3 * ttl_ms());
		}
		loop_timer_set(&E.adopt_timer, now + (E.adopt_grace_ms ?
		    E.adopt_grace_ms : 3 * ttl_ms()), adopt_grace_over, NULL);
		return;
	case K_REVOKE:
		if (rc == EJ_OK || (rc == EJ_ERR && err->code ==
		    EJ_CODE_NOT_FOUND)) {
			log_info("etcd: lease %" PRIx64 " revoked",
			    (uint64_t)r->lease);
			if (r->lease == E.old_lease)
				E.old_lease = 0;
		}
		if (E.revoking && r->lease == E.lease) {
			lease_forget(ETCD_FREE);
			loop_timer_cancel(&E.lease_timer);
			if (rc == EJ_OK || err->code == EJ_CODE_NOT_FOUND)
				lease_file_write(0);
			if (E.cb.lease)
				E.cb.lease(false, E.cb.arg);
		} else if (!E.revoking && E.lease == 0 && !E.lease_busy)
			loop_timer_set(&E.lease_timer, now, lease_step, NULL);
		return;
	case K_PROBE:
		return;
	case K_KEY:
		break;
	}

	/* K_KEY */
	if (rc == EJ_ERR) {
		key_event(r->g, r->op, ETCD_UNKNOWN, NULL, err->message);
		return;
	}
	if (r->op == ETCD_OP_HOLDER) {
		memset(&t, 0, sizeof(t));
		if (ej_parse_range(r->resp, r->resp_len, &t.kv, &e2) != EJ_OK) {
			key_event(r->g, r->op, ETCD_UNKNOWN, NULL, "bad answer");
			return;
		}
	} else if (ej_parse_txn(r->resp, r->resp_len, &t, &e2) != EJ_OK) {
		key_event(r->g, r->op, ETCD_UNKNOWN, NULL, "bad answer");
		return;
	}
	if (t.succeeded) {
		switch (r->op) {
		case ETCD_OP_ACQUIRE:
		case ETCD_OP_TAKEOVER:
			/* put under r->lease: held while that lease is ours */
			t.kv.present = true;
			snprintf(t.kv.value, sizeof(t.kv.value), "%s", E.node);
			t.kv.lease = r->lease;
			if (r->lease != E.lease) {
				key_event(r->g, r->op, ETCD_UNKNOWN, NULL,
				    "the lease was lost meanwhile");
				return;
			}
			E.groups[r->g].adopted = false;
			key_event(r->g, r->op, ETCD_HELD, &t.kv, NULL);
			return;
		case ETCD_OP_RELEASE:
			key_event(r->g, r->op, ETCD_FREE, NULL, NULL);
			return;
		default:
			break;
		}
	}
	/* the compare failed (or a query): the range tells who holds it */
	if (!t.kv.present)
		key_event(r->g, r->op, ETCD_FREE, NULL, NULL);
	else if (E.lease != 0 && t.kv.lease == E.lease) {
		if (r->op != ETCD_OP_HOLDER)
			E.groups[r->g].adopted = false;	/* claimed */
		key_event(r->g, r->op, ETCD_HELD, &t.kv, NULL);
	} else
		key_event(r->g, r->op, ETCD_HELD_OTHER, &t.kv, NULL);
}

/* Every member tried: r failed. */
static void
give_up(struct req *r, const char *why)
{
	uint64_t now = now_ms();

	switch (r->kind) {
	case K_GRANT:
	case K_ADOPT:
		E.lease_busy = false;
		loop_timer_set(&E.lease_timer, now + GRANT_RETRY_MS, lease_step,
		    NULL);
		break;
	case K_KEEPALIVE:
		E.lease_busy = false;
		/* again soon: the expire timer says when it is too late */
		if (E.lease != 0)
			loop_timer_set(&E.lease_timer, now + RETRY_MS, lease_step,
			    NULL);
		else
			loop_timer_set(&E.lease_timer, now + GRANT_RETRY_MS,
			    lease_step, NULL);
		break;
	case K_REVOKE:
		if (E.revoking && r->lease == E.lease) {
			/* it will expire by itself after its TTL */
			E.lease = 0;
			E.valid_until = 0;
			loop_timer_cancel(&E.expire_timer);
			loop_timer_cancel(&E.lease_timer);
			if (E.cb.lease)
				E.cb.lease(false, E.cb.arg);
		} else if (E.lease == 0 && !E.lease_busy && !E.revoking) {
			E.old_lease = 0;	/* it expires by itself */
			loop_timer_set(&E.lease_timer, now, lease_step, NULL);
		}
		break;
	case K_KEY:
		key_event(r->g, r->op, ETCD_UNKNOWN, NULL, why);
		break;
	default:
		break;
	}
}

static bool
unavailable(const struct ej_error *e)
{
	return e->code == GRPC_UNAVAILABLE || e->code == GRPC_DEADLINE;
}

static void
complete(struct req *r, CURLcode rc)
{
	struct ej_error err;
	struct ej_lease dummy;
	char why[96];
	uint64_t now = now_ms();
	long http = 0;
	int prc = EJ_BAD;

	lc.multi_remove_handle(E.multi, r->easy);
	lc.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
	memset(&err, 0, sizeof(err));
	if (rc == CURLE_OK && !r->too_big) {
		/* an error object, or (for the kind of answer) a good one */
		prc = ej_parse_lease(r->resp, r->resp_len, &dummy, &err);
		if (prc != EJ_ERR)
			prc = http == 200 && r->resp_len > 0 ? EJ_OK : EJ_BAD;
	}
	if (prc == EJ_OK || (prc == EJ_ERR && !unavailable(&err))) {
		member_ok(r->member, now);
		if (!r->fixed_member)
			E.current = r->member;
		handle(r, prc, &err);
		req_free(r);
		return;
	}
	if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%.90s", r->errbuf[0] ? r->errbuf :
		    lc.easy_strerror(rc));
	else if (prc == EJ_ERR)
		snprintf(why, sizeof(why), "etcd: %.80s", err.message);
	else
		snprintf(why, sizeof(why), "HTTP %ld, not an etcd answer", http);
	member_fail(r->member, now, why);
	if (!r->fixed_member && ++r->tries < E.nmembers) {
		r->member = (r->member + 1) % E.nmembers;
		if (E.current == (r->member + E.nmembers - 1) % E.nmembers)
			E.current = r->member;
		if (attempt(r) == 0)
			return;
	}
	give_up(r, why);
	req_free(r);
}

/* --- libcurl on the loop --- */

static void
drain(void)
{
	CURLMsg *msg;
	struct req *r;
	int left;

	while ((msg = lc.multi_info_read(E.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		lc.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r != NULL)
			complete(r, msg->data.result);
	}
}

static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(E.epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(E.epfd, EPOLL_CTL_MOD, s, &ev) == -1 &&
	    (errno != ENOENT || epoll_ctl(E.epfd, EPOLL_CTL_ADD, s, &ev) == -1))
		log_warn("etcd: epoll_ctl");
	return 0;
}

static void
on_curl_timer(void *arg)
{
	int running;

	lc.multi_socket_action(E.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain();
}

static int
on_timeout_change(CURLM *multi, long ms, void *userp)
{
	if (ms < 0)
		loop_timer_cancel(&E.curl_timer);
	else	/* at least 1 ms: a timer due now would rerun in this round */
		loop_timer_set(&E.curl_timer, now_ms() + (ms > 0 ? (uint64_t)ms :
		    1), on_curl_timer, NULL);
	return 0;
}

static void
on_ready(int fd, uint32_t events, void *arg)
{
	struct epoll_event evs[16];
	int n, i, running, flags;

	n = epoll_wait(E.epfd, evs, 16, 0);
	for (i = 0; i < n; i++) {
		flags = 0;
		if (evs[i].events & (EPOLLIN | EPOLLHUP))
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & EPOLLERR)
			flags |= CURL_CSELECT_ERR;
		lc.multi_socket_action(E.multi, evs[i].data.fd, flags,
		    &running);
	}
	drain();
}

/* --- the lease's steps --- */

static void
lease_step(void *arg)
{
	struct req *r;

	if (!E.on || E.lease_busy || E.revoking)
		return;
	if (E.adopting) {
		/* at start: our earlier run's lease, to adopt if still there */
		if ((r = submit(K_ADOPT, -1)) == NULL)
			goto retry;
		r->lease = E.old_lease;
		E.lease_busy = true;
		if (send_req(r, ej_req_lease(r->body, sizeof(r->body),
		    E.old_lease)) == -1) {
			E.lease_busy = false;
			goto retry;
		}
		return;
	}
	if (E.old_lease != 0 && E.lease == 0) {
		/* a lost lease: revoked before the next grant, best effort */
		int64_t id = E.old_lease;

		if ((r = submit(K_REVOKE, -1)) == NULL)
			goto retry;
		r->lease = id;
		E.old_lease = 0;
		lease_file_write(0);
		if (send_req(r, ej_req_lease(r->body, sizeof(r->body), id)) == -1)
			goto retry;
		return;		/* the revoke's answer starts the grant */
	}
	if (E.lease == 0) {
		if ((r = submit(K_GRANT, -1)) == NULL)
			goto retry;
		E.lease_busy = true;
		if (send_req(r, ej_req_grant(r->body, sizeof(r->body),
		    E.q.ttl_s)) == -1) {
			E.lease_busy = false;
			goto retry;
		}
		return;
	}
	if ((r = submit(K_KEEPALIVE, -1)) == NULL)
		goto retry;
	E.lease_busy = true;
	if (send_req(r, ej_req_lease(r->body, sizeof(r->body), E.lease)) == -1) {
		E.lease_busy = false;
		goto retry;
	}
	return;
retry:
	loop_timer_set(&E.lease_timer, now_ms() + GRANT_RETRY_MS, lease_step,
	    NULL);
}

/* Members not asked for a while get a cheap question: are they there? */
static void
probe(void *arg)
{
	uint64_t now = now_ms(), every = ttl_ms();
	struct req *r;
	int m;

	for (m = 0; m < E.nmembers; m++) {
		if (E.members[m].asked_at != 0 && now - E.members[m].asked_at <
		    every)
			continue;
		if ((r = submit(K_PROBE, m)) == NULL)
			break;
		send_req(r, snprintf(r->body, sizeof(r->body), "{}"));
	}
	loop_timer_set(&E.probe_timer, now + every / 2, probe, NULL);
}

static void
poll_holders(void *arg)
{
	int i;

	for (i = 0; i < E.ngroups; i++)
		etcd_holder(E.groups[i].name);
	loop_timer_set(&E.poll_timer, now_ms() + E.poll_ms, poll_holders, NULL);
}

/* --- API --- */

int
etcd_init(const struct etcd_params *p, char *err, size_t errlen)
{
	int i;

	memset(&E, 0, sizeof(E));
	E.epfd = -1;
	E.q = *p->quorum;
	E.cluster_id = p->cluster_id;
	snprintf(E.node, sizeof(E.node), "%s", p->node);
	E.adopt_grace_ms = p->adopt_grace_ms;
	E.poll_ms = p->holder_poll_ms;
	E.cb = p->cb;
	if (p->state_dir != NULL && (size_t)snprintf(E.lease_file,
	    sizeof(E.lease_file), "%s/%s", p->state_dir, ETCD_LEASE_FILE) >=
	    sizeof(E.lease_file)) {
		snprintf(err, errlen, "etcd: state_dir path too long");
		return -1;
	}
	E.nmembers = E.q.nurls;
	for (i = 0; i < E.nmembers; i++)
		snprintf(E.members[i].url, sizeof(E.members[i].url), "%s",
		    E.q.urls[i]);
	if (E.nmembers < 1) {
		snprintf(err, errlen, "etcd: no member configured");
		return -1;
	}
	if (curl_dl_open(err, errlen) == -1)
		return -1;
	if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (E.multi = lc.multi_init()) == NULL) {
		snprintf(err, errlen, "etcd: cannot initialise libcurl");
		return -1;
	}
	E.headers = lc.slist_append(NULL, "Content-Type: application/json");
	/* no "Expect: 100-continue" wait for a body */
	E.headers = lc.slist_append(E.headers, "Expect:");
	if (E.headers == NULL ||
	    (E.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    loop_add_fd(E.epfd, EPOLLIN, on_ready, NULL) == -1) {
		snprintf(err, errlen, "etcd: %s", strerror(errno));
		etcd_finalise();
		return -1;
	}
	lc.multi_setopt(E.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	lc.multi_setopt(E.multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
	/* one connection per member is plenty */
	lc.multi_setopt(E.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
	E.on = true;
	E.old_lease = lease_file_read();
	E.adopting = E.old_lease != 0;
	loop_timer_set(&E.lease_timer, now_ms(), lease_step, NULL);
	loop_timer_set(&E.probe_timer, now_ms() + ttl_ms() / 2, probe, NULL);
	if (E.poll_ms)
		loop_timer_set(&E.poll_timer, now_ms() + E.poll_ms,
		    poll_holders, NULL);
	return 0;
}

void
etcd_finalise(void)
{
	loop_timer_cancel(&E.lease_timer);
	loop_timer_cancel(&E.expire_timer);
	loop_timer_cancel(&E.adopt_timer);
	loop_timer_cancel(&E.probe_timer);
	loop_timer_cancel(&E.poll_timer);
	loop_timer_cancel(&E.curl_timer);
	while (E.reqs != NULL)
		req_free(E.reqs);
	if (E.multi != NULL)
		lc.multi_cleanup(E.multi);
	E.multi = NULL;
	if (E.headers != NULL)
		lc.slist_free_all(E.headers);
	E.headers = NULL;
	if (E.epfd != -1) {
		loop_del_fd(E.epfd);
		close(E.epfd);
	}
	E.epfd = -1;
	if (E.on)
		lc.global_cleanup();
	E.on = false;
}

int64_t
etcd_lease_id(void)
{
	return E.lease;
}

int64_t
etcd_lease_ttl_s(void)
{
	return E.lease ? E.ttl_s : 0;
}

uint64_t
etcd_lease_valid_until_ms(void)
{
	return E.lease ? E.valid_until : 0;
}

bool
etcd_lease_valid(uint64_t now)
{
	return E.lease != 0 && now < E.valid_until;
}

bool
etcd_lease_adopted(void)
{
	return E.lease != 0 && E.adopted;
}

static int
key_op(const char *group, enum etcd_op op, const char *from)
{
	struct req *r;
	int gi, n;

	if (!E.on || (gi = group_index(group, true)) == -1)
		return -1;
	if (op != ETCD_OP_HOLDER && !etcd_lease_valid(now_ms()))
		return -1;
	if ((r = submit(K_KEY, -1)) == NULL)
		return -1;
	r->op = op;
	r->g = gi;
	switch (op) {
	case ETCD_OP_ACQUIRE:
		n = ej_req_acquire(r->body, sizeof(r->body), E.groups[gi].key,
		    E.node, E.lease);
		break;
	case ETCD_OP_TAKEOVER:
		n = ej_req_takeover(r->body, sizeof(r->body), E.groups[gi].key,
		    from, E.node, E.lease);
		break;
	case ETCD_OP_RELEASE:
		n = ej_req_release(r->body, sizeof(r->body), E.groups[gi].key,
		    E.lease);
		break;
	default:
		n = ej_req_range(r->body, sizeof(r->body), E.groups[gi].key);
		break;
	}
	return send_req(r, n);
}

int
etcd_acquire(const char *group)
{
	return key_op(group, ETCD_OP_ACQUIRE, NULL);
}

int
etcd_takeover(const char *group, const char *from)
{
	if (from == NULL || from[0] == '\0')
		return -1;
	return key_op(group, ETCD_OP_TAKEOVER, from);
}

int
etcd_release(const char *group)
{
	return key_op(group, ETCD_OP_RELEASE, NULL);
}

int
etcd_holder(const char *group)
{
	return key_op(group, ETCD_OP_HOLDER, NULL);
}

int
etcd_revoke(void)
{
	struct req *r;

	if (!E.on)
		return -1;
	E.revoking = true;
	loop_timer_cancel(&E.lease_timer);
	loop_timer_cancel(&E.adopt_timer);
	if (E.lease == 0)
		return E.lease_busy ? 0 : -1;	/* a grant in flight: revoked on arrival */
	if ((r = submit(K_REVOKE, -1)) == NULL)
		return -1;
	r->lease = E.lease;
	return send_req(r, ej_req_lease(r->body, sizeof(r->body), E.lease));
}

void
etcd_to_status(struct etcd_status *s, uint64_t now)
{
	int i;

	memset(s, 0, sizeof(*s));
	if (!E.on)
		return;
	s->enabled = true;
	s->nmembers = E.nmembers;
	for (i = 0; i < E.nmembers; i++) {
		const struct member *m = &E.members[i];

		snprintf(s->members[i].url, sizeof(s->members[i].url), "%s",
		    m->url);
		s->members[i].reachable = member_reachable(i, now);
		s->reachable += s->members[i].reachable;
		s->members[i].ok_ms_ago = m->ok_at ? (int64_t)(now - m->ok_at) : -1;
		s->members[i].fail_ms_ago = m->fail_at ?
		    (int64_t)(now - m->fail_at) : -1;
		snprintf(s->members[i].error, sizeof(s->members[i].error), "%s",
		    m->error);
	}
	s->lease_id = E.lease;
	s->ttl_s = E.lease ? E.ttl_s : 0;
	s->lease_ms_left = E.lease && E.valid_until > now ?
	    (int64_t)(E.valid_until - now) : 0;
	s->adopted = etcd_lease_adopted();
	s->ngroups = E.ngroups;
	for (i = 0; i < E.ngroups; i++) {
		const struct group *g = &E.groups[i];

		snprintf(s->groups[i].name, sizeof(s->groups[i].name), "%s",
		    g->name);
		snprintf(s->groups[i].key, sizeof(s->groups[i].key), "%s", g->key);
		s->groups[i].state = g->state;
		snprintf(s->groups[i].holder, sizeof(s->groups[i].holder), "%s",
		    g->holder);
		s->groups[i].holder_lease = g->holder_lease;
		s->groups[i].seen_ms_ago = g->seen_at ? (int64_t)(now -
		    g->seen_at) : -1;
	}
}
