/*
 * Holding a group's VIPs. The kernel lease (vip_lease_s) makes a crashed or
 * frozen node's copy expire by itself, so it is renewed while held. A new
 * IPv6 address is routed only once the kernel's addrconf work ran, after
 * vip_add() returned: the group counts as holding, and clients are told,
 * only once every VIP is usable (make-before-break relies on it).
 */
#include <string.h>

#include "announce.h"
#include "holder.h"
#include "hotpath.h"
#include "log.h"
#include "vip.h"

#define READY_MAX_MS	20	/* bound on waiting for the kernel's word */
#define REFRESH_GRID_MS	100	/* lease refreshes fall on multiples of this */

static const struct cfg_vip *
vip_at(const struct holder *h, int i)
{
	return &h->cfg->vips[h->first + i];
}

static bool
held_off(struct holder *h)
{
	return h->ev.hold_off && h->ev.hold_off(h->ev.arg);
}

/* The kernel lifetime to give the VIPs now (s; 0: none): the owner may cap it. */
static unsigned
lease_s(const struct holder *h)
{
	return h->ev.lifetime ? h->ev.lifetime(h->ev.arg) : h->cfg->vip_lease_s;
}

/*
 * A third of the lease from now, moved to the next REFRESH_GRID_MS boundary:
 * the refreshes of every group share one wakeup.
 */
static uint64_t
next_refresh_ms(const struct holder *h)
{
	unsigned life = lease_s(h), p = life == HOLDER_KEEP ? 250 : life * 1000 / 3;

	return (now_ms() + (p < 250 ? 250 : p)) / REFRESH_GRID_MS *
	    REFRESH_GRID_MS + REFRESH_GRID_MS;
}

static void
announce_all(struct holder *h)
{
	for (int i = 0; i < h->n; i++)
		announce_vip(vip_at(h, i));
}

static void
announce_tick(void *arg)
{
	struct holder *h = arg;

	if (!h->wanted)
		return;
	if (held_off(h)) {	/* announce only what we still hold */
		loop_timer_set(&h->announce_timer, now_ms() + h->cfg->interval_ms,
		    announce_tick, h);
		return;
	}
	announce_all(h);
	if (--h->announce_left > 0)
		loop_timer_set(&h->announce_timer, now_ms() +
		    h->cfg->announce_interval_ms, announce_tick, h);
}

static void
reannounce_tick(void *arg)
{
	struct holder *h = arg;

	if (!h->wanted || h->cfg->announce_refresh_ms == 0)
		return;
	if (!held_off(h))
		announce_all(h);
	loop_timer_set(&h->reannounce_timer, now_ms() + (held_off(h) ?
	    h->cfg->interval_ms : h->cfg->announce_refresh_ms), reannounce_tick, h);
}

void
holder_announce(struct holder *h)
{
	if (h->cfg->announce_count == 0 || !h->wanted)
		return;
	announce_all(h);
	h->announce_left = h->cfg->announce_count;
	if (--h->announce_left > 0)
		loop_timer_set(&h->announce_timer, now_ms() +
		    h->cfg->announce_interval_ms, announce_tick, h);
	if (h->cfg->announce_refresh_ms)
		loop_timer_set(&h->reannounce_timer, now_ms() +
		    h->cfg->announce_refresh_ms, reannounce_tick, h);
}

/* Add (or renew) VIP i; true if it must wait for the kernel (IPv6). */
static bool
add_one(struct holder *h, int i)
{
	const struct cfg_vip *v = vip_at(h, i);

	unsigned life = lease_s(h);

	if (vip_add(v, life == HOLDER_KEEP ? 1 : life) == -1) {
		log_warnx("could not add VIP %s on %s", v->text, v->ifname);
		return false;
	}
	return v->family == AF_INET6;
}

static void
refresh_tick(void *arg)
{
	struct holder *h = arg;

	if (!h->wanted || lease_s(h) == 0)
		return;
	/* after a freeze: only once we know the peer did not take over */
	if (held_off(h)) {
		loop_timer_set(&h->refresh_timer, now_ms() + h->cfg->interval_ms,
		    refresh_tick, h);
		return;
	}
	/* the owner may forbid a renewal now (quorum: the lease ends soon) */
	for (int i = 0; lease_s(h) != HOLDER_KEEP && i < h->n; i++)
		add_one(h, i);	/* NLM_F_REPLACE: renews the lifetime */
	loop_timer_set(&h->refresh_timer, next_refresh_ms(h),
	    refresh_tick, h);
}

void
holder_refresh(struct holder *h)
{
	if (h->wanted)
		refresh_tick(h);
}

static void
ready_now(struct holder *h)
{
	memset(h->waiting, 0, sizeof(h->waiting));
	loop_timer_cancel(&h->ready_timer);
	for (int i = 0; i < h->n; i++)
		if (h->announce_ready[i]) {
			h->announce_ready[i] = false;
			announce_vip(vip_at(h, i));
		}
	if (!h->wanted || h->usable)
		return;
	h->usable = true;
	if (h->ev.ready)
		h->ev.ready(h->ev.arg);
}

static void
ready_timeout(void *arg)
{
	struct holder *h = arg;

	log_debug("no word from the kernel on the new VIPs after %d ms",
	    READY_MAX_MS);
	ready_now(h);
}

static void
wait_ready(struct holder *h, bool wait)
{
	if (!wait) {
		ready_now(h);
		return;
	}
	/* until then heartbeats say "active, not holding": make-before-break */
	loop_timer_set(&h->ready_timer, now_ms() + READY_MAX_MS, ready_timeout, h);
}

void
holder_up(struct holder *h)
{
	bool wait = false;

	h->wanted = true;
	for (int i = 0; i < h->n; i++)
		if (add_one(h, i))
			wait = h->waiting[i] = true;
	if (lease_s(h))
		loop_timer_set(&h->refresh_timer, next_refresh_ms(h),
		    refresh_tick, h);
	wait_ready(h, wait);
}

static void
stop_timers(struct holder *h)
{
	loop_timer_cancel(&h->ready_timer);
	loop_timer_cancel(&h->refresh_timer);
	loop_timer_cancel(&h->announce_timer);
	loop_timer_cancel(&h->reannounce_timer);
}

void
holder_release(struct holder *h)
{
	h->wanted = h->usable = false;
	memset(h->waiting, 0, sizeof(h->waiting));
	memset(h->announce_ready, 0, sizeof(h->announce_ready));
	stop_timers(h);
	for (int i = 0; i < h->n; i++)
		if (vip_del(vip_at(h, i)) == -1)
			log_warnx("could not remove VIP %s from %s",
			    vip_at(h, i)->text, vip_at(h, i)->ifname);
}

HOTPATH bool
holder_usable(const struct holder *h)
{
	return h->usable;
}

static int
find(const struct holder *h, int family, const unsigned char *addr, int plen,
    int ifindex)
{
	for (int i = 0; i < h->n; i++) {
		const struct cfg_vip *v = vip_at(h, i);

		if (v->family == family && v->prefixlen == plen &&
		    memcmp(v->addr, addr, family == AF_INET ? 4 : 16) == 0 &&
		    vip_ifindex(v->ifname) == ifindex)
			return i;
	}
	return -1;
}

bool
holder_addr_deleted(struct holder *h, int family, const unsigned char *addr,
    int plen, int ifindex)
{
	const struct cfg_vip *v;
	int i = find(h, family, addr, plen, ifindex);

	if (i == -1)
		return false;
	v = vip_at(h, i);
	if (!h->wanted)
		return true;
	/* the news may be of our own removal, before we added it again */
	if (vip_present(v) == 1)
		return true;
	/* expired while we were frozen: the refresh restores it if still ours */
	if (held_off(h))
		return true;
	/* the news of our own release may arrive after we took the VIPs back */
	if (vip_present(v) == 1)
		return true;
	/* someone removed our VIP while we serve it: put it back at once */
	h->repairs++;
	log_warnx("VIP %s was removed from %s by someone else: restoring it",
	    v->text, v->ifname);
	if (vip_add(v, lease_s(h) == HOLDER_KEEP ? 1 : lease_s(h)) == 0)
		announce_vip(v);
	return true;
}

bool
holder_addr_ready(struct holder *h, int family, const unsigned char *addr,
    int plen, int ifindex)
{
	int i = find(h, family, addr, plen, ifindex);
	bool waiting = false;

	if (i == -1)
		return false;
	h->waiting[i] = false;
	for (int k = 0; k < h->n; k++)
		waiting |= h->waiting[k];
	if (!waiting && h->ready_timer.when != 0)
		ready_now(h);
	return true;
}

static bool
same_vip(const struct cfg_vip *a, const struct cfg_vip *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, 16) == 0 &&
	    strcmp(a->ifname, b->ifname) == 0 && strcmp(a->label, b->label) == 0;
}

static bool
in_range(const struct config *c, int first, int n, const struct cfg_vip *v)
{
	for (int i = first; i < first + n; i++)
		if (same_vip(&c->vips[i], v))
			return true;
	return false;
}

void
holder_reload(struct holder *h, const struct config *nc, int first, int n)
{
	for (int i = 0; h->wanted && i < h->n; i++)
		if (!in_range(nc, first, n, vip_at(h, i))) {
			log_info("reload: removing VIP %s", vip_at(h, i)->text);
			vip_del(vip_at(h, i));
		}
	memset(h->announce_ready, 0, sizeof(h->announce_ready));
	for (int i = 0; h->wanted && i < n; i++)
		h->announce_ready[i] = !in_range(h->cfg, h->first, h->n,
		    &nc->vips[first + i]);
}

void
holder_rebind(struct holder *h, const struct config *running, int first, int n)
{
	bool wait = false;

	h->cfg = running;
	h->first = first;
	h->n = n;
	memset(h->waiting, 0, sizeof(h->waiting));
	if (!h->wanted)
		return;
	/* new VIPs through the same gate as at takeover; announced once usable */
	for (int i = 0; i < n; i++)
		if (h->announce_ready[i]) {
			log_info("reload: adding VIP %s", vip_at(h, i)->text);
			if (add_one(h, i))
				wait = h->waiting[i] = true;
		}
	if (lease_s(h))
		loop_timer_set(&h->refresh_timer, next_refresh_ms(h),
		    refresh_tick, h);
	else
		loop_timer_cancel(&h->refresh_timer);
	if (wait)
		wait_ready(h, true);
	else
		ready_now(h);
}

void
holder_init(struct holder *h, const struct config *cfg, int first, int n,
    const struct holder_events *ev)
{
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->first = first;
	h->n = n;
	if (ev)
		h->ev = *ev;
}

void
holder_finalise(struct holder *h)
{
	stop_timers(h);
}
