/*
 * Whether an authentic heartbeat proves the peer alive now. Pure: time is
 * passed in (our CLOCK_MONOTONIC, microseconds). Called by link.c for each
 * heartbeat that passed the MAC, replay and epoch-echo checks.
 */
#ifndef FOD_FRESHNESS_H
#define FOD_FRESHNESS_H

#include <stdbool.h>
#include <stdint.h>

/* What the newest heartbeat heard on one link proved. Zeroed = nothing yet. */
struct fresh {
	uint64_t	epoch;
	uint64_t	tx_us;		/* its tx_time_us (the peer's clock) */
	uint64_t	alive_us;	/* our clock: the peer was provably alive then */
	uint64_t	sent_after_us;	/* our clock: it was sent after this (its echo); 0 unknown */
};

enum fresh_verdict {
	FRESH_OK,		/* proves the peer alive within dead time */
	FRESH_LATE,		/* authentic but made too long ago, or before one already heard */
	FRESH_STOOD_STILL,	/* fresh, and our clock missed time the peer's counted */
};

/*
 * tx_us: the message's tx_time_us (peer's clock); echo_us: its
 * echo_time_us (one of our send times, our clock; 0 none). A message that
 * echoes one of our send times was made after it: that proof holds whatever
 * either clock did. Otherwise it proves the peer alive only as far as the
 * peer's own clock moved since the newest one heard (plus an eighth).
 */
enum fresh_verdict fresh_check(struct fresh *, uint64_t epoch, uint64_t tx_us,
		    uint64_t echo_us, uint64_t now_us, uint64_t dead_us);

#endif
