/*
 * Heartbeat freshness. Withheld heartbeats delivered late are authentic and
 * inside the replay window, but they must not stretch the peer's life nor
 * speak for a peer that died. Two proofs, the stronger one wins:
 * - the echo: a message that echoes our send time T was made after T;
 * - the peer's clock: it moved this much since the newest message heard,
 *   so the peer lived that much longer (with an eighth for rates and jitter).
 * The second alone fails for a peer whose clock stood still (a paused VM
 * whose kvmclock was restored): its messages would look stale for minutes.
 */
#include "freshness.h"
#include "hotpath.h"

HOTPATH static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

HOTPATH enum fresh_verdict
fresh_check(struct fresh *f, uint64_t epoch, uint64_t tx_us, uint64_t echo_us,
    uint64_t now_us, uint64_t dead_us)
{
	uint64_t alive, credit, ours;
	bool stood_still = false;

	if (echo_us > now_us)
		echo_us = 0;	/* not one of our send times: no proof */
	if (f->epoch != epoch) {
		/* a new life of the peer, with a new clock: the echo decides */
		f->epoch = epoch;
		f->tx_us = tx_us;
		f->sent_after_us = echo_us;
		f->alive_us = echo_us ? echo_us : now_us;
		return now_us - f->alive_us < dead_us ? FRESH_OK : FRESH_LATE;
	}
	if (tx_us <= f->tx_us)
		return FRESH_LATE;	/* sent before one we already heard */
	credit = tx_us - f->tx_us;
	/*
	 * Both messages were sent after f->sent_after_us and this one before
	 * now: if the peer's clock counted more than ours could have, ours
	 * stood still (we were frozen, and our clock was restored).
	 */
	if (f->sent_after_us) {
		ours = now_us - f->sent_after_us;
		stood_still = credit > ours + ours / 8 + dead_us;
	}
	credit += credit / 8 + 1000;
	alive = f->alive_us + credit;
	if (alive > now_us)
		alive = now_us;
	alive = max_u64(alive, echo_us);
	f->tx_us = tx_us;
	f->alive_us = max_u64(f->alive_us, alive);
	f->sent_after_us = max_u64(f->sent_after_us, echo_us);
	if (now_us - f->alive_us >= dead_us)
		return FRESH_LATE;
	return stood_still ? FRESH_STOOD_STILL : FRESH_OK;
}
