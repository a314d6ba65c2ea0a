/*
 * The other nodes (one to seven), as their heartbeats describe them, and
 * which one each group's state machine is shown. Pure: no I/O, no clock;
 * role.c feeds it accepted messages and asks it per group.
 *
 * fsm.c decides between two nodes. With more, each group's machine sees the
 * one peer that matters for its next decision (peers_pick()):
 *   1. a live peer holding (or raising) the group: the best of them;
 *   2. else one handing the group over to this node (switchover, stop);
 *   3. active or stopping: the best live candidate (the handover target;
 *      an operator's choice first), else one leaving;
 *      init or standby: the best live candidate that beats this node; else
 *      the one shown so far if it lives and is leaving (fault, stop: "peer-
 *      fault"); else none if that one died, so that its silence decides as
 *      with two nodes ("peer-dead", fencing, arbiter); else the best worse
 *      candidate (this node wins the election; in init only once every
 *      link has heard a node), else one leaving.
 * Candidates are nodes in init or standby; one leaving is in fault, stopping
 * without the VIPs, or in maintenance without them (it takes none).
 * A handover or a stop is meant for one node (PROTO_X_TARGET): every other
 * node sees the sender as still holding. With two nodes this shows the
 * state machine the one peer, as before.
 */
#ifndef FOD_PEERS_H
#define FOD_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fsm.h"
#include "proto.h"

#define PEERS_MAX	7

struct peer_group {
	bool		has;		/* its heartbeats carry this group */
	bool		to_me;		/* its handover or stop is meant for us */
	struct fsm_peer	view;		/* as it describes itself */
};

struct peer {
	char		name[FSM_NAME_MAX + 1];
	uint64_t	heard;		/* ms; last accepted message */
	uint64_t	acked;		/* two-way evidence (link.c), ms; 0 none */
	uint64_t	echoed;		/* the newest acked ever (acked is 0 again for
					   a while after a silence) */
	uint64_t	epoch;		/* of its run (a restart changes it) */
	uint64_t	epoch_at;	/* ms; when that run was first heard */
	unsigned	hold_ms;	/* its last message keeps it alive so long
					   (a sparse standby: longer than dead_ms) */
	bool		v2;		/* it speaks protocol version 2 */
	/* its list of groups as last compared, and where ours are in it */
	int		nnames;		/* -1: not compared yet */
	int8_t		at[CFG_MAX_GROUPS];
	/* each group's record as last heard: state, priority, flags, xflags,
	   to_me (compared at every message: apart from the views) */
	uint64_t	records[CFG_MAX_GROUPS];
	struct peer_group groups[CFG_MAX_GROUPS];	/* by our group index */
	char		names[PROTO_MAX_GROUPS][PROTO_NAME_LEN];
};

/* What every message reads first, the names of our groups (read when a
   peer's list changes) last: a heartbeat touches few pages (bench: cost). */
struct peers {
	int		n;
	unsigned	dead_ms;
	uint64_t	said;		/* changes of what any peer says */
	int		ngroups;	/* ours */
	struct peer	p[PEERS_MAX];
	char		groups[CFG_MAX_GROUPS][PROTO_NAME_LEN];
};

/* Our groups, by name, in our order (start and reload); dead_ms. */
void	peers_init(struct peers *, unsigned dead_ms, const char names[][PROTO_NAME_LEN],
	    int ngroups);
void	peers_reconfigure(struct peers *, unsigned dead_ms);
/* The peer of that name, added if new; -1 if PEERS_MAX others are known. */
int	peers_lookup(struct peers *, const char *name);
/*
 * An accepted message m from peer i at now, acked its two-way evidence,
 * hold_ms how long it keeps the peer alive (proto_hold_ms()). True if its
 * list of groups differs from the last one (say so).
 */
bool	peers_update(struct peers *, int i, const struct msg *m, uint64_t acked,
	    unsigned hold_ms, uint64_t now);
bool	peers_alive(const struct peers *, int i, uint64_t now);
/*
 * What peers_pick() reads of the peers, but their times: it changes when a
 * peer is added, says something new or dies or lives again. While it stays
 * the same, a group's machine that does not change either is shown the
 * same peer (role.c shows it only the sender's new times).
 */
uint64_t peers_epoch(const struct peers *, uint64_t now);
/* Live peers that carry group g. */
int	peers_count_live(const struct peers *, int g, uint64_t now);
/*
 * Which peer group g's machine f should see now (rules above): its index,
 * with the view to feed in *out (heard_at its last message), or -1. want:
 * a node an operator named for a switchover, or NULL. all_heard: every
 * link has heard a node since the start; until then a node in init wins
 * no election (the best one may not have spoken yet).
 */
int	peers_pick(const struct peers *, int g, const struct fsm *f,
	    const char *want, bool all_heard, uint64_t now, struct fsm_peer *out);

#endif
