/* State shared by the daemon's I/O modules (main, link, control). */
#ifndef FOD_FAILOVERD_H
#define FOD_FAILOVERD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "fsm.h"
#include "holder.h"
#include "loop.h"
#include "proto.h"

struct counters {
	uint64_t	sent;
	uint64_t	send_errors;
	uint64_t	received;	/* accepted: authentic and fresh */
	uint64_t	auth_failures;
	uint64_t	replays;	/* seen before, or older than the replay window */
	uint64_t	late;		/* authentic, unseen, but made too long ago */
	uint64_t	unconfirmed;	/* authentic but not echoing our epoch */
	uint64_t	malformed;	/* truncated, oversized, bad magic or fields */
	uint64_t	bad_version;
	uint64_t	foreign;	/* another cluster id */
	uint64_t	wrong_source;	/* not from the configured peer */
	uint64_t	vip_repairs;
	uint64_t	dual_active;
};

struct link_state {
	int		fd;		/* bound to the local address and port */
	int		cfd;		/* the same, connected to the peer; -1 none */
	int		owner;		/* link whose socket this one uses; -1 its own */
	char		peer_name[PROTO_NAME_LEN];	/* the node heard on it; "" none yet */
	uint64_t	peer_epoch;	/* its epoch, echoed to it */
	bool		heard;
	uint64_t	heard_at;	/* ms */
	unsigned	hold_ms;	/* what heard_at is good for (proto_hold_ms()) */
	uint64_t	rtt_us;
	bool		rtt_valid;
	uint64_t	peer_tx_us;	/* echo material for RTT */
	uint64_t	peer_rx_us;
	bool		was_up;		/* for "link lost/restored" log lines */
	uint64_t	send_err_logged;	/* ms; rate limit of send errors */
	uint64_t	connect_at;	/* ms; when to try cfd again */
	int		ifindex;	/* what the socket is bound to */
	bool		missing_logged;	/* the interface is missing: said once */
	bool		open_failed;	/* opening failed otherwise: said once */
	bool		reopened;	/* the interface was replaced: say when back */
	bool		carrier;	/* as the netlink watch last said */
	uint64_t	up_since_us;	/* heard again after silence since then */
	uint64_t	acked_us;	/* newest of our sends the peer echoed since then */
	uint64_t	sent, received, send_errors;	/* on this link, for metrics */
};

/* One VIP group: its own state machine, VIPs and hooks (role.c owns it). */
/*
 * What a heartbeat reads first, in four cache lines (bench: cost): flags,
 * times, timer, the machine's first 136 bytes.
 */
struct vgroup {
	int		 idx;		/* d.cfg.groups[idx] */
	/* fsm_peer_again() took a message from peer steady_from - 1 at peers_epoch() steady_epoch */
	int		 steady_from;
	unsigned	 notified;	/* transitions of fsm.log->history already announced */
	bool		 promote_gate;	/* hooks-first: VIPs wait for promote hooks */
	bool		 promote_after_ready; /* vip-first: promote hooks wait for usable VIPs */
	bool		 exit_ok;	/* a stop may leave: nothing (more) to hand over */
	bool		 dual_logged;	/* the episode the peer's PROTO_F_YIELDED reports is logged */
	bool		 key_gate;	/* quorum: the VIPs wait for the group's key */
	bool		 key_promote;	/* ... and so do the promote hooks */
	bool		 was_handover;	/* fsm.handover as last seen (quorum) */
	bool		 switching;	/* that switchover is under way */
	uint64_t	 steady_epoch;
	uint64_t	 dual_since;	/* ms; 0 = no dual-active episode */
	uint64_t	 yielded_at;	/* ms; lost a dual-active episode: PROTO_F_YIELDED until echoed */
	struct loop_timer fsm_timer;
	struct fsm	 fsm;		/* its log is role.c's, apart */
	struct holder	 vips;
	bool		 peer_has;	/* the peer's heartbeats carry this group */
	bool		 peer_lacks_logged;
	uintptr_t	 fence_round;	/* the fencing whose verdict counts */
	char		 switch_to[PROTO_NAME_LEN];	/* switchover GROUP NODE: the target */
	uint64_t	 key_moved_at;	/* ms; handing over, another node got the key */
	uint64_t	 key_polled;	/* ms; handing over: who holds it, asked then */
	struct loop_timer fence_timer, key_timer;
} __attribute__((aligned(64)));

/*
 * The per-heartbeat counters, links and the config's head side by side (one
 * page: main.c aligns d), the groups after the config.
 */
struct daemon {
	struct auth	*auth;
	uint64_t	 epoch;
	uint64_t	 seq;
	int		 ngroups;
	bool		 peer_v2;	/* the peer speaks protocol version 2 (its last message) */
	bool		 exiting;
	bool		 reload_requested;
	uint64_t	 started_ms;
	const char	*conf_path;
	struct counters	 cnt;
	struct link_state links[CFG_MAX_LINKS];
	struct config	 cfg;		/* its node, timers and links first */
	struct vgroup	 groups[CFG_MAX_GROUPS];
};

extern struct daemon d;

/* link.c: sockets and link state; decoded, authentic, fresh peer messages
 * go to the one handler (stood_still: the peer's clock counted time that
 * ours missed: we were frozen). */
typedef void (*link_msg_cb)(int link, const struct msg *, bool stood_still,
    uint64_t now);
void	link_on_message(link_msg_cb);
int	link_open_all(void);
void	link_close_all(void);
/*
 * Send body (version and groups; the rest is the link's) on every link;
 * to[g] (or to NULL): the node group g's handover or stop is meant for.
 */
void	link_send_all(const struct msg *body, const char (*to)[PROTO_NAME_LEN]);
bool	link_up(int i, uint64_t now);	/* heard within its hold_ms */
bool	link_any_open(void);		/* some heartbeat socket is open */
bool	link_all_named(void);		/* every link has heard a node */
/* Two-way evidence: the newest of our sends the peer echoed on a live link
 * since it was last silent (ms, our clock; 0 none). */
uint64_t link_acked_at(const char *peer, uint64_t now);
void	link_check(uint64_t now);	/* logs links that fell silent */
/* From the netlink watch: ifname appeared, changed or went. */
void	link_iface_changed(const char *ifname, int ifindex, bool carrier);

/* role.c: the groups' state machines and what they decide */
void	role_init(void);
void	role_start(void);
/* An event for group g (EV_FAULT, EV_FAULT_CLEAR), or for every group (g -1). */
void	role_feed(int g, enum fsm_event, const char *reason);
void	role_set_priority(int g, int eff);
void	role_no_preempt(int g);
void	role_stop(void);
void	role_stop_now(void);
bool	role_stopping(void);
void	role_release_all(void);
/* Reload: before nc replaces the running config, and after (same groups). */
void	role_reload_begin(const struct config *nc);
void	role_reload_end(void);
unsigned role_stop_timeout_ms(const struct config *);
void	role_status_line(char *buf, size_t len);
void	role_addr_deleted(void *arg, int family, const unsigned char *addr,
	    int prefixlen, int ifindex);
void	role_addr_ready(void *arg, int family, const unsigned char *addr,
	    int prefixlen, int ifindex);
/* stood_still: the peer's clock counted time that ours missed (we were frozen) */
void	daemon_peer_message(int link, const struct msg *m, bool stood_still,
	    uint64_t now);
/* Groups by bit; 0: every group this node holds; to: a node, or NULL for
 * the best one. -1 and why if one may not. */
int	daemon_switchover(uint32_t groups, const char *to, const char **why);
struct peers;
/* quorum.c's news (main.c wires it): group g's key, the lease, a renewal. */
void	role_quorum_key(int g, bool held, void *arg);
void	role_quorum_lease(bool ok, void *arg);
void	role_quorum_renewed(void *arg);
/* Quorum lost, VIPs kept (keep-while-peers, every peer heard). */
bool	role_keyless(void);
/* peers.c's view of the other nodes, for status (role.c owns it). */
const struct peers *role_peers(void);
void	daemon_maintenance(bool on);

/* faults.c */
int	faults_start(void);
void	faults_restart(void);
void	faults_finalise(void);
void	fault_set(const char *reason, bool on);
int	faults_get(const char *out[], int max);
/* The faults that keep group g out, for status. */
int	faults_of_group(int g, const char *out[], int max);
void	faults_hook_failed(int g, const char *name);
void	faults_link_changed(void *arg, const char *ifname, int ifindex, bool carrier);

/* reload.c: re-read the config; -1 (running config kept) with the errors in err. */
int	daemon_reload(char *err, size_t errlen);
struct reload_stats {
	uint64_t	ok, failed;	/* since the start */
};
void	reload_get_stats(struct reload_stats *);
void	daemon_config_warnings(const struct config *);
int	daemon_load_key(const struct config *, uint8_t *key, size_t *keylen,
	    char *err, size_t errlen);

/* control.c */
int	control_init(void);
/* Whether a daemon answers on RUNTIME_DIR/control.sock (frozen ones too). */
bool	control_daemon_running(const char *runtime_dir);
void	control_finalise(void);

#endif
