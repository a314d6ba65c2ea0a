/*
 * Reload (SIGHUP, failoverctl reload): a bad file changes nothing; a good
 * one applies without a failover.
 */
#include <stdio.h>
#include <string.h>

#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "vip.h"

static struct reload_stats stats;

/* The config's key; a bad key file is an error of the config's key_file line. */
int
daemon_load_key(const struct config *c, uint8_t *key, size_t *keylen,
    char *err, size_t errlen)
{
	char why[CFG_ERR_MAX];

	if (auth_load_key(c->key_file, key, keylen, why, sizeof(why)) == 0)
		return 0;
	why[strcspn(why, "\n")] = '\0';
	return config_error(c, c->key_file_line, err, errlen, "%s", why);
}

/* Each line of config_warnings() as a warning. */
void
daemon_config_warnings(const struct config *c)
{
	char buf[CFG_ERR_MAX], *line, *save;

	config_warnings(c, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
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

static bool
same_groups(const struct config *a, const struct config *b)
{
	if (a->ngroups != b->ngroups)
		return false;
	for (int i = 0; i < a->ngroups; i++)
		if (strcmp(a->groups[i].name, b->groups[i].name) != 0)
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
	/* the lease and keys belong to the running client */
	{
		struct cfg_quorum a = d.cfg.quorum, b = nc->quorum;

		a.line = b.line = 0;
		if (memcmp(&a, &b, sizeof(a)) != 0) {
			snprintf(err, errlen, "%s: the quorum section needs a "
			    "restart\n", d.conf_path);
			return NULL;
		}
	}
	if (!same_groups(&d.cfg, nc)) {
		snprintf(err, errlen, "%s: adding, removing or renaming VIP groups "
		    "needs a restart (their VIPs and settings do not)\n",
		    d.conf_path);
		return NULL;
	}
	if (daemon_load_key(nc, key, &keylen, err, errlen) == -1)
		return NULL;
	na = auth_new(key, keylen);
	explicit_bzero(key, sizeof(key));
	if (na == NULL)
		snprintf(err, errlen, "cannot set up HMAC-SHA256\n");
	/* last: a new metrics address is bound only for a reload that goes ahead */
	else if (metrics_http_prepare(nc, err, errlen) == -1) {
		auth_free(na);
		na = NULL;
	}
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
	bool relink;

	auth_free(d.auth);
	d.auth = na;
	if (hooks_init(nc->hooks_dir, nc->hooks_timeout_ms) == -1)
		log_warnx("reload: hooks in %s cannot be set up", nc->hooks_dir);
	role_reload_begin(nc);
	relink = !same_links(&d.cfg, nc);
	if (relink)
		link_close_all();	/* by the old configuration */
	memcpy(&d.cfg, nc, sizeof(*nc));
	if (relink) {
		memset(d.links, 0, sizeof(d.links));
		if (link_open_all() == -1)
			log_warnx("reload: some heartbeat links could not be opened");
	}
	role_reload_end();
	faults_restart();	/* what did not change keeps its verdict */
	metrics_http_apply(&d.cfg);
}

void
reload_get_stats(struct reload_stats *out)
{
	*out = stats;
}

int
daemon_reload(char *err, size_t errlen)
{
	static struct config nc;
	struct auth *na;
	char status[512];

	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_us());
	if ((na = reload_load(&nc, err, errlen)) == NULL) {
		stats.failed++;
		log_warnx("reload refused, keeping the running configuration: %s", err);
		role_status_line(status, sizeof(status));
		sdnotify("READY=1\nSTATUS=%s (reload refused)",
		    status);
		return -1;
	}
	daemon_config_warnings(&nc);
	reload_apply(&nc, na);
	stats.ok++;
	role_status_line(status, sizeof(status));
	sdnotify("READY=1\nSTATUS=%s", status);
	log_info("configuration reloaded from %s", d.conf_path);
	return 0;
}
