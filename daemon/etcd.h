/*
 * Quorum from etcd (design 11): an asynchronous client of etcd's v3 JSON
 * gateway on libcurl's multi interface, driven by the daemon's one loop
 * (loop.c). Nothing here ever blocks: libcurl's sockets sit in an epoll set
 * of ours that is one fd of the loop, its timeouts are one loop timer, URLs
 * are IP literals (no DNS), and every request has a short timeout
 * (etcd_request_timeout_ms(): ttl/8, 100..2000 ms) after which it goes to
 * the next member. A slow, dead or blackholed member costs one timeout per
 * request at most, never a late heartbeat.
 *
 * WHO CALLS BACK: every callback in struct etcd_callbacks runs from the
 * loop (while libcurl's completions are processed), never from inside an
 * etcd_* call. A callback may call etcd_acquire/takeover/release/holder/
 * revoke, but not etcd_init/etcd_finalise.
 *
 * THE LEASE. etcd_init() grants one lease of cfg.ttl_s (etcd may grant
 * more: the granted TTL is used) and keeps it alive every ttl/3, counted
 * from the send time of the last successful renewal. A keepalive that
 * etcd answers with TTL 0 (lease gone) or that has not succeeded by the
 * safe bound below makes the lease LOST: callbacks.lease(false), every key
 * of ours is then to be considered gone, and a new lease is granted (the
 * old one is revoked first, best effort, so that no key of ours outlives
 * our belief in it).
 *
 * SAFE BOUND. etcd_lease_valid_until_ms() = (CLOCK_MONOTONIC ms at which
 * the last successful grant/keepalive request was SENT — its attempt on the
 * member that answered) + granted TTL * 1000. etcd starts the lease's new
 * TTL when it processes the request, which is after we sent it, so etcd
 * cannot expire the lease (nor delete our keys) before that instant. The
 * integrator must make the VIPs' kernel valid_lft end before it (e.g.
 * lifetime = (valid_until - now) / 1000 - 1 s margin, refreshed after
 * each lease callback / renewal) and give up a group by then.
 *
 * KEYS. One per group: PREFIX/CLUSTER_ID/GROUP, value = our node name,
 * attached to our lease. etcd_acquire() creates it only if it does not
 * exist (one txn); a key that exists under OUR CURRENT lease counts as
 * held (so an acquire retried after a timeout, or after adoption, is
 * fine). etcd_release() deletes it only if it is under our lease.
 * etcd_takeover(g, from) is for make-before-break handovers: it puts the
 * key under our lease only if its value is `from` (the node handing over
 * tells us so in its heartbeats). Results come through callbacks.key.
 * Several operations on one group may be in flight; their results arrive
 * in completion order, each tagged with its op.
 *
 * RESTART. The lease ID is written (atomically, no fsync: losing it is
 * harmless) to STATE_DIR/etcd-lease with our node name and cluster id.
 * At start, if that file names a lease, we try to ADOPT it: a keepalive
 * on it; if etcd still has it, it is ours again (callbacks.lease(true),
 * etcd_lease_adopted() true) and we ask etcd which keys it carries
 * (timetolive keys=true). Those keys are held by us again, with no gap
 * for the group; but each must be CLAIMED (etcd_acquire(), which then
 * answers held at once) within params.adopt_grace_ms, or it is released
 * (deleted) by this module: a restarted node that does not want a group
 * does not keep its stale key alive. If the old lease is gone (the
 * restart took longer than its TTL), a new lease is granted. Note that
 * the daemon removes stale VIPs at start anyway (design 4): adoption
 * spares the cluster a needless failover, not the VIP's short absence.
 *
 * GRACEFUL STOP. Release (or hand over) the keys, then etcd_revoke(),
 * which deletes whatever is left under the lease and removes the lease
 * file; callbacks.lease(false) follows when etcd confirmed it (or failed
 * to: the lease then simply expires after its TTL).
 */
#ifndef FOD_ETCD_H
#define FOD_ETCD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "etcd_json.h"

#define ETCD_GROUPS_MAX		(CFG_MAX_GROUPS + 8)	/* adopted keys too */
#define ETCD_LEASE_FILE		"etcd-lease"

enum etcd_op {
	ETCD_OP_ACQUIRE,
	ETCD_OP_TAKEOVER,
	ETCD_OP_RELEASE,
	ETCD_OP_HOLDER,		/* a query (etcd_holder or polling) */
};

enum etcd_result {
	ETCD_UNKNOWN,		/* never seen, or the last attempt failed */
	ETCD_HELD,		/* the key exists under our current lease */
	ETCD_HELD_OTHER,	/* it exists under another lease: holder */
	ETCD_FREE,		/* no key */
};

struct etcd_key_event {
	const char		*group;
	enum etcd_op		 op;
	enum etcd_result	 result;	/* ETCD_UNKNOWN: failed, see error */
	const char		*holder;	/* the key's value (a node name), "" if none */
	int64_t			 holder_lease;	/* 0 if none */
	const char		*error;		/* "" unless result is ETCD_UNKNOWN */
};

struct etcd_callbacks {
	/* The lease was granted or adopted (valid) or is lost/revoked (!valid). */
	void	(*lease)(bool valid, void *arg);
	/* Result of an etcd_acquire/takeover/release/holder. */
	void	(*key)(const struct etcd_key_event *, void *arg);
	/* Each successful renewal (the safe bound moved): optional. */
	void	(*renewed)(uint64_t valid_until_ms, void *arg);
	void	*arg;
};

struct etcd_params {
	const struct cfg_quorum	*quorum;	/* copied */
	unsigned		 cluster_id;
	const char		*node;		/* our name: the keys' value */
	const char		*state_dir;	/* for ETCD_LEASE_FILE; NULL = no persistence */
	uint32_t		 adopt_grace_ms; /* 0: 3 * granted TTL */
	uint32_t		 holder_poll_ms; /* 0: no polling; else query every
						    known group this often */
	struct etcd_callbacks	 cb;
};

/* 0, or -1 with a one-line reason in err (libcurl or epoll setup). */
int		 etcd_init(const struct etcd_params *, char *err, size_t errlen);
/* Drops every request in flight; no callback runs. Does not revoke. */
void		 etcd_finalise(void);

/* Lease. 0 when there is none. */
int64_t		 etcd_lease_id(void);
int64_t		 etcd_lease_ttl_s(void);		/* as granted */
uint64_t	 etcd_lease_valid_until_ms(void);	/* safe bound, monotonic ms */
bool		 etcd_lease_valid(uint64_t now_ms);	/* id != 0 && now < bound */
bool		 etcd_lease_adopted(void);		/* from an earlier run */
uint32_t	 etcd_request_timeout_ms(void);

/*
 * Key operations on group's key: 0 when the request is on its way (the
 * result comes through callbacks.key), -1 at once if there is no valid
 * lease (acquire, takeover, release) or the group name is unusable.
 */
int		 etcd_acquire(const char *group);
int		 etcd_takeover(const char *group, const char *from);
int		 etcd_release(const char *group);
int		 etcd_holder(const char *group);
/* Revoke the lease (graceful stop): 0 if sent, -1 if there is none. */
int		 etcd_revoke(void);

/* Snapshot for status, JSON and metrics. Ages in ms at `now`; -1 = never. */
struct etcd_status {
	bool		enabled;
	int		nmembers;
	int		reachable;		/* members that answered lately */
	struct {
		char	 url[CFG_URL_MAX];
		bool	 reachable;		/* answered within 2 * TTL, last try ok */
		int64_t	 ok_ms_ago;
		int64_t	 fail_ms_ago;
		char	 error[96];		/* of the last failure */
	} members[CFG_MAX_ETCD];
	int64_t		lease_id;		/* 0 = none */
	int64_t		ttl_s;			/* granted */
	int64_t		lease_ms_left;		/* to the safe bound; 0 = none/expired */
	bool		adopted;
	int		ngroups;
	struct {
		char		 name[CFG_NAME_MAX + 1];
		char		 key[EJ_KEY_MAX + 1];
		enum etcd_result state;		/* as last seen */
		char		 holder[EJ_VALUE_MAX + 1];
		int64_t		 holder_lease;
		int64_t		 seen_ms_ago;	/* -1 = never */
	} groups[ETCD_GROUPS_MAX];
};

void		 etcd_to_status(struct etcd_status *, uint64_t now);
const char	*etcd_result_name(enum etcd_result);
const char	*etcd_op_name(enum etcd_op);

#endif
