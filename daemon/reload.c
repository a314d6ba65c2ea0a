/*
 * Reload (SIGHUP, failoverctl reload): a bad file changes nothing; a good
 * one applies without a failover.
 */
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "sdnotify.h"
#include "vip.h"

static bool
same_vip(const struct cfg_vip *a, const struct cfg_vip *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, 16) == 0 && strcmp(a->ifname, b->ifname) == 0 &&
	    strcmp(a->label, b->label) == 0;
}

static bool
has_vip(const struct config *c, const struct cfg_vip *v)
{
	for (int i = 0; i < c->nvips; i++)
		if (same_vip(&c->vips[i], v))
			return true;
	return false;
}

static bool
same_links(const struct config *a, const struct config *b)
{
	if (a->nlinks != b->nlinks || a->port != b->port)
		return false;
	for (int i = 0; i < a->nlinks; i++)
		if (strcmp(a->links[i].ifname, b->links[i].ifname) != 0 ||
		    memcmp(&a->links[i].local, &b->links[i].local, sizeof(a->links[i].local)) ||
		    memcmp(&a->links[i].peer, &b->links[i].peer, sizeof(a->links[i].peer)))
			return false;
	return true;
}

/* Load and vet a new configuration; nothing running changes here. */
static struct auth *
reload_load(struct config *nc, char *err, size_t errlen)
{
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	struct auth *na;

	if (config_load(d.conf_path, nc, err, errlen) == -1)
		return NULL;
	if (strcmp(nc->node_name, d.cfg.node_name) != 0 ||
	    nc->cluster_id != d.cfg.cluster_id ||
	    strcmp(nc->state_dir, d.cfg.state_dir) != 0 ||
	    strcmp(nc->runtime_dir, d.cfg.runtime_dir) != 0) {
		snprintf(err, errlen, "%s: node.name, cluster.id, state_dir and "
		    "runtime_dir need a restart\n", d.conf_path);
		return NULL;
	}
	if (daemon_load_key(nc, key, &keylen, err, errlen) == -1)
		return NULL;
	na = auth_new(key, keylen);
	explicit_bzero(key, sizeof(key));
	if (na == NULL)
		snprintf(err, errlen, "cannot set up HMAC-SHA256\n");
	return na;
}

/*
 * Apply a vetted configuration without a failover: VIPs still configured
 * stay untouched, added ones come up (when we hold the VIPs), removed ones
 * go; timers apply from the next heartbeat.
 */
static void
reload_apply(struct config *nc, struct auth *na)
{
	bool holds = fsm_holds_vips(&d.fsm), relink;

	auth_free(d.auth);
	d.auth = na;
	if (hooks_init(nc->hooks_dir, nc->hooks_timeout_ms) == -1)
		log_warnx("reload: hooks in %s cannot be set up", nc->hooks_dir);
	for (int i = 0; holds && i < d.cfg.nvips; i++)
		if (!has_vip(nc, &d.cfg.vips[i])) {
			log_info("reload: removing VIP %s", d.cfg.vips[i].text);
			vip_del(&d.cfg.vips[i]);
		}
	for (int i = 0; holds && i < nc->nvips; i++)
		if (!has_vip(&d.cfg, &nc->vips[i])) {
			log_info("reload: adding VIP %s", nc->vips[i].text);
			if (vip_add(&nc->vips[i], nc->vip_lease_s) == 0)
				announce_vip(&nc->vips[i]);
		}
	relink = !same_links(&d.cfg, nc);
	if (relink)
		link_close_all();	/* by the old configuration */
	memcpy(&d.cfg, nc, sizeof(*nc));
	if (relink) {
		memset(d.links, 0, sizeof(d.links));
		if (link_open_all() == -1)
			log_warnx("reload: some heartbeat links could not be opened");
	}
	role_fsm_config(nc, &d.fsm.cfg);	/* name and id cannot change */
	role_reschedule();
	faults_restart();	/* what did not change keeps its verdict */
}

int
daemon_reload(char *err, size_t errlen)
{
	static struct config nc;
	struct auth *na;

	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_us());
	if ((na = reload_load(&nc, err, errlen)) == NULL) {
		log_warnx("reload refused, keeping the running configuration: %s", err);
		sdnotify("READY=1\nSTATUS=%s (reload refused)",
		    fsm_state_name(d.fsm.state));
		return -1;
	}
	daemon_config_warnings(&nc);
	reload_apply(&nc, na);
	sdnotify("READY=1\nSTATUS=%s (%s)", fsm_state_name(d.fsm.state), d.fsm.reason);
	log_info("configuration reloaded from %s", d.conf_path);
	return 0;
}
