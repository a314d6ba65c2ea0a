/* The other nodes and the one each group's state machine sees: see peers.h. */
#include <string.h>

#include "hotpath.h"
#include "names.h"
#include "peers.h"

void
peers_init(struct peers *ps, unsigned dead_ms, const char names[][PROTO_NAME_LEN],
    int ngroups)
{
	memset(ps, 0, sizeof(*ps));
	ps->dead_ms = dead_ms;
	ps->ngroups = ngroups;
	memcpy(ps->groups, names, sizeof(ps->groups[0]) * (size_t)ngroups);
}

void
peers_reconfigure(struct peers *ps, unsigned dead_ms)
{
	ps->dead_ms = dead_ms;
}

HOTPATH int
peers_lookup(struct peers *ps, const char *name)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (name_eq(ps->p[i].name, name))
			return i;
	if (ps->n == PEERS_MAX)
		return -1;
	memset(&ps->p[i], 0, sizeof(ps->p[i]));
	strncpy(ps->p[i].name, name, sizeof(ps->p[i].name) - 1);
	ps->p[i].nnames = -1;
	ps->said++;
	return ps->n++;
}

/* Where each of our groups is in its list; compared only when the list changes. */
static bool
map_groups(struct peers *ps, struct peer *p, const struct msg *m)
{
	bool same = p->nnames == m->ngroups;

	for (int k = 0; same && k < m->ngroups; k++)
		same = memcmp(p->names[k], m->groups[k].name, PROTO_NAME_LEN) == 0;
	if (same)
		return false;
	p->nnames = m->ngroups;
	for (int k = 0; k < m->ngroups; k++)
		memcpy(p->names[k], m->groups[k].name, PROTO_NAME_LEN);
	for (int g = 0; g < ps->ngroups; g++) {
		p->at[g] = -1;
		for (int k = 0; k < m->ngroups; k++)
			if (strncmp(m->groups[k].name, ps->groups[g],
			    PROTO_NAME_LEN) == 0)
				p->at[g] = (int8_t)k;
	}
	return true;
}

HOTPATH bool
peers_update(struct peers *ps, int i, const struct msg *m, uint64_t acked,
    unsigned hold_ms, uint64_t now)
{
	struct peer *p = &ps->p[i];
	bool changed = map_groups(ps, p, m);

	p->heard = now;
	p->acked = acked;
	if (acked > p->echoed)
		p->echoed = acked;
	if (m->epoch != p->epoch) {
		p->epoch = m->epoch;
		p->epoch_at = now;
	}
	p->hold_ms = hold_ms;
	p->v2 |= m->version >= 2;
	ps->said += changed;
	for (int g = 0; changed && g < ps->ngroups; g++)
		p->groups[g].has = p->at[g] != -1;
	for (int g = 0; g < ps->ngroups; g++) {
		struct peer_group *pg = &p->groups[g];
		const struct msg_group *mg;
		uint64_t record;
		bool to_me;

		if (p->at[g] == -1)
			continue;
		mg = &m->groups[p->at[g]];
		/* version 1 (0.1, a pair) names no target: it means us */
		to_me = (mg->xflags & PROTO_X_TARGET) != 0 ||
		    (m->version == 1 && ps->n == 1);
		record = (uint64_t)mg->state | (uint64_t)mg->priority << 8 |
		    (uint64_t)mg->flags << 16 | (uint64_t)mg->xflags << 24 |
		    (uint64_t)to_me << 32;
		/* the same again (changed: the view is new) */
		if (!changed && record == p->records[g])
			continue;
		ps->said++;
		p->records[g] = record;
		pg->to_me = to_me;
		memset(&pg->view, 0, sizeof(pg->view));
		memcpy(pg->view.name, p->name, sizeof(pg->view.name));
		pg->view.state = (enum fsm_state)mg->state;
		pg->view.priority = mg->priority;
		pg->view.handover = (mg->flags & PROTO_F_HANDOVER) != 0;
		pg->view.holds = (mg->flags & PROTO_F_HOLDS) != 0;
		pg->view.degraded = (mg->flags & PROTO_F_DEGRADED) != 0;
		pg->view.yielded = (mg->flags & PROTO_F_YIELDED) != 0;
		pg->view.placed = (mg->xflags & PROTO_X_PLACED) != 0;
		pg->view.key = (mg->xflags & PROTO_X_KEY) != 0;
		pg->view.keyless = (mg->xflags & PROTO_X_KEYLESS) != 0;
	}
	return changed;
}

HOTPATH bool
peers_alive(const struct peers *ps, int i, uint64_t now)
{
	const struct peer *p = &ps->p[i];

	return p->heard && now - p->heard < (p->hold_ms > ps->dead_ms ?
	    p->hold_ms : ps->dead_ms);
}

HOTPATH uint64_t
peers_epoch(const struct peers *ps, uint64_t now)
{
	uint64_t live = 0;

	for (int i = 0; i < ps->n; i++)
		live |= (uint64_t)peers_alive(ps, i, now) << i;
	return ps->said << PEERS_MAX | live;
}

int
peers_count_live(const struct peers *ps, int g, uint64_t now)
{
	int n = 0;

	for (int i = 0; i < ps->n; i++)
		n += peers_alive(ps, i, now) && ps->p[i].groups[g].has;
	return n;
}

enum role { R_NONE, R_HOLDER, R_RESIGNS, R_CANDIDATE, R_LEAVING };

HOTPATH static enum role
role_of(const struct peer_group *pg)
{
	const struct fsm_peer *v = &pg->view;

	switch (v->state) {
	case FSM_ACTIVE:
		return v->handover && pg->to_me ? R_RESIGNS : R_HOLDER;
	case FSM_MAINTENANCE:	/* without the VIPs it takes none */
		return v->holds ? R_HOLDER : R_LEAVING;
	case FSM_STOPPING:
		if (pg->to_me)
			return R_RESIGNS;
		return v->holds ? R_HOLDER : R_LEAVING;
	case FSM_INIT:
	case FSM_STANDBY:
		return R_CANDIDATE;
	case FSM_FAULT:
		return R_LEAVING;
	default:
		return R_NONE;
	}
}

/* a better than b: election order (priority, then the smaller name) */
HOTPATH static bool
better(const struct fsm_peer *a, const struct fsm_peer *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return strcmp(a->name, b->name) < 0;
}

/* The best live peer of group g in role r (healthy ones first); -1 none. */
HOTPATH static int
best(const struct peers *ps, int g, enum role r, uint64_t now)
{
	int b = -1;

	for (int i = 0; i < ps->n; i++) {
		const struct peer_group *pg = &ps->p[i].groups[g];

		if (!pg->has || !peers_alive(ps, i, now) || role_of(pg) != r)
			continue;
		if (b == -1 || (ps->p[b].groups[g].view.degraded &&
		    !pg->view.degraded) ||
		    (ps->p[b].groups[g].view.degraded == pg->view.degraded &&
		    better(&pg->view, &ps->p[b].groups[g].view)))
			b = i;
	}
	return b;
}

HOTPATH static int
find(const struct peers *ps, const char *name)
{
	for (int i = 0; i < ps->n; i++)
		if (name_eq(ps->p[i].name, name))
			return i;
	return -1;
}

/* A live candidate for g named name, or -1. */
HOTPATH static int
candidate(const struct peers *ps, int g, const char *name, uint64_t now)
{
	int i = name && name[0] ? find(ps, name) : -1;

	if (i == -1 || !ps->p[i].groups[g].has || !peers_alive(ps, i, now) ||
	    role_of(&ps->p[i].groups[g]) != R_CANDIDATE)
		return -1;
	return i;
}

HOTPATH static int
choose(const struct peers *ps, int g, const struct fsm *f, const char *want,
    bool all_heard, uint64_t now)
{
	int i, cur = f->peer_known ? find(ps, f->peer.name) : -1;

	if ((i = best(ps, g, R_HOLDER, now)) != -1 ||
	    (i = best(ps, g, R_RESIGNS, now)) != -1)
		return i;
	switch (f->state) {
	case FSM_STOPPING:
		/* the handover under way keeps its target */
		if ((i = candidate(ps, g, f->peer.name, now)) != -1)
			return i;
		/* FALLTHROUGH */
	case FSM_ACTIVE:
	case FSM_MAINTENANCE:
	case FSM_FAULT:
		if ((i = candidate(ps, g, want, now)) != -1 ||
		    (i = best(ps, g, R_CANDIDATE, now)) != -1)
			return i;
		return best(ps, g, R_LEAVING, now);
	default:
		break;
	}
	i = best(ps, g, R_CANDIDATE, now);
	if (i != -1 && !fsm_wins(f, &ps->p[i].groups[g].view))
		return i;
	if (cur != -1 && ps->p[cur].groups[g].has &&
	    peers_alive(ps, cur, now) &&
	    role_of(&ps->p[cur].groups[g]) == R_LEAVING)
		return cur;
	/* the one shown died: its silence decides, as with two nodes */
	if (f->state == FSM_STANDBY && f->peer_known &&
	    (cur == -1 || !peers_alive(ps, cur, now)))
		return -1;
	if (f->state == FSM_INIT && !all_heard)
		return -1;
	if (i != -1)
		return i;
	return best(ps, g, R_LEAVING, now);
}

HOTPATH int
peers_pick(const struct peers *ps, int g, const struct fsm *f,
    const char *want, bool all_heard, uint64_t now, struct fsm_peer *out)
{
	const struct peer_group *pg;
	int i = choose(ps, g, f, want, all_heard, now);

	if (i == -1)
		return -1;
	pg = &ps->p[i].groups[g];
	*out = pg->view;
	out->acked_at = ps->p[i].acked;
	out->heard_at = ps->p[i].heard;
	out->hold_ms = ps->p[i].hold_ms;
	/* meant for another node: to us it still holds the group */
	if (role_of(pg) == R_HOLDER &&
	    (out->state == FSM_STOPPING || out->handover)) {
		out->state = FSM_ACTIVE;
		out->handover = false;
		out->holds = out->holds || pg->view.state == FSM_ACTIVE;
	}
	return i;
}
