/* State shared by the daemon's I/O modules (main, link, control). */
#ifndef FOD_FAILOVERD_H
#define FOD_FAILOVERD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "fsm.h"
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
	int		fd;
	bool		heard;
	uint64_t	heard_at;	/* ms */
	uint64_t	rtt_us;
	bool		rtt_valid;
	uint64_t	peer_tx_us;	/* echo material for RTT */
	uint64_t	peer_rx_us;
	bool		was_up;		/* for "link lost/restored" log lines */
	uint64_t	send_err_logged;	/* ms; rate limit of send errors */
	int		ifindex;	/* what the socket is bound to */
	bool		missing_logged;	/* the interface is missing: said once */
	bool		open_failed;	/* opening failed otherwise: said once */
	bool		reopened;	/* the interface was replaced: say when back */
	bool		carrier;	/* as the netlink watch last said */
	uint64_t	up_since_us;	/* heard again after silence since then */
	uint64_t	acked_us;	/* newest of our sends the peer echoed since then */
};

struct daemon {
	const char	*conf_path;
	struct config	 cfg;
	struct auth	*auth;
	struct fsm	 fsm;
	uint64_t	 epoch;
	uint64_t	 seq;
	uint64_t	 peer_epoch;	/* what we echo */
	struct replay	 replay;
	struct link_state links[CFG_MAX_LINKS];
	struct counters	 cnt;
	bool		 exiting;
	bool		 reload_requested;
	uint64_t	 started_ms;
	uint64_t	 dual_since;	/* ms; 0 = no dual-active episode */
	uint64_t	 yielded_at;	/* ms; we lost a dual-active episode: PROTO_F_YIELDED until echoed */
	bool		 dual_logged;	/* the episode the peer's PROTO_F_YIELDED reports is logged */
	bool		 vips_up;	/* our VIPs are installed (what PROTO_F_HOLDS says) */
	bool		 promote_gate;	/* hooks-first: VIPs wait for promote hooks */
};

extern struct daemon d;

/* link.c */
int	link_open_all(void);
void	link_close_all(void);
void	link_send_all(void);
bool	link_up(int i, uint64_t now);	/* heard within dead_ms */
bool	link_any_open(void);		/* some heartbeat socket is open */
/* From the netlink watch: ifname appeared, changed or went. */
void	link_iface_changed(const char *ifname, int ifindex, bool carrier);

/* role.c */
void	role_start(void);
void	role_feed(enum fsm_event, const struct fsm_peer *, const char *reason);
void	role_reschedule(void);
void	role_release(void);
void	role_stop_now(void);
unsigned role_stop_timeout_ms(const struct config *);
void	role_fsm_config(const struct config *, struct fsm_config *);
void	role_addr_deleted(void *arg, int family, const unsigned char *addr,
	    int prefixlen, int ifindex);
void	role_addr_ready(void *arg, int family, const unsigned char *addr,
	    int prefixlen, int ifindex);
/* stood_still: the peer's clock counted time that ours missed (we were frozen) */
void	daemon_peer_message(int link, const struct msg *m, bool stood_still);
void	daemon_switchover(void);
void	daemon_maintenance(bool on);

/* faults.c */
int	faults_start(void);
void	faults_restart(void);
void	faults_finalise(void);
void	fault_set(const char *reason, bool on);
int	faults_get(const char *out[], int max);
void	faults_hook_failed(const char *name);
void	faults_link_changed(void *arg, const char *ifname, int ifindex, bool carrier);

/* reload.c: re-read the config; -1 (running config kept) with the errors in err. */
int	daemon_reload(char *err, size_t errlen);
void	daemon_config_warnings(const struct config *);
int	daemon_load_key(const struct config *, uint8_t *key, size_t *keylen,
	    char *err, size_t errlen);

/* control.c */
int	control_init(void);
/* Whether a daemon answers on RUNTIME_DIR/control.sock (frozen ones too). */
bool	control_daemon_running(const char *runtime_dir);
void	control_finalise(void);

#endif
