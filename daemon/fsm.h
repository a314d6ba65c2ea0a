/*
 * Pure failover state machine: (state, event, now) -> new state + actions.
 * No syscalls, no clock: the caller passes time in milliseconds.
 */
#ifndef FOD_FSM_H
#define FOD_FSM_H

#include <stdbool.h>
#include <stdint.h>

enum fsm_state {
	FSM_INIT, FSM_STANDBY, FSM_ACTIVE, FSM_FAULT, FSM_MAINTENANCE,
	FSM_STOPPING, FSM_NSTATES
};

enum fsm_event {
	EV_PEER,		/* authenticated, fresh message from the peer */
	EV_TICK,		/* time passed (timers are checked against now) */
	EV_STOP,		/* SIGTERM */
	EV_SWITCHOVER,		/* operator asks to hand the VIPs to the peer */
	EV_FAULT,		/* local fault (reason given) */
	EV_FAULT_CLEAR,		/* all local faults gone */
	EV_MAINT_ON,
	EV_MAINT_OFF,
	EV_PRIORITY,		/* effective priority changed (fsm.eff_priority set) */
	EV_FENCED,		/* fence hooks finished: reason NULL = ok, else why not */
	EV_STALLED,		/* we were frozen or starved longer than dead_ms */
	EV_RESUMED,		/* the loop runs on time again */
	EV_ARBITER,		/* an arbiter target answered */
	EV_KEY_LOST,		/* quorum: another node holds the group's key */
	EV_NEVENTS
};

/* Actions, in the order the caller carries them out. */
#define ACT_ADD_VIPS	0x0001	/* add VIPs (before promote hooks, vip-first) */
#define ACT_ANNOUNCE	0x0002	/* gratuitous ARP / unsolicited NA now, then repeats */
#define ACT_SEND_NOW	0x0004	/* send a heartbeat on every link at once */
#define ACT_PROMOTE	0x0008	/* run promote.d */
#define ACT_DEL_VIPS	0x0010	/* remove VIPs */
#define ACT_DEMOTE	0x0020	/* run demote.d (after VIPs are removed) */
#define ACT_NOTIFY	0x0040	/* state changed: run notify.d, log */
#define ACT_EXIT	0x0080	/* leave the event loop */
#define ACT_FENCE	0x0100	/* run fence.d against the dead peer */
#define ACT_ARBITER	0x0200	/* ping the arbiter targets now (EV_ARBITER answers) */

#define FSM_NAME_MAX	31
#define FSM_REASON_MAX	64

struct fsm_peer {
	/* its times first, beside the machine's (struct fsm): every message */
	uint64_t	acked_at;	/* newest of our heartbeats it echoed since the
					   link was last silent (our clock); 0 = none */
	uint64_t	heard_at;	/* when this was heard; 0 = now */
	unsigned	hold_ms;	/* this message keeps it alive so long (a
					   sparse standby); below dead_ms: dead_ms */
	enum fsm_state	state;
	int		priority;	/* effective priority */
	bool		handover;	/* peer (active) asks us to take over */
	bool		holds;		/* peer's VIPs are up (active, or maintenance) */
	bool		degraded;	/* failing checks lower its priority */
	bool		yielded;	/* it released after both were active */
	bool		placed;		/* it holds by a switchover: no preempting it */
	bool		key;		/* it holds the group's quorum key */
	bool		keyless;	/* it holds the VIPs without it (etcd lost) */
	char		name[FSM_NAME_MAX + 1];
};

struct fsm_config {
	int		priority;
	unsigned	dead_ms;
	unsigned	init_dead_ms;
	bool		preempt;
	unsigned	preempt_delay_ms;
	unsigned	stop_timeout_ms;	/* how long a graceful stop waits for the peer */
	int		fence;			/* FSM_FENCE_* */
	bool		arbiter;		/* claim only after an arbiter reply */
	bool		quorum;			/* VIPs only with the group's etcd key */
	char		name[FSM_NAME_MAX + 1];	/* last: compared only on a tie */
};

/*
 * The group's quorum key, as role.c tells (fsm_set_key): not wanted; being
 * taken over from its holder (a handover to us, or our preemption); waited
 * for until free; held; or gone with the lease while we keep the VIPs
 * (keep-while-peers).
 */
enum fsm_key { FSM_KEY_NONE, FSM_KEY_TAKING, FSM_KEY_WAIT, FSM_KEY_HELD,
	FSM_KEY_KEYLESS };

enum { FSM_FENCE_OFF, FSM_FENCE_OPTIONAL, FSM_FENCE_REQUIRED };

struct fsm_transition {
	enum fsm_state	from, to;
	uint64_t	at;
	char		reason[FSM_REASON_MAX];
};

#define FSM_HISTORY	8

/*
 * Transitions counted by (from, to, kind of reason) for metrics: the kind is
 * the reason up to a ':' ("check-failed:web" -> "check-failed"), one of a
 * fixed list, so labels never grow with names. fsm.c makes about 50 distinct
 * triples; one beyond FSM_COUNTS_MAX is counted in counts_lost only.
 */
#define FSM_COUNTS_MAX	64

struct fsm_count {
	uint8_t		from, to;
	uint8_t		kind;		/* fsm_reason_kind_name() */
	uint64_t	n;
};

/*
 * What the machine did, for status and metrics: the caller's storage, apart
 * from the machine, so that machines kept side by side are small.
 */
struct fsm_log {
	struct fsm_transition history[FSM_HISTORY];	/* index: n % FSM_HISTORY */
	struct fsm_count counts[FSM_COUNTS_MAX];	/* in order of first use */
	unsigned	ncounts;
	uint64_t	counts_lost;
};

/* What a heartbeat reads comes first, side by side (bench: cost). */
struct fsm {
	enum fsm_state	state;
	enum fsm_state	prev;
	int		eff_priority;
	enum fsm_key	key;		/* quorum: see enum fsm_key */

	bool		peer_known;	/* heard at least once */
	bool		peer_was_gone;	/* before the last message: silent, or holding */
	bool		peer_yield_news; /* the last message first said it yielded */
	bool		peer_let_go;	/* the last message first said it no longer
					   holds (also after handing over to us) */
	bool		preempt_unheard;	/* due, but the peer does not hear us yet */
	bool		yielding;	/* active, lost a healed partition: release
					   once the winner heard us (and announced) */
	bool		stop_holds;	/* stopping: still holding the VIPs */
	bool		handover;	/* we (active) asked the peer to take over */
	bool		no_preempt;	/* after a switchover: do not take back */
	bool		placed;		/* active by a switchover (others: no_preempt) */
	bool		maint_active;	/* maintenance: we hold the VIPs */
	bool		faulted;	/* a local fault is present */
	bool		stalled;	/* yield to an active peer: it took over meanwhile */
	bool		fencing;	/* required fencing under way */
	bool		fence_failed;	/* required fencing failed: we stay standby */
	bool		arbiter_wait;	/* would claim the VIPs: waiting for a reply */
	bool		again;		/* nothing but fsm_peer_again() changed it
					   since that last took a message */
	unsigned	nhistory;	/* transitions ever (log->history) */

	uint64_t	peer_heard;	/* last EV_PEER time */
	uint64_t	preempt_at;	/* 0 = no preemption pending */
	struct fsm_peer	peer;
	struct fsm_config cfg;		/* its dead_ms: within 136 bytes of the start */
	uint64_t	since;
	uint64_t	started;
	uint64_t	yield_since;
	uint64_t	stop_deadline;	/* stopping: give up waiting for peer */
	uint64_t	handover_deadline;
	uint64_t	arbiter_reply;	/* last EV_ARBITER time; 0 = never */

	struct fsm_log	*log;
	char		reason[FSM_REASON_MAX];
};

/* log: where its transitions are recorded (zeroed here), kept by the caller. */
void		 fsm_init(struct fsm *, const struct fsm_config *, struct fsm_log *log,
		    uint64_t now);
/* peer is used for EV_PEER only; reason for EV_FAULT (e.g. "check-failed:web"). */
unsigned	 fsm_event(struct fsm *, enum fsm_event, const struct fsm_peer *peer,
		    const char *reason, uint64_t now);
/*
 * EV_PEER's shortcut for a message that says what the last one said (only
 * its times differ) in a steady state: true if that is all EV_PEER would
 * have done (no action, no other change) and the times are taken; false:
 * nothing changed, feed EV_PEER. now: the message's time.
 */
bool		 fsm_peer_again(struct fsm *, const struct fsm_peer *peer, uint64_t now);
/*
 * Its cheaper form, for the caller that knows the peer shown last says the
 * same again (only its times, given here, differ): true, the times taken,
 * if fsm_peer_again() took the last message and nothing changed since but
 * time, within which the peer still lives; false: nothing changed.
 */
bool		 fsm_peer_times(struct fsm *, uint64_t heard_at, uint64_t acked_at,
		    unsigned hold_ms, uint64_t now);
/* The effective priority changed (failing checks with a penalty): EV_PRIORITY. */
unsigned	 fsm_set_priority(struct fsm *, int eff, uint64_t now);
/* Quorum: the group's key is not wanted, being taken, or held. */
void		 fsm_set_key(struct fsm *, enum fsm_key);
/* After a failed promote hook's fault expired: do not preempt into it again. */
void		 fsm_no_preempt(struct fsm *);
/* Reload: new timers and priorities apply from now; state stays. */
void		 fsm_reconfigure(struct fsm *, const struct fsm_config *);
/* Earliest time at which EV_TICK may change something; UINT64_MAX if none. */
uint64_t	 fsm_next_deadline(const struct fsm *);
/* The peer was heard within its hold time (dead_ms, longer for a sparse standby). */
bool		 fsm_peer_alive(const struct fsm *, uint64_t now);
/* True if we should hold the VIPs in the current state. */
bool		 fsm_holds_vips(const struct fsm *);
/* Election: true if we win against the peer (priority, then smaller name). */
/* Whether a switchover may start now; why gets the reason it may not. */
bool		 fsm_can_switchover(const struct fsm *, uint64_t now, const char **why);
bool		 fsm_wins(const struct fsm *, const struct fsm_peer *);
const char	*fsm_state_name(enum fsm_state);
int		 fsm_state_parse(const char *);
/* The kind of a reason (0, "other", if it is none of ours), and its name. */
unsigned	 fsm_reason_kind(const char *reason);
const char	*fsm_reason_kind_name(unsigned kind);

#endif
