/*
 * What `failoverctl status` shows, as one snapshot: status_fill() is the
 * only place that reads the daemon's modules for it; the writers and the
 * health verdict read nothing but the snapshot, so the text view, the JSON
 * object and the exit status always tell the same moment.
 *
 * Per-group parts (state, priorities, VIPs, transitions, the peer's view of
 * the group) sit in groups[] so that VIP groups (design 9) only fill more
 * of them; until then there is one, "default". Times are ages in ms at the
 * moment of the fill. Bounded: no allocation.
 */
#ifndef FOD_STATUS_H
#define FOD_STATUS_H

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "announce.h"
#include "config.h"
#include "failoverd.h"
#include "fsm.h"
#include "hooks.h"
#include "etcd.h"
#include "out.h"
#include "peers.h"

#define STATUS_FAULTS_MAX	64

struct status_vip {
	char		address[64];	/* as configured, "ADDRESS/PREFIXLEN" */
	char		ifname[IF_NAMESIZE];
	bool		present;	/* on the interface, as the kernel says */
	bool		expected;	/* the group's state wants it held */
};

struct status_transition {
	enum fsm_state	from, to;
	char		reason[FSM_REASON_MAX];
	uint64_t	ms_ago;
};

struct status_group {
	char		name[CFG_NAME_MAX + 1];
	enum fsm_state	state;
	char		reason[FSM_REASON_MAX];
	uint64_t	since_ms_ago;
	int		priority;	/* configured */
	int		eff_priority;	/* after check penalties */
	bool		preempt;
	unsigned	preempt_delay_ms;
	struct {			/* the peer's view of this group */
		char		name[FSM_NAME_MAX + 1];	/* the node its machine sees */
		bool		known;
		bool		has;	/* its heartbeats carry the group */
		bool		alive;	/* heard within dead_ms */
		enum fsm_state	state;
		int		priority;
	} peer;
	struct status_vip vips[CFG_MAX_VIPS];
	int		nvips;
	struct status_transition transitions[FSM_HISTORY];	/* newest first */
	int		ntransitions;
	char		faults[8][FSM_REASON_MAX];	/* those that keep it out */
	int		nfaults;
	struct fsm_count counts[FSM_COUNTS_MAX];	/* transitions ever */
	int		ncounts;
	uint64_t	vip_repairs;
};

struct status_link {
	char		ifname[IF_NAMESIZE];
	char		node[FSM_NAME_MAX + 1];	/* heard on it; "" none yet */
	char		local[INET6_ADDRSTRLEN];
	char		peer[INET6_ADDRSTRLEN];
	bool		up;		/* peer heard within dead_ms */
	bool		heard;		/* ever */
	uint64_t	heard_ms_ago;
	bool		rtt_valid;
	uint64_t	rtt_us;
	bool		echoed;		/* two-way: the peer echoed us since it was last silent */
	uint64_t	echoed_ms_ago;	/* the newest of our heartbeats it echoed was sent then */
	uint64_t	sent, received, send_errors;
};

struct status_check {
	char		name[CFG_NAME_MAX + 1];
	bool		healthy;
	bool		recovering;
	unsigned	ok_run;
	unsigned	fail_run;
	unsigned	recover_runs;
	int		last_exit;
	bool		ran;		/* ever finished a run */
	uint64_t	last_run_ms_ago;
	int		penalty;	/* on_fail: 0 = "fault" */
	uint64_t	runs, failures;	/* ever */
};

struct status_snapshot {
	/* node */
	char		version[32];
	char		node[CFG_NAME_MAX + 1];
	unsigned	cluster_id;
	bool		maintenance;	/* node-wide */
	uint64_t	epoch;
	uint64_t	uptime_ms;
	bool		groups_explicit;	/* the config has groups = (...) */

	/* peer, node-wide: who it is and whether it is heard */
	struct {
		bool		known;
		char		name[FSM_NAME_MAX + 1];	/* "" until known */
		bool		alive;
		uint64_t	heard_ms_ago;
	} peer;

	struct status_group groups[CFG_MAX_GROUPS];
	int		ngroups;

	struct status_peer {		/* every other node heard since the start */
		char		name[FSM_NAME_MAX + 1];
		bool		alive;
		uint64_t	heard_ms_ago;
	} peers[PEERS_MAX];
	int		npeers;

	struct status_link links[CFG_MAX_LINKS];
	int		nlinks;

	struct {
		unsigned	interval_ms;
		unsigned	dead_ms;
		unsigned	init_dead_ms;
		unsigned	standby_interval_ms;
		bool		preempt;	/* the cluster's */
		unsigned	preempt_delay_ms;
		unsigned	vip_lease_s;
	} timers;

	char		faults[STATUS_FAULTS_MAX][FSM_REASON_MAX];	/* oldest first */
	int		nfaults;

	struct status_check checks[CFG_MAX_CHECKS];
	int		nchecks;

	struct {
		bool		enabled;
		bool		reachable;
		unsigned	misses;
		bool		replied;	/* ever */
		uint64_t	last_reply_ms_ago;
	} arbiter;

	struct etcd_status quorum;	/* .enabled false without a quorum section */
	bool		quorum_ok;	/* the lease is reliable (margin included) */
	bool		quorum_keyless;	/* lost, VIPs kept: every peer is heard */
	bool		quorum_release;	/* on_quorum_loss = "release" */

	struct counters	cnt;
	uint64_t	log_dropped;
	unsigned long	hooks_skipped;
	struct hooks_stats hooks;
	struct announce_stats announce;
	struct reload_stats reloads;
};

/* status.c: read the daemon as it is at now (ms, monotonic). */
void	status_fill(struct status_snapshot *, uint64_t now);

/* status_write.c: from the snapshot only. */
/* Healthy: every group active, standby or maintenance (status exit 0). */
bool	status_healthy(const struct status_snapshot *);
/* The human view (may change between releases). */
void	status_write_text(const struct status_snapshot *, struct out *);
/* The JSON object of docs/status-json.md, version 1, one line. */
void	status_write_json(const struct status_snapshot *, struct out *);

#endif
