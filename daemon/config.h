/* Configuration: libconfig file -> struct config. Pure apart from reading the file. */
#ifndef FOD_CONFIG_H
#define FOD_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <limits.h>

#define CFG_NAME_MAX	31	/* node, check and group names; fits the wire format */
#define CFG_MAX_LINKS	16	/* paths to up to 7 peers, two each */
#define CFG_MAX_GROUPS	32
/* standby_interval_ms at most this, or dead_ms / 2 if that is more */
#define CFG_STANDBY_MAX_MS 10000
#define CFG_MAX_VIPS	64	/* over all groups */
#define CFG_MAX_CHECKS	16	/* <= 32: cfg_group.checks is a mask */
#define CFG_MAX_TRACK	32	/* distinct names in all track_interfaces lists; <= 32: a mask */
#define CFG_MAX_ARBITER	4
#define CFG_CMD_MAX	1024
#define CFG_ERR_MAX	4096
#define CFG_MAX_ETCD	7	/* quorum.etcd members */
#define CFG_URL_MAX	256
#define CFG_PREFIX_MAX	128	/* quorum.prefix */
#define CFG_TTL_MAX	300	/* quorum.ttl_s, seconds */

enum hooks_order { HOOKS_VIP_FIRST, HOOKS_HOOKS_FIRST };
enum fence_mode { FENCE_OFF, FENCE_OPTIONAL, FENCE_REQUIRED };
enum quorum_loss { QUORUM_KEEP_WHILE_PEERS, QUORUM_RELEASE };

struct cfg_link {
	char			ifname[IF_NAMESIZE];
	struct sockaddr_storage	local;		/* port = cluster.port */
	struct sockaddr_storage	peer;		/* port = cluster.port */
	socklen_t		salen;
	int			family;		/* AF_INET or AF_INET6, same for both */
};

struct cfg_vip {
	char		ifname[IF_NAMESIZE];
	char		label[IF_NAMESIZE];	/* "" = none (IPv4 only) */
	unsigned	v6_label_line;		/* an IPv6 label was given here: ignored */
	int		family;
	unsigned char	addr[16];		/* 4 bytes used for IPv4 */
	int		prefixlen;
	char		text[64];		/* as written, e.g. "192.0.2.10/24" */
	int		group;			/* index in cfg.groups */
};

struct cfg_check {
	char		name[CFG_NAME_MAX + 1];
	char		command[CFG_CMD_MAX];
	unsigned	interval_ms;		/* default 1000 */
	unsigned	timeout_ms;		/* default 1000 */
	unsigned	rise;			/* default 2 */
	unsigned	fall;			/* default 3 */
	int		on_fail_penalty;	/* 0 = "fault"; >0 = lower priority by this */
	char		recover[CFG_CMD_MAX];	/* "" = none */
	unsigned	recover_attempts;	/* default 1 */
};

/*
 * A failover group (design.md 9); top-level vips make one, "default".
 * Bit i of checks is cfg.checks[i]; bit i of track, cfg.track_interfaces[i].
 */
struct cfg_group {
	char		name[CFG_NAME_MAX + 1];	/* 1-31 of A-Z a-z 0-9 . _ - */
	unsigned	line;			/* of its entry; 0 for the implicit "default" */
	int		priority;		/* 1..254; default node.priority */
	bool		preempt;		/* default cluster.preempt */
	unsigned	preempt_delay_ms;	/* default cluster.preempt_delay_ms */
	int		first_vip, nvips;	/* cfg.vips[first_vip .. first_vip + nvips) */
	uint32_t	checks;			/* can fault (or lower) it; default all */
	uint32_t	track;			/* tracked for it; default track_top */
};

/*
 * quorum (design 11): group keys in etcd. Absent section = disabled.
 * URLs are "http://IP:PORT" or "https://IP:PORT" with an IP literal (no
 * DNS lookup ever runs on the loop; IPv6 in brackets) and nothing after
 * the port but an optional "/", which is dropped.
 */
struct cfg_quorum {
	bool		enabled;
	unsigned	line;			/* of the quorum section */
	char		urls[CFG_MAX_ETCD][CFG_URL_MAX];	/* without a trailing '/' */
	int		nurls;			/* 1..CFG_MAX_ETCD */
	unsigned	ttl_s;			/* default 2; 1..CFG_TTL_MAX */
	char		prefix[CFG_PREFIX_MAX];	/* default "/failoverd"; starts with '/', no trailing '/' */
	enum quorum_loss on_loss;		/* default keep-while-peers */
	char		ca_file[PATH_MAX];	/* "" = system CAs; resolved against the config dir */
	char		cert_file[PATH_MAX];	/* "" = no client certificate */
	char		key_file[PATH_MAX];	/* "" = none; required with cert_file */
};

struct config {
	/* node */
	char		node_name[CFG_NAME_MAX + 1];
	int		priority;		/* 1..254 */

	/* cluster */
	unsigned	cluster_id;		/* 1..65535 */
	unsigned	key_file_line;		/* of cluster.key_file, or of cluster */
	unsigned	port;			/* default 694 */
	unsigned	interval_ms;		/* default 100 */
	unsigned	dead_ms;		/* default 500; >= 2 * interval_ms */
	unsigned	init_dead_ms;		/* default 1000 */
	bool		preempt;		/* default true */
	unsigned	preempt_delay_ms;	/* default 0 */
	unsigned	standby_interval_ms;	/* period when standby in every group:
						   interval_ms..CFG_STANDBY_MAX_MS,
						   default dead_ms / 3 (>= interval_ms) */
	enum fence_mode	fence;			/* default "optional" (run fence.d if any) */
	unsigned	vip_lease_s;		/* default 3; 0 = permanent */

	int		nlinks;
	int		ngroups;		/* >= 1 */
	bool		groups_explicit;	/* the file used groups = (...) */
	struct cfg_link	links[CFG_MAX_LINKS];
	struct cfg_vip	vips[CFG_MAX_VIPS];	/* of all groups, group by group */
	int		nvips;
	struct cfg_group groups[CFG_MAX_GROUPS];

	/* announce */
	unsigned	announce_count;		/* default 3 */
	unsigned	announce_interval_ms;	/* default 100 */
	unsigned	announce_refresh_ms;	/* default 0 = off */

	/* hooks */
	char		hooks_dir[PATH_MAX];	/* default /etc/failoverd/hooks */
	unsigned	hooks_timeout_ms;	/* default 30000 */
	enum hooks_order hooks_order;		/* default vip-first */

	struct cfg_check checks[CFG_MAX_CHECKS];
	int		nchecks;

	/* Top-level and per-group track_interfaces, each name once. */
	char		track_interfaces[CFG_MAX_TRACK][IF_NAMESIZE];
	int		ntrack;
	uint32_t	track_top;		/* bit i: track_interfaces[i] is top-level */
	unsigned	track_debounce_ms;	/* default 0 */

	/* arbiter */
	char		arbiter_ping[CFG_MAX_ARBITER][64];
	int		narbiter;
	unsigned	arbiter_interval_ms;	/* default 500 */
	unsigned	arbiter_fail_after;	/* default 3 */

	bool		realtime;		/* default false */
	char		runtime_dir[PATH_MAX];	/* default /run/failoverd */
	char		state_dir[PATH_MAX];	/* default /var/lib/failoverd */
	char		control_group[32];	/* "" = root only; else socket 0660 to this group */

	/* metrics (design 10): absent = off */
	struct {
		bool		enabled;
		char		listen[64];		/* as written: "ADDR:PORT", "[V6]:PORT" */
		unsigned	line;			/* of metrics.listen, for bind errors */
		struct sockaddr_storage addr;
		socklen_t	salen;
	} metrics;

	struct cfg_quorum quorum;
	/* paths last: the node and timers above fit in two cache lines */
	char		path[PATH_MAX];
	char		key_file[PATH_MAX];	/* resolved against the config dir */
};

/*
 * Load and validate. On error returns -1 and writes one or more lines
 * "FILE:LINE: message\n" into err (LINE 0: the file as a whole), sorted
 * by line; *out is written only on success, so a failed reload leaves
 * the running configuration intact. Files over 1 MiB and @include are
 * refused. Relative paths in the file (cluster.key_file, hooks.dir,
 * runtime_dir, state_dir) are resolved against the file's directory.
 */
int	config_load(const char *path, struct config *out, char *err, size_t errlen);
/*
 * A setting of a loaded config that cannot be used (a library, a port, a
 * key file): "FILE:LINE: message\n" into err, for a start, `-t` or a
 * reload to refuse with. Returns -1.
 */
int	config_error(const struct config *, unsigned line, char *err,
	    size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Same from a buffer; "name" is used as FILE in messages. For tests and fuzzing. */
int	config_parse(const char *buf, size_t len, const char *name,
	    struct config *out, char *err, size_t errlen);
/*
 * What a loaded config holds that has no effect: "FILE:LINE: message\n"
 * lines into buf (empty if none), for warnings. Returns the number of lines.
 */
int	config_warnings(const struct config *, char *buf, size_t len);

#endif
