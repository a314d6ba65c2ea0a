/*
 * libFuzzer target: config_parse() over arbitrary bytes.  Besides the
 * sanitizers, a config that is accepted must satisfy the documented
 * invariants; anything else aborts.
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FUZZ_MAX	(64 * 1024)	/* plenty for a config; keeps runs fast */

static uint32_t
low_bits(int n)
{
	return n >= 32 ? UINT32_MAX : (1U << n) - 1;
}

/* Groups cut cfg.vips into consecutive non-empty runs; masks in range. */
static void
check_groups(const struct config *c)
{
	int i, j, next = 0;

	if (c->ngroups < 1 || c->ngroups > CFG_MAX_GROUPS ||
	    (!c->groups_explicit && (c->ngroups != 1 ||
	    strcmp(c->groups[0].name, "default") != 0)) ||
	    (c->track_top & ~low_bits(c->ntrack)) != 0 ||
	    c->standby_interval_ms < c->interval_ms ||
	    (c->standby_interval_ms > CFG_STANDBY_MAX_MS &&
	    c->standby_interval_ms > c->dead_ms / 2))
		abort();
	for (i = 0; i < c->ngroups; i++) {
		const struct cfg_group *g = &c->groups[i];

		if (g->first_vip != next || g->nvips < 1 ||
		    g->priority < 1 || g->priority > 254 ||
		    strnlen(g->name, sizeof(g->name)) == 0 ||
		    strnlen(g->name, sizeof(g->name)) > CFG_NAME_MAX ||
		    (g->checks & ~low_bits(c->nchecks)) != 0 ||
		    (g->track & ~low_bits(c->ntrack)) != 0)
			abort();
		for (j = 0; j < g->nvips; j++)
			if (c->vips[next + j].group != i)
				abort();
		next += g->nvips;
		for (j = 0; j < i; j++)
			if (strcmp(c->groups[j].name, g->name) == 0)
				abort();
	}
	if (next != c->nvips)
		abort();
	for (i = 0; i < c->ntrack; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->track_interfaces[i],
			    c->track_interfaces[j]) == 0)
				abort();
}

static void
check_invariants(const struct config *c)
{
	int i;

	if (c->nlinks < 1 || c->nlinks > CFG_MAX_LINKS ||
	    c->nvips < 1 || c->nvips > CFG_MAX_VIPS ||
	    c->nchecks < 0 || c->nchecks > CFG_MAX_CHECKS ||
	    c->ntrack < 0 || c->ntrack > CFG_MAX_TRACK ||
	    c->narbiter < 0 || c->narbiter > CFG_MAX_ARBITER)
		abort();
	if (c->priority < 1 || c->priority > 254 || c->cluster_id < 1 ||
	    c->cluster_id > 65535 || c->port < 1 || c->port > 65535 ||
	    c->interval_ms < 1 || (uint64_t)c->dead_ms < 2ULL * c->interval_ms ||
	    c->init_dead_ms < c->interval_ms || c->vip_lease_s == 1 ||
	    c->vip_lease_s > 3600)
		abort();
	if (strnlen(c->node_name, sizeof(c->node_name)) == 0 ||
	    strnlen(c->node_name, sizeof(c->node_name)) > CFG_NAME_MAX ||
	    strnlen(c->key_file, sizeof(c->key_file)) == sizeof(c->key_file))
		abort();
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].family != c->links[i].local.ss_family ||
		    c->links[i].family != c->links[i].peer.ss_family)
			abort();
	for (i = 0; i < c->nvips; i++) {
		int j, found = 0;

		for (j = 0; j < c->nlinks; j++)
			found |= strcmp(c->links[j].ifname,
			    c->vips[i].ifname) == 0;
		if (!found || c->vips[i].prefixlen < 1 ||
		    c->vips[i].prefixlen > (c->vips[i].family == AF_INET ? 32 : 128))
			abort();
	}
	for (i = 0; i < c->nchecks; i++)
		if (c->checks[i].command[0] == '\0' ||
		    c->checks[i].name[0] == '\0')
			abort();
	check_groups(c);
}

/*
 * libconfig 1.5 leaks the pending string token when a syntax error aborts
 * its parser (e.g. `{ a "x"`): a library bug, not ours, a few bytes per
 * rejected file.  Keep LeakSanitizer looking at our own allocations.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	static char err[CFG_ERR_MAX];

	if (size > FUZZ_MAX)
		return 0;
	if (config_parse((const char *)data, size, "/etc/failoverd/fuzz.conf",
	    &c, err, sizeof(err)) == 0)
		check_invariants(&c);
	else if (err[0] == '\0' || strncmp(err, "/etc/failoverd/fuzz.conf:",
	    25) != 0)
		abort();	/* every failure says where */
	return 0;
}
