/*
 * Configuration: libconfig text -> struct config.
 *
 * One code path: config_load() reads the file (at most CFG_FILE_MAX bytes)
 * and hands the bytes to config_parse(), which never touches the file
 * system.  A short pre-scan refuses what libconfig would otherwise do
 * silently or unsafely (@include of arbitrary files, NUL bytes, integers
 * that atoi() would wrap), then libconfig builds the tree and the walkers
 * below check every key, collecting all errors as "FILE:LINE: message".
 * The caller's struct config is only written on success, so a failed
 * reload leaves the running configuration intact.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"

#define CFG_FILE_MAX	(1024 * 1024)	/* refuse bigger files: bounded parse */
#define CFG_LINES_MAX	65535		/* libconfig keeps setting lines in 16 bits */
#define CFG_ERRS_MAX	64		/* report this many, then a summary line */
#define CFG_MSG_MAX	256
#define MS_MAX		86400000U	/* one day: far from overflow in timer math */
#define PENALTY_MAX	253		/* on_fail = -1 .. -253 */
#define TRACK_LIST_MAX	8		/* entries of one track_interfaces list */

_Static_assert(CFG_MAX_CHECKS <= 32 && CFG_MAX_TRACK <= 32,
    "cfg_group.checks and .track are 32-bit masks");

#define DEFAULT_KEY_FILE	"/etc/failoverd/cluster.key"
#define DEFAULT_HOOKS_DIR	"/etc/failoverd/hooks"
#define DEFAULT_RUNTIME_DIR	"/run/failoverd"
#define DEFAULT_STATE_DIR	"/var/lib/failoverd"

/* Lookup flags. */
#define OPT		0x0
#define REQ		0x1	/* missing key is an error */
#define EMPTY_OK	0x2	/* strings: "" is a valid value */

struct cfg_error {
	unsigned	line;
	int		seq;		/* keeps the sort stable */
	char		msg[CFG_MSG_MAX];
};

struct pctx {
	const char		*name;		/* FILE in messages */
	char			 dir[PATH_MAX];	/* config directory; "" = cwd */
	struct config		*c;
	struct cfg_error	*errs;
	int			 nerr;		/* all errors, shown or not */
	/* Interfaces named by links, valid or not: for the VIP check. */
	char			 link_ifs[CFG_MAX_LINKS][IF_NAMESIZE];
	int			 nlink_ifs;
	/* Where each VIP was written: for the duplicate check. */
	char			 vip_where[CFG_MAX_VIPS][40];
	unsigned		 vip_line[CFG_MAX_VIPS];
};

#define KEYPATH_MAX	96

static const char *const root_keys[] = { "node", "cluster", "links", "vips",
	"groups", "announce", "hooks", "checks", "track_interfaces",
	"track_debounce_ms", "arbiter", "realtime", "runtime_dir", "state_dir",
	"control_group", "metrics", "quorum", NULL };
static const char *const node_keys[] = { "name", "priority", NULL };
static const char *const cluster_keys[] = { "id", "key_file", "port",
	"interval_ms", "dead_ms", "init_dead_ms", "preempt", "preempt_delay_ms",
	"standby_interval_ms", "fence", "vip_lease_s", NULL };
static const char *const link_keys[] = { "interface", "local", "peer", NULL };
static const char *const vip_keys[] = { "address", "interface", "label", NULL };
static const char *const group_keys[] = { "name", "priority", "preempt",
	"preempt_delay_ms", "vips", "checks", "track_interfaces", NULL };
static const char *const announce_keys[] = { "count", "interval_ms",
	"refresh_ms", NULL };
static const char *const hooks_keys[] = { "dir", "timeout_ms", "order", NULL };
static const char *const check_keys[] = { "name", "command", "interval_ms",
	"timeout_ms", "rise", "fall", "on_fail", "recover", "recover_attempts",
	NULL };
static const char *const arbiter_keys[] = { "ping", "interval_ms",
	"fail_after", NULL };
static const char *const metrics_keys[] = { "listen", NULL };
static const char *const quorum_keys[] = { "etcd", "ttl_s", "prefix",
	"on_quorum_loss", "ca_file", "cert_file", "key_file", NULL };

/* Indexed by enum fence_mode and enum hooks_order. */
static const char *const fence_names[] = { "off", "optional", "required",
	NULL };
static const char *const order_names[] = { "vip-first", "hooks-first", NULL };
/* Indexed by enum quorum_loss. */
static const char *const quorum_loss_names[] = { "keep-while-peers",
	"release", NULL };

static void
perr(struct pctx *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
perr(struct pctx *p, unsigned line, const char *fmt, ...)
{
	struct cfg_error *e;
	va_list ap;
	char *s;

	if (p->nerr++ >= CFG_ERRS_MAX)
		return;
	e = &p->errs[p->nerr - 1];
	e->line = line;
	e->seq = p->nerr;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* Values are echoed from the file: keep control bytes off terminals. */
	for (s = e->msg; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int
errcmp(const void *a, const void *b)
{
	const struct cfg_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq - y->seq;
}

/* Errors sorted by line, "FILE:LINE: message\n" each, whole lines only. */
static void
format_errors(struct pctx *p, char *err, size_t errlen)
{
	int i, n = p->nerr < CFG_ERRS_MAX ? p->nerr : CFG_ERRS_MAX;
	size_t off = 0;
	char line[CFG_MSG_MAX + PATH_MAX + 32];
	int len;

	if (err == NULL || errlen == 0)
		return;
	err[0] = '\0';
	qsort(p->errs, n, sizeof(*p->errs), errcmp);
	for (i = 0; i <= n; i++) {
		if (i < n)
			len = snprintf(line, sizeof(line), "%s:%u: %s\n",
			    p->name, p->errs[i].line, p->errs[i].msg);
		else if (p->nerr > n)
			len = snprintf(line, sizeof(line),
			    "%s:%u: too many errors, %d more not shown\n",
			    p->name, p->errs[n - 1].line, p->nerr - n);
		else
			break;
		if (len < 0)
			break;
		if (off + (size_t)len >= errlen) {
			if (off == 0)	/* at least a truncated first line */
				snprintf(err, errlen, "%s", line);
			break;
		}
		memcpy(err + off, line, (size_t)len + 1);
		off += (size_t)len;
	}
}

static void
load_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* File-level error before parsing: "PATH:0: message\n". */
static void
load_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[CFG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s:0: %s\n", path, msg);
}

static unsigned
line_of(const config_setting_t *s)
{
	return s ? config_setting_source_line(s) : 0;
}

/* "where.key", or "key" at the top level. */
static const char *
keypath(char *buf, const char *where, const char *key)
{
	snprintf(buf, KEYPATH_MAX, "%s%s%s", where, *where ? "." : "", key);
	return buf;
}

static bool
present(const config_setting_t *g, const char *key)
{
	return g != NULL && config_setting_get_member(g, key) != NULL;
}

/* Bounded Levenshtein distance for "did you mean"; -1 if too long. */
static int
edit_distance(const char *a, const char *b)
{
	int row[33], i, j, diag, up, best;
	size_t la = strlen(a), lb = strlen(b);

	if (la > 32 || lb > 32)
		return -1;
	for (j = 0; j <= (int)lb; j++)
		row[j] = j;
	for (i = 1; i <= (int)la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= (int)lb; j++) {
			up = row[j];
			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int
in_list(const char *s, const char *const list[])
{
	int i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return i;
	return -1;
}

/* Every member of group g must be one of known[]. */
static void
check_unknown(struct pctx *p, const config_setting_t *g, const char *where,
    const char *const known[])
{
	const config_setting_t *e;
	const char *key, *guess;
	char kp[KEYPATH_MAX];
	int i, j, d, bestd;

	for (i = 0; (e = config_setting_get_elem(g, i)) != NULL; i++) {
		key = config_setting_name(e);
		if (key == NULL || in_list(key, known) != -1)
			continue;
		guess = NULL;
		bestd = 3;	/* suggest only close matches */
		for (j = 0; known[j] != NULL; j++) {
			d = edit_distance(key, known[j]);
			if (d >= 0 && d < bestd && d < (int)strlen(key)) {
				bestd = d;
				guess = known[j];
			}
		}
		keypath(kp, where, key);
		if (guess)
			perr(p, line_of(e), "unknown key %.80s (did you mean"
			    " \"%s\"?)", kp, guess);
		else
			perr(p, line_of(e), "unknown key %.80s", kp);
	}
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	}
	return "a value";
}

/*
 * Member "key" of group g, or NULL when absent (an error if REQ) or of a
 * type other than want/want2 (always an error).
 */
static const config_setting_t *
member(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, int flags, int want, int want2)
{
	const config_setting_t *s;
	char kp[KEYPATH_MAX];
	int type;

	if (g == NULL)
		return NULL;
	if ((s = config_setting_get_member(g, key)) == NULL) {
		if (flags & REQ)
			perr(p, line_of(g), "missing required key %s",
			    keypath(kp, where, key));
		return NULL;
	}
	type = config_setting_type(s);
	if (type != want && type != want2) {
		perr(p, line_of(s), "%s must be %s, not %s",
		    keypath(kp, where, key), type_name(want), type_name(type));
		return NULL;
	}
	return s;
}

static long long
int_value(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return config_setting_get_int64(s);
	return config_setting_get_int(s);
}

/* Returns 1 if set, 0 if absent (out untouched), -1 on error. */
static int
get_uint(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, int flags, unsigned min, unsigned max, unsigned *out)
{
	const config_setting_t *s;
	char kp[KEYPATH_MAX];
	long long v;

	if ((s = member(p, g, where, key, flags, CONFIG_TYPE_INT,
	    CONFIG_TYPE_INT64)) == NULL)
		return present(g, key) ? -1 : 0;
	v = int_value(s);
	if (v < (long long)min || v > (long long)max) {
		perr(p, line_of(s), "%s = %lld is out of range %u..%u",
		    keypath(kp, where, key), v, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 1;
}

static int
get_bool(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, bool *out)
{
	const config_setting_t *s;

	if ((s = member(p, g, where, key, OPT, CONFIG_TYPE_BOOL,
	    CONFIG_TYPE_BOOL)) == NULL)
		return present(g, key) ? -1 : 0;
	*out = config_setting_get_bool(s);
	return 1;
}

static int
copy_str(struct pctx *p, const config_setting_t *s, const char *what,
    int flags, char *out, size_t outsz)
{
	const char *v = config_setting_get_string(s);
	size_t len = strlen(v);

	if (len == 0 && !(flags & EMPTY_OK)) {
		perr(p, line_of(s), "%s must not be empty", what);
		return -1;
	}
	if (len >= outsz) {
		perr(p, line_of(s), "%s is too long (%zu bytes, at most %zu)",
		    what, len, outsz - 1);
		return -1;
	}
	memcpy(out, v, len + 1);
	return 1;
}

static int
get_str(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, int flags, char *out, size_t outsz)
{
	const config_setting_t *s;
	char kp[KEYPATH_MAX];

	if ((s = member(p, g, where, key, flags, CONFIG_TYPE_STRING,
	    CONFIG_TYPE_STRING)) == NULL)
		return present(g, key) ? -1 : 0;
	return copy_str(p, s, keypath(kp, where, key), flags, out, outsz);
}

/* A string that must be one of names[]; *out is its index. */
static int
get_enum(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, const char *const names[], int *out)
{
	const config_setting_t *s;
	char choices[128] = "", kp[KEYPATH_MAX];
	int i;

	if ((s = member(p, g, where, key, OPT, CONFIG_TYPE_STRING,
	    CONFIG_TYPE_STRING)) == NULL)
		return present(g, key) ? -1 : 0;
	if ((i = in_list(config_setting_get_string(s), names)) != -1) {
		*out = i;
		return 1;
	}
	for (i = 0; names[i] != NULL; i++)
		snprintf(choices + strlen(choices),
		    sizeof(choices) - strlen(choices), "%s\"%s\"",
		    i ? ", " : "", names[i]);
	perr(p, line_of(s), "%s = \"%.64s\" is not one of %s",
	    keypath(kp, where, key), config_setting_get_string(s), choices);
	return -1;
}

/*
 * A list (or, with want2 = CONFIG_TYPE_ARRAY, an array) of min..max
 * entries.  Returns the number of entries to walk (at most max) or -1.
 */
static int
get_list(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, int flags, int want2, int max,
    const config_setting_t **out)
{
	const config_setting_t *s;
	char kp[KEYPATH_MAX];
	int n;

	*out = NULL;
	if ((s = member(p, g, where, key, flags, CONFIG_TYPE_LIST, want2)) ==
	    NULL)
		return present(g, key) ? -1 : 0;
	*out = s;
	n = config_setting_length(s);
	keypath(kp, where, key);
	if (n == 0 && (flags & REQ))
		perr(p, line_of(s), "%s is empty: at least one entry is"
		    " needed", kp);
	if (n > max) {
		perr(p, line_of(s), "%s has %d entries, at most %d allowed",
		    kp, n, max);
		n = max;
	}
	return n;
}

/* Path, resolved against the config file's directory when relative. */
static int
get_path(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, char *out, size_t outsz)
{
	char raw[PATH_MAX], kp[KEYPATH_MAX];
	int n;

	if ((n = get_str(p, g, where, key, OPT, raw, sizeof(raw))) != 1)
		return n;
	if (raw[0] == '/' || p->dir[0] == '\0')
		n = snprintf(out, outsz, "%s", raw);
	else
		n = snprintf(out, outsz, "%s%s%s", p->dir,
		    strcmp(p->dir, "/") == 0 ? "" : "/", raw);
	if (n < 0 || (size_t)n >= outsz) {
		perr(p, line_of(config_setting_get_member(g, key)),
		    "%s is too long once resolved against %.64s",
		    keypath(kp, where, key), p->dir);
		return -1;
	}
	return 1;
}

/* get_path(), but "" is allowed and stays "" (= not set). */
static int
get_path_empty(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, char *out, size_t outsz)
{
	const config_setting_t *s;

	if ((s = member(p, g, where, key, OPT, CONFIG_TYPE_STRING,
	    CONFIG_TYPE_STRING)) == NULL)
		return present(g, key) ? -1 : 0;
	if (config_setting_get_string(s)[0] == '\0') {
		out[0] = '\0';
		return 1;
	}
	return get_path(p, g, where, key, out, outsz);
}

static bool
valid_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CFG_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == len;
}

/* Same rules as the kernel's dev_valid_name(). */
static bool
valid_ifname(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len >= IF_NAMESIZE || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]))
			return false;
	return true;
}

static int
get_name(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, char *out)
{
	char kp[KEYPATH_MAX];
	int r;

	if ((r = get_str(p, g, where, key, REQ, out, CFG_NAME_MAX + 1)) != 1)
		return r;
	if (!valid_name(out)) {
		perr(p, line_of(config_setting_get_member(g, key)),
		    "%s \"%s\" may only contain letters, digits, '.', '_'"
		    " and '-'", keypath(kp, where, key), out);
		return -1;
	}
	return 1;
}

static int
check_ifname(struct pctx *p, const config_setting_t *s, const char *what,
    const char *ifname)
{
	if (valid_ifname(ifname))
		return 1;
	perr(p, line_of(s), "%s \"%s\" is not a valid interface name", what,
	    ifname);
	return -1;
}

static int
get_ifname(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, int flags, char *out)
{
	char kp[KEYPATH_MAX];
	int r;

	if ((r = get_str(p, g, where, key, flags, out, IF_NAMESIZE)) != 1)
		return r;
	return check_ifname(p, config_setting_get_member(g, key),
	    keypath(kp, where, key), out);
}

/* IPv4 or IPv6 literal; returns the family or 0. */
static int
parse_ip(const char *s, unsigned char addr[16])
{
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return 0;
}

static int
get_ip(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, unsigned char addr[16])
{
	char buf[INET6_ADDRSTRLEN], kp[KEYPATH_MAX];
	int af;

	if (get_str(p, g, where, key, REQ, buf, sizeof(buf)) != 1)
		return 0;
	if ((af = parse_ip(buf, addr)) == 0)
		perr(p, line_of(config_setting_get_member(g, key)),
		    "%s \"%s\" is not an IPv4 or IPv6 address",
		    keypath(kp, where, key), buf);
	return af;
}

static const config_setting_t *
get_group(struct pctx *p, const config_setting_t *root, const char *key,
    int flags, const char *const known[])
{
	const config_setting_t *g;

	if ((g = member(p, root, "", key, flags, CONFIG_TYPE_GROUP,
	    CONFIG_TYPE_GROUP)) != NULL)
		check_unknown(p, g, key, known);
	return g;
}

static void
parse_node(struct pctx *p, const config_setting_t *root)
{
	const config_setting_t *g;
	unsigned u;

	if ((g = get_group(p, root, "node", REQ, node_keys)) == NULL)
		return;
	get_name(p, g, "node", "name", p->c->node_name);
	if (get_uint(p, g, "node", "priority", REQ, 1, 254, &u) == 1)
		p->c->priority = (int)u;
}

static unsigned
standby_max(const struct config *c)
{
	return c->dead_ms / 2 > CFG_STANDBY_MAX_MS ? c->dead_ms / 2 :
	    CFG_STANDBY_MAX_MS;
}

static void
parse_cluster(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *g;
	unsigned lease = c->vip_lease_s;
	int ival, dead, initd, sb, i;

	if ((g = get_group(p, root, "cluster", REQ, cluster_keys)) == NULL)
		return;
	get_uint(p, g, "cluster", "id", REQ, 1, 65535, &c->cluster_id);
	get_path(p, g, "cluster", "key_file", c->key_file,
	    sizeof(c->key_file));
	c->key_file_line = config_setting_get_member(g, "key_file") ?
	    line_of(config_setting_get_member(g, "key_file")) : line_of(g);
	get_uint(p, g, "cluster", "port", OPT, 1, 65535, &c->port);
	ival = get_uint(p, g, "cluster", "interval_ms", OPT, 1, MS_MAX,
	    &c->interval_ms);
	dead = get_uint(p, g, "cluster", "dead_ms", OPT, 1, MS_MAX,
	    &c->dead_ms);
	initd = get_uint(p, g, "cluster", "init_dead_ms", OPT, 1, MS_MAX,
	    &c->init_dead_ms);
	get_bool(p, g, "cluster", "preempt", &c->preempt);
	get_uint(p, g, "cluster", "preempt_delay_ms", OPT, 0, MS_MAX,
	    &c->preempt_delay_ms);
	sb = get_uint(p, g, "cluster", "standby_interval_ms", OPT, 1, MS_MAX,
	    &c->standby_interval_ms);
	if (get_enum(p, g, "cluster", "fence", fence_names, &i) == 1)
		c->fence = (enum fence_mode)i;
	if (get_uint(p, g, "cluster", "vip_lease_s", OPT, 0, 3600, &lease) ==
	    1) {
		if (lease == 1)
			perr(p, line_of(config_setting_get_member(g,
			    "vip_lease_s")), "cluster.vip_lease_s = 1 is out of"
			    " range: 0 (permanent) or 2..3600");
		else
			c->vip_lease_s = lease;
	}

	/* Relations, judged only on values that were valid on their own. */
	if (ival >= 0 && dead >= 0 &&
	    (unsigned long long)c->dead_ms < 2ULL * c->interval_ms)
		perr(p, line_of(config_setting_get_member(g,
		    dead ? "dead_ms" : "interval_ms")),
		    "cluster.dead_ms (%u) must be at least 2 *"
		    " cluster.interval_ms (%u)", c->dead_ms, c->interval_ms);
	if (ival >= 0 && initd >= 0 && c->init_dead_ms < c->interval_ms)
		perr(p, line_of(config_setting_get_member(g,
		    initd ? "init_dead_ms" : "interval_ms")),
		    "cluster.init_dead_ms (%u) must be at least"
		    " cluster.interval_ms (%u)", c->init_dead_ms,
		    c->interval_ms);
	/* Only once dead_ms >= 2 * interval_ms: the range is not empty. */
	if (ival < 0 || dead < 0 ||
	    (unsigned long long)c->dead_ms < 2ULL * c->interval_ms)
		return;
	if (sb == 0)
		c->standby_interval_ms = c->dead_ms / 3 > c->interval_ms ?
		    c->dead_ms / 3 : c->interval_ms;
	else if (sb == 1 && (c->standby_interval_ms < c->interval_ms ||
	    c->standby_interval_ms > standby_max(c)))
		perr(p, line_of(config_setting_get_member(g,
		    "standby_interval_ms")), "cluster.standby_interval_ms (%u)"
		    " must be between cluster.interval_ms (%u) and %u",
		    c->standby_interval_ms, c->interval_ms, standby_max(c));
}

static void
set_sockaddr(struct sockaddr_storage *ss, int af, const unsigned char *a,
    unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a, 16);
	}
}

static void
parse_links(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *list, *g;
	struct cfg_link *l;
	unsigned char la[16], pa[16];
	char where[32];
	int i, j, n, laf, paf, ifok;

	n = get_list(p, root, "", "links", REQ, CONFIG_TYPE_LIST,
	    CFG_MAX_LINKS, &list);
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(list, i);
		snprintf(where, sizeof(where), "links[%d]", i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			perr(p, line_of(g), "%s must be a group { interface"
			    " = ...; local = ...; peer = ...; }", where);
			continue;
		}
		check_unknown(p, g, where, link_keys);
		l = &c->links[c->nlinks];
		memset(l, 0, sizeof(*l));
		if ((ifok = get_ifname(p, g, where, "interface", REQ,
		    l->ifname) == 1))
			memcpy(p->link_ifs[p->nlink_ifs++], l->ifname,
			    sizeof(l->ifname));
		laf = get_ip(p, g, where, "local", la);
		paf = get_ip(p, g, where, "peer", pa);
		if (!ifok || laf == 0 || paf == 0)
			continue;
		if (laf != paf) {
			perr(p, line_of(g), "%s: local and peer must both be"
			    " IPv4 or both IPv6", where);
			continue;
		}
		if (memcmp(la, pa, laf == AF_INET ? 4 : 16) == 0) {
			perr(p, line_of(config_setting_get_member(g, "peer")),
			    "%s: peer is the same address as local", where);
			continue;
		}
		/* cluster.port is final: parse_cluster ran first. */
		l->family = laf;
		l->salen = laf == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		set_sockaddr(&l->local, laf, la, c->port);
		set_sockaddr(&l->peer, laf, pa, c->port);
		for (j = 0; j < c->nlinks; j++)
			if (c->links[j].family == laf &&
			    memcmp(&c->links[j].local, &l->local, l->salen) ==
			    0 && memcmp(&c->links[j].peer, &l->peer, l->salen) ==
			    0)
				break;
		if (j < c->nlinks) {
			perr(p, line_of(g), "%s repeats links[%d]", where, j);
			continue;
		}
		c->nlinks++;
	}
}

/* "A/PLEN": address literal and a mandatory prefix length. */
static int
parse_vip_address(struct pctx *p, const config_setting_t *s,
    const char *where, struct cfg_vip *v)
{
	const char *text = config_setting_get_string(s), *slash;
	char ip[INET6_ADDRSTRLEN];
	size_t iplen;
	char *end;
	long plen;
	int maxplen;

	if ((slash = strchr(text, '/')) == NULL) {
		perr(p, line_of(s), "%s.address \"%.64s\" needs a prefix"
		    " length, e.g. \"192.0.2.10/24\"", where, text);
		return -1;
	}
	if ((iplen = (size_t)(slash - text)) < sizeof(ip)) {
		memcpy(ip, text, iplen);
		ip[iplen] = '\0';
		v->family = parse_ip(ip, v->addr);
	}
	if (iplen >= sizeof(ip) || v->family == 0) {
		perr(p, line_of(s), "%s.address \"%.64s\" is not an IPv4 or"
		    " IPv6 address", where, text);
		return -1;
	}
	maxplen = v->family == AF_INET ? 32 : 128;
	errno = 0;
	plen = strtol(slash + 1, &end, 10);
	if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3 ||
	    *end != '\0' || errno || plen < 1 || plen > maxplen) {
		perr(p, line_of(s), "%s.address \"%.64s\": prefix length must"
		    " be 1..%d", where, text, maxplen);
		return -1;
	}
	v->prefixlen = (int)plen;
	/* Fits: at most INET6_ADDRSTRLEN - 1 + "/" + 3 digits. */
	snprintf(v->text, sizeof(v->text), "%s", text);
	return 0;
}

/* The vips list of parent (the root, or a group's entry), for group gi. */
static void
parse_vip_list(struct pctx *p, const config_setting_t *parent,
    const char *pwhere, int gi)
{
	struct config *c = p->c;
	const config_setting_t *list, *g, *s;
	struct cfg_vip *v;
	char kp[KEYPATH_MAX], where[40];
	int i, j, n, bad;

	n = get_list(p, parent, pwhere, "vips", REQ, CONFIG_TYPE_LIST,
	    CFG_MAX_VIPS, &list);
	keypath(kp, pwhere, "vips");
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(list, i);
		/* At most "groups[31].vips[63]". */
		snprintf(where, sizeof(where), "%.24s[%d]", kp, i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			perr(p, line_of(g), "%s must be a group { address"
			    " = ...; interface = ...; }", where);
			continue;
		}
		if (c->nvips == CFG_MAX_VIPS) {
			perr(p, line_of(g), "%s: more than %d VIPs in all"
			    " groups", where, CFG_MAX_VIPS);
			break;
		}
		check_unknown(p, g, where, vip_keys);
		v = &c->vips[c->nvips];
		memset(v, 0, sizeof(*v));
		v->group = gi;
		bad = get_ifname(p, g, where, "interface", REQ, v->ifname) != 1;
		if ((s = member(p, g, where, "address", REQ,
		    CONFIG_TYPE_STRING, CONFIG_TYPE_STRING)) == NULL ||
		    parse_vip_address(p, s, where, v) == -1)
			bad = 1;
		switch (get_str(p, g, where, "label", OPT, v->label,
		    sizeof(v->label))) {
		case -1:
			bad = 1;
			break;
		case 1:
			s = config_setting_get_member(g, "label");
			if (!bad && strncmp(v->label, v->ifname,
			    strlen(v->ifname)) != 0) {
				perr(p, line_of(s), "%s.label \"%s\" must"
				    " start with the interface name \"%s\"",
				    where, v->label, v->ifname);
				bad = 1;
			} else if (!bad && v->family != AF_INET) {
				/* Linux has none: accepted (design.md has
				 * one), said by cfg_warnings(), not used */
				v->v6_label_line = line_of(s);
				v->label[0] = '\0';
			}
			break;
		}
		if (bad)
			continue;
		/* Over all groups: one address, one owner. */
		for (j = 0; j < c->nvips; j++)
			if (c->vips[j].family == v->family &&
			    memcmp(c->vips[j].addr, v->addr, sizeof(v->addr)) ==
			    0)
				break;
		if (j < c->nvips) {
			perr(p, line_of(g), "%s: address %s is already %s"
			    " (%s, line %u)", where, v->text, p->vip_where[j],
			    c->vips[j].text, p->vip_line[j]);
			continue;
		}
		for (j = 0; j < p->nlink_ifs; j++)
			if (strcmp(p->link_ifs[j], v->ifname) == 0)
				break;
		/* Without any link interface the check would only add noise. */
		if (j == p->nlink_ifs && p->nlink_ifs > 0) {
			perr(p, line_of(config_setting_get_member(g,
			    "interface")), "%s: interface \"%s\" has no link;"
			    " add a links entry for it", where, v->ifname);
			continue;
		}
		snprintf(p->vip_where[c->nvips], sizeof(p->vip_where[0]), "%s",
		    where);
		p->vip_line[c->nvips] = line_of(g);
		c->nvips++;
	}
}

static void
parse_announce(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *g;

	if ((g = get_group(p, root, "announce", OPT, announce_keys)) == NULL)
		return;
	get_uint(p, g, "announce", "count", OPT, 0, 100, &c->announce_count);
	get_uint(p, g, "announce", "interval_ms", OPT, 1, 60000,
	    &c->announce_interval_ms);
	if (get_uint(p, g, "announce", "refresh_ms", OPT, 0, MS_MAX,
	    &c->announce_refresh_ms) == 1 && c->announce_refresh_ms > 0 &&
	    c->announce_refresh_ms < 100) {
		perr(p, line_of(config_setting_get_member(g, "refresh_ms")),
		    "announce.refresh_ms = %u is out of range: 0 (off) or"
		    " 100..%u", c->announce_refresh_ms, MS_MAX);
	}
}

static void
parse_hooks(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *g;
	int i;

	if ((g = get_group(p, root, "hooks", OPT, hooks_keys)) == NULL)
		return;
	get_path(p, g, "hooks", "dir", c->hooks_dir, sizeof(c->hooks_dir));
	get_uint(p, g, "hooks", "timeout_ms", OPT, 1, MS_MAX,
	    &c->hooks_timeout_ms);
	if (get_enum(p, g, "hooks", "order", order_names, &i) == 1)
		c->hooks_order = (enum hooks_order)i;
}

/* on_fail = "fault" or a negative integer (priority penalty). */
static void
parse_on_fail(struct pctx *p, const config_setting_t *g, const char *where,
    struct cfg_check *ck)
{
	const config_setting_t *s;
	long long v;

	if ((s = config_setting_get_member(g, "on_fail")) == NULL)
		return;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		if (strcmp(config_setting_get_string(s), "fault") == 0)
			return;
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = int_value(s);
		if (v < 0 && v >= -PENALTY_MAX) {
			ck->on_fail_penalty = (int)-v;
			return;
		}
		break;
	}
	perr(p, line_of(s), "%s.on_fail must be \"fault\" or a negative"
	    " integer -1..-%d (lower the priority by that much)", where,
	    PENALTY_MAX);
}

static void
parse_checks(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *list, *g;
	struct cfg_check *ck;
	char where[32];
	int i, j, n;

	n = get_list(p, root, "", "checks", OPT, CONFIG_TYPE_LIST,
	    CFG_MAX_CHECKS, &list);
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(list, i);
		snprintf(where, sizeof(where), "checks[%d]", i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			perr(p, line_of(g), "%s must be a group { name = ...;"
			    " command = ...; }", where);
			continue;
		}
		check_unknown(p, g, where, check_keys);
		ck = &c->checks[c->nchecks];
		ck->interval_ms = 1000;
		ck->timeout_ms = 1000;
		ck->rise = 2;
		ck->fall = 3;
		ck->recover_attempts = 1;
		if (get_name(p, g, where, "name", ck->name) == 1) {
			for (j = 0; j < c->nchecks; j++)
				if (strcmp(c->checks[j].name, ck->name) == 0)
					break;
			if (j < c->nchecks)
				perr(p, line_of(config_setting_get_member(g,
				    "name")), "%s.name \"%s\" is already used"
				    " by checks[%d]", where, ck->name, j);
		}
		get_str(p, g, where, "command", REQ, ck->command,
		    sizeof(ck->command));
		get_uint(p, g, where, "interval_ms", OPT, 1, MS_MAX,
		    &ck->interval_ms);
		get_uint(p, g, where, "timeout_ms", OPT, 1, MS_MAX,
		    &ck->timeout_ms);
		get_uint(p, g, where, "rise", OPT, 1, 1000, &ck->rise);
		get_uint(p, g, where, "fall", OPT, 1, 1000, &ck->fall);
		parse_on_fail(p, g, where, ck);
		get_str(p, g, where, "recover", EMPTY_OK, ck->recover,
		    sizeof(ck->recover));
		get_uint(p, g, where, "recover_attempts", OPT, 1, 100,
		    &ck->recover_attempts);
		/* Errors already stop the load; keep indices aligned. */
		c->nchecks++;
	}
}

/* Array or list of strings; calls fn on each. */
static void
parse_strings(struct pctx *p, const config_setting_t *g, const char *where,
    const char *key, int flags, int max, char *out, size_t outsz, int *nout,
    int (*fn)(struct pctx *, const config_setting_t *, const char *,
    const char *))
{
	const config_setting_t *list, *s;
	char kp[KEYPATH_MAX], what[KEYPATH_MAX + 16];
	int i, n;

	n = get_list(p, g, where, key, flags, CONFIG_TYPE_ARRAY, max, &list);
	keypath(kp, where, key);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, i);
		snprintf(what, sizeof(what), "%s[%d]", kp, i);
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			perr(p, line_of(s), "%s must be a string", what);
			continue;
		}
		if (copy_str(p, s, what, OPT, out + *nout * outsz, outsz) ==
		    1 && fn(p, s, what, out + *nout * outsz) == 1)
			(*nout)++;
	}
}

static int
check_ip(struct pctx *p, const config_setting_t *s, const char *what,
    const char *text)
{
	unsigned char a[16];

	if (parse_ip(text, a) != 0)
		return 1;
	perr(p, line_of(s), "%s \"%s\" is not an IPv4 or IPv6 address", what,
	    text);
	return -1;
}

static void
parse_arbiter(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *g;

	if ((g = get_group(p, root, "arbiter", OPT, arbiter_keys)) == NULL)
		return;
	parse_strings(p, g, "arbiter", "ping", REQ, CFG_MAX_ARBITER,
	    c->arbiter_ping[0], sizeof(c->arbiter_ping[0]), &c->narbiter,
	    check_ip);
	get_uint(p, g, "arbiter", "interval_ms", OPT, 1, MS_MAX,
	    &c->arbiter_interval_ms);
	get_uint(p, g, "arbiter", "fail_after", OPT, 1, 1000,
	    &c->arbiter_fail_after);
}

/* "A.B.C.D:PORT" or "[V6ADDR]:PORT", port 1..65535; 0 or -1. */
static int
parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *salen)
{
	unsigned char a[16];
	char host[INET6_ADDRSTRLEN], *end;
	const char *colon, *h = text;
	size_t hlen;
	unsigned long port;
	int af;

	if (text[0] == '[') {
		if ((colon = strstr(text, "]:")) == NULL)
			return -1;
		h = text + 1;
		hlen = (size_t)(colon - h);
		colon++;
		af = AF_INET6;
	} else {
		/* an IPv6 address must be bracketed: its colons are ambiguous */
		if ((colon = strchr(text, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return -1;
		hlen = (size_t)(colon - text);
		af = AF_INET;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (inet_pton(af, host, a) != 1)
		return -1;
	if (!isdigit((unsigned char)colon[1]) || strlen(colon + 1) > 5)
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno || port < 1 || port > 65535)
		return -1;
	set_sockaddr(ss, af, a, (unsigned)port);
	*salen = af == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	return 0;
}

static void
parse_metrics(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *g;

	if ((g = get_group(p, root, "metrics", OPT, metrics_keys)) == NULL)
		return;
	if (get_str(p, g, "metrics", "listen", REQ, c->metrics.listen,
	    sizeof(c->metrics.listen)) != 1)
		return;
	c->metrics.line = line_of(config_setting_get_member(g, "listen"));
	if (parse_listen(c->metrics.listen, &c->metrics.addr,
	    &c->metrics.salen) == -1) {
		perr(p, c->metrics.line, "metrics.listen \"%s\" is not"
		    " \"IPV4ADDR:PORT\" or \"[IPV6ADDR]:PORT\" (port 1..65535)",
		    c->metrics.listen);
		return;
	}
	c->metrics.enabled = true;
}

/*
 * "http://IP:PORT[/]" or "https://IP:PORT[/]", IPv6 bracketed; port
 * 1..65535. The trailing '/' is dropped. 0 or -1 with why.
 */
static int
check_etcd_url(char *url, const char **why)
{
	const char *rest;
	char hostport[80];
	struct sockaddr_storage ss;
	socklen_t salen;
	size_t len;

	if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	else {
		*why = "must start with http:// or https://";
		return -1;
	}
	len = strlen(rest);
	if (len > 0 && rest[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(hostport) || memchr(rest, '/', len)) {
		*why = "must be SCHEME://ADDRESS:PORT with nothing after the port";
		return -1;
	}
	memcpy(hostport, rest, len);
	hostport[len] = '\0';
	if (parse_listen(hostport, &ss, &salen) == -1) {
		*why = "must name an IPv4 address or a bracketed IPv6 address"
		    " and a port 1..65535 (no host names: no DNS lookup runs"
		    " on the daemon's loop)";
		return -1;
	}
	url[(rest - url) + len] = '\0';
	return 0;
}

static int
check_etcd(struct pctx *p, const config_setting_t *s, const char *what,
    const char *text)
{
	struct cfg_quorum *q = &p->c->quorum;
	char *url = q->urls[q->nurls];	/* where parse_strings copied it */
	const char *why;
	int i;

	if (check_etcd_url(url, &why) == -1) {
		perr(p, line_of(s), "%s \"%.80s\" %s", what, text, why);
		return -1;
	}
	for (i = 0; i < q->nurls; i++)
		if (strcmp(q->urls[i], url) == 0) {
			perr(p, line_of(s), "%s \"%.80s\" is listed twice",
			    what, text);
			return -1;
		}
	return 1;
}

static void
parse_quorum(struct pctx *p, const config_setting_t *root)
{
	struct cfg_quorum *q = &p->c->quorum;
	const config_setting_t *g, *s;
	size_t len;
	int e;

	if ((g = get_group(p, root, "quorum", OPT, quorum_keys)) == NULL)
		return;
	q->line = line_of(g);
	parse_strings(p, g, "quorum", "etcd", REQ, CFG_MAX_ETCD, q->urls[0],
	    sizeof(q->urls[0]), &q->nurls, check_etcd);
	get_uint(p, g, "quorum", "ttl_s", OPT, 1, CFG_TTL_MAX, &q->ttl_s);
	if (get_str(p, g, "quorum", "prefix", OPT, q->prefix,
	    sizeof(q->prefix)) == 1) {
		s = config_setting_get_member(g, "prefix");
		len = strlen(q->prefix);
		while (len > 1 && q->prefix[len - 1] == '/')
			q->prefix[--len] = '\0';
		if (q->prefix[0] != '/' || len < 2)
			perr(p, line_of(s), "quorum.prefix \"%s\" must start"
			    " with '/' and name something (e.g. \"/failoverd\")",
			    q->prefix);
		else if (strspn(q->prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._-/") != len ||
		    strstr(q->prefix, "//") != NULL)
			perr(p, line_of(s), "quorum.prefix \"%s\" may only"
			    " contain letters, digits, '.', '_', '-' and single"
			    " '/'", q->prefix);
	}
	if (get_enum(p, g, "quorum", "on_quorum_loss", quorum_loss_names,
	    &e) == 1)
		q->on_loss = (enum quorum_loss)e;
	get_path_empty(p, g, "quorum", "ca_file", q->ca_file,
	    sizeof(q->ca_file));
	get_path_empty(p, g, "quorum", "cert_file", q->cert_file,
	    sizeof(q->cert_file));
	get_path_empty(p, g, "quorum", "key_file", q->key_file,
	    sizeof(q->key_file));
	if ((q->cert_file[0] != '\0') != (q->key_file[0] != '\0'))
		perr(p, line_of(g), "quorum: cert_file and key_file go"
		    " together (a client certificate needs its key)");
	if (q->nurls > 0)
		q->enabled = true;
}

static uint32_t
low_bits(int n)
{
	return n >= 32 ? UINT32_MAX : (1U << n) - 1;
}

static int
check_index(const struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->nchecks; i++)
		if (strcmp(c->checks[i].name, name) == 0)
			return i;
	return -1;
}

static int
check_checkname(struct pctx *p, const config_setting_t *s, const char *what,
    const char *name)
{
	if (check_index(p->c, name) != -1)
		return 1;
	perr(p, line_of(s), "%s \"%s\" is not the name of an entry in checks",
	    what, name);
	return -1;
}

/* A group's checks = [ names ]: the mask of those checks. */
static uint32_t
parse_check_refs(struct pctx *p, const config_setting_t *g, const char *where)
{
	char names[CFG_MAX_CHECKS][CFG_NAME_MAX + 1];
	uint32_t mask = 0;
	int i, n = 0;

	parse_strings(p, g, where, "checks", OPT, CFG_MAX_CHECKS, names[0],
	    sizeof(names[0]), &n, check_checkname);
	for (i = 0; i < n; i++)
		mask |= 1U << check_index(p->c, names[i]);
	return mask;
}

/*
 * A track_interfaces list (top-level or a group's): its names join
 * cfg.track_interfaces, each name once, so that one bit of a mask is one
 * interface.  Returns the mask of the list.
 */
static uint32_t
parse_track(struct pctx *p, const config_setting_t *g, const char *where)
{
	struct config *c = p->c;
	char names[TRACK_LIST_MAX][IF_NAMESIZE], kp[KEYPATH_MAX];
	uint32_t mask = 0;
	int i, j, n = 0;

	parse_strings(p, g, where, "track_interfaces", OPT, TRACK_LIST_MAX,
	    names[0], sizeof(names[0]), &n, check_ifname);
	for (i = 0; i < n; i++) {
		for (j = 0; j < c->ntrack; j++)
			if (strcmp(c->track_interfaces[j], names[i]) == 0)
				break;
		if (j == CFG_MAX_TRACK) {
			perr(p, line_of(config_setting_get_member(g,
			    "track_interfaces")), "%s: more than %d distinct"
			    " interfaces in all track_interfaces lists",
			    keypath(kp, where, "track_interfaces"),
			    CFG_MAX_TRACK);
			break;
		}
		if (j == c->ntrack)
			memcpy(c->track_interfaces[c->ntrack++], names[i],
			    IF_NAMESIZE);
		mask |= 1U << j;
	}
	return mask;
}

/* Before its vips are parsed: first_vip is the next VIP. */
static void
group_defaults(struct config *c, struct cfg_group *gr)
{
	gr->priority = c->priority;
	gr->preempt = c->preempt;
	gr->preempt_delay_ms = c->preempt_delay_ms;
	gr->first_vip = c->nvips;
	gr->checks = low_bits(c->nchecks);
	gr->track = c->track_top;
}

static void
parse_group(struct pctx *p, const config_setting_t *g, int gi)
{
	struct config *c = p->c;
	struct cfg_group *gr = &c->groups[gi];
	char where[32];
	unsigned u;
	int j;

	snprintf(where, sizeof(where), "groups[%d]", gi);
	group_defaults(c, gr);
	gr->line = line_of(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		perr(p, line_of(g), "%s must be a group { name = ...;"
		    " vips = ( ... ); }", where);
		return;
	}
	check_unknown(p, g, where, group_keys);
	if (get_name(p, g, where, "name", gr->name) == 1) {
		for (j = 0; j < gi; j++)
			if (strcmp(c->groups[j].name, gr->name) == 0)
				break;
		if (j < gi)
			perr(p, line_of(config_setting_get_member(g, "name")),
			    "%s.name \"%s\" is already used by groups[%d]"
			    " (line %u)", where, gr->name, j,
			    c->groups[j].line);
	}
	if (get_uint(p, g, where, "priority", OPT, 1, 254, &u) == 1)
		gr->priority = (int)u;
	get_bool(p, g, where, "preempt", &gr->preempt);
	get_uint(p, g, where, "preempt_delay_ms", OPT, 0, MS_MAX,
	    &gr->preempt_delay_ms);
	parse_vip_list(p, g, where, gi);
	gr->nvips = c->nvips - gr->first_vip;
	if (present(g, "checks"))
		gr->checks = parse_check_refs(p, g, where);
	if (present(g, "track_interfaces"))
		gr->track = parse_track(p, g, where);
}

/* Either top-level vips, which make the group "default", or groups. */
static void
parse_groups(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;
	const config_setting_t *vs, *gs, *first, *second, *list;
	int i, n;

	vs = config_setting_get_member(root, "vips");
	gs = config_setting_get_member(root, "groups");
	if (vs != NULL && gs != NULL) {
		first = line_of(vs) <= line_of(gs) ? vs : gs;
		second = first == vs ? gs : vs;
		perr(p, line_of(second), "%s cannot be used together with %s"
		    " (line %u): put every VIP into a group",
		    config_setting_name(second), config_setting_name(first),
		    line_of(first));
	}
	if (gs == NULL) {
		group_defaults(c, &c->groups[0]);
		snprintf(c->groups[0].name, sizeof(c->groups[0].name),
		    "default");
		parse_vip_list(p, root, "", 0);
		c->groups[0].nvips = c->nvips;
		c->ngroups = 1;
		return;
	}
	c->groups_explicit = true;
	n = get_list(p, root, "", "groups", REQ, CONFIG_TYPE_LIST,
	    CFG_MAX_GROUPS, &list);
	for (i = 0; i < n; i++)
		parse_group(p, config_setting_get_elem(list, i), c->ngroups++);
}

static void
parse_root(struct pctx *p, const config_setting_t *root)
{
	struct config *c = p->c;

	check_unknown(p, root, "", root_keys);
	parse_node(p, root);
	parse_cluster(p, root);		/* before links: they need the port */
	parse_links(p, root);
	parse_announce(p, root);
	parse_hooks(p, root);
	parse_checks(p, root);
	c->track_top = parse_track(p, root, "");
	/* Groups default to node, cluster, checks and track_interfaces. */
	parse_groups(p, root);		/* after links: interfaces checked */
	get_uint(p, root, "", "track_debounce_ms", OPT, 0, MS_MAX,
	    &c->track_debounce_ms);
	parse_arbiter(p, root);
	get_bool(p, root, "", "realtime", &c->realtime);
	get_path(p, root, "", "runtime_dir", c->runtime_dir,
	    sizeof(c->runtime_dir));
	get_path(p, root, "", "state_dir", c->state_dir, sizeof(c->state_dir));
	get_str(p, root, "", "control_group", OPT, c->control_group,
	    sizeof(c->control_group));
	parse_metrics(p, root);
	parse_quorum(p, root);
}

static void
set_defaults(struct config *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", name);
	snprintf(c->key_file, sizeof(c->key_file), "%s", DEFAULT_KEY_FILE);
	c->port = 694;
	c->interval_ms = 100;
	c->dead_ms = 500;
	c->init_dead_ms = 1000;
	c->preempt = true;
	c->preempt_delay_ms = 0;
	c->fence = FENCE_OPTIONAL;
	c->vip_lease_s = 3;
	c->announce_count = 3;
	c->announce_interval_ms = 100;
	c->announce_refresh_ms = 0;
	snprintf(c->hooks_dir, sizeof(c->hooks_dir), "%s", DEFAULT_HOOKS_DIR);
	c->hooks_timeout_ms = 30000;
	c->hooks_order = HOOKS_VIP_FIRST;
	c->track_debounce_ms = 0;
	c->arbiter_interval_ms = 500;
	c->arbiter_fail_after = 3;
	c->quorum.ttl_s = 2;
	snprintf(c->quorum.prefix, sizeof(c->quorum.prefix), "/failoverd");
	c->quorum.on_loss = QUORUM_KEEP_WHILE_PEERS;
	c->realtime = false;
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s",
	    DEFAULT_RUNTIME_DIR);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", DEFAULT_STATE_DIR);
}

/*
 * Integer literal at s (sign allowed), mirroring libconfig 1.5's scanner:
 * plain decimals go through atoi() and plain hex through strtoul() into
 * an int, so anything outside 32 bits would wrap silently.  Returns the
 * length consumed.
 */
static size_t
scan_number(struct pctx *p, const char *s, size_t len, unsigned line)
{
	char tok[64];
	size_t n = 0, tl;
	bool hex = false, wide = false;
	unsigned long long u;
	long long v;
	char *end;

	if (n < len && (s[n] == '-' || s[n] == '+'))
		n++;
	if (n + 1 < len && s[n] == '0' && (s[n + 1] == 'x' || s[n + 1] ==
	    'X') && n == 0) {
		hex = true;
		n += 2;
	}
	while (n < len && (hex ? isxdigit((unsigned char)s[n]) :
	    isdigit((unsigned char)s[n])))
		n++;
	/* Floats (".", exponent) are libconfig's business, not ours. */
	if (!hex && n < len && (s[n] == '.' || s[n] == 'e' || s[n] == 'E')) {
		while (n < len && (isalnum((unsigned char)s[n]) || s[n] == '.'
		    || s[n] == '-' || s[n] == '+'))
			n++;
		return n;
	}
	tl = n;
	if (n < len && s[n] == 'L') {
		wide = true;
		n++;
		if (n < len && s[n] == 'L')
			n++;
	}
	if (tl >= sizeof(tok)) {
		perr(p, line, "integer %.20s... is too long", s);
		return n;
	}
	memcpy(tok, s, tl);
	tok[tl] = '\0';
	errno = 0;
	if (hex) {
		u = strtoull(tok, &end, 16);
		if (*end == '\0' && !errno && u > (wide ? (unsigned long long)
		    INT64_MAX : (unsigned long long)INT32_MAX))
			errno = ERANGE;
	} else {
		v = strtoll(tok, &end, 10);
		if (*end == '\0' && !errno && !wide &&
		    (v < INT32_MIN || v > INT32_MAX))
			errno = ERANGE;
	}
	if (*end == '\0' && errno == ERANGE)
		perr(p, line, "integer %s is too large%s", tok, wide ? "" :
		    " (add L for a 64-bit value)");
	return n ? n : 1;
}

/*
 * Refuse what libconfig would accept silently: @include (reads any file,
 * unbounded), NUL bytes (the rest would be ignored), integers that wrap,
 * and line numbers that would wrap.  Strings and comments are skipped
 * the way libconfig's scanner does.  Returns the number of errors.
 */
static int
scan_text(struct pctx *p, const char *buf, size_t len)
{
	enum { CODE, STRING, LINE_COMMENT, BLOCK_COMMENT } st = CODE;
	unsigned line = 1;
	size_t i = 0, j;
	bool bol = true;
	int before = p->nerr;
	char ch;

	while (i < len) {
		ch = buf[i];
		if (ch == '\0') {
			perr(p, line, "NUL byte in the file");
			break;
		}
		if (bol) {
			bol = false;
			for (j = i; j < len && (buf[j] == ' ' ||
			    buf[j] == '\t'); j++)
				;
			if (len - j >= 8 && strncasecmp(buf + j, "@include",
			    8) == 0)
				perr(p, line, "@include is not supported");
		}
		if (ch == '\n') {
			if (++line > CFG_LINES_MAX) {
				perr(p, line, "file has more than %u lines",
				    CFG_LINES_MAX);
				break;
			}
			bol = true;
			if (st == LINE_COMMENT)
				st = CODE;
			i++;
			continue;
		}
		switch (st) {
		case STRING:
			if (ch == '\\' && i + 1 < len && buf[i + 1] != '\n')
				i++;
			else if (ch == '"')
				st = CODE;
			i++;
			break;
		case LINE_COMMENT:
			i++;
			break;
		case BLOCK_COMMENT:
			if (ch == '*' && i + 1 < len && buf[i + 1] == '/') {
				st = CODE;
				i++;
			}
			i++;
			break;
		case CODE:
			if (ch == '"') {
				st = STRING;
				i++;
			} else if (ch == '#' || (ch == '/' && i + 1 < len &&
			    buf[i + 1] == '/')) {
				st = LINE_COMMENT;
				i++;
			} else if (ch == '/' && i + 1 < len &&
			    buf[i + 1] == '*') {
				st = BLOCK_COMMENT;
				i += 2;
			} else if (isalpha((unsigned char)ch) || ch == '*') {
				/* A name, or true/false: skip digits in it. */
				while (i < len && (isalnum((unsigned char)
				    buf[i]) || buf[i] == '_' || buf[i] == '-' ||
				    buf[i] == '*'))
					i++;
			} else if (isdigit((unsigned char)ch) || ((ch == '-' ||
			    ch == '+') && i + 1 < len &&
			    isdigit((unsigned char)buf[i + 1])))
				i += scan_number(p, buf + i, len - i, line);
			else
				i++;
			break;
		}
	}
	return p->nerr - before;
}

int
config_parse(const char *buf, size_t len, const char *name,
    struct config *out, char *err, size_t errlen)
{
	struct pctx p;
	struct config *c = NULL;
	const char *slash;
	char *text = NULL;
	config_t lc;

	memset(&p, 0, sizeof(p));
	p.name = name ? name : "(config)";
	if (err && errlen)
		err[0] = '\0';
	if ((p.errs = calloc(CFG_ERRS_MAX, sizeof(*p.errs))) == NULL) {
		load_err(err, errlen, p.name, "out of memory");
		return -1;
	}
	if ((slash = strrchr(p.name, '/')) != NULL) {
		if (slash == p.name)
			snprintf(p.dir, sizeof(p.dir), "/");
		else if ((size_t)(slash - p.name) < sizeof(p.dir))
			snprintf(p.dir, sizeof(p.dir), "%.*s",
			    (int)(slash - p.name), p.name);
		else
			perr(&p, 0, "file name too long");
	}

	if (len > CFG_FILE_MAX)
		perr(&p, 0, "file is %zu bytes, larger than the 1 MiB limit;"
		    " refusing to parse it", len);
	else if (p.nerr == 0 && scan_text(&p, buf, len) == 0) {
		if ((text = malloc(len + 1)) == NULL ||
		    (c = malloc(sizeof(*c))) == NULL)
			perr(&p, 0, "out of memory");
		else {
			memcpy(text, buf, len);
			text[len] = '\0';
			set_defaults(c, p.name);
			p.c = c;
			config_init(&lc);
			if (config_read_string(&lc, text) == CONFIG_FALSE)
				perr(&p, config_error_line(&lc) > 0 ?
				    (unsigned)config_error_line(&lc) : 0,
				    "%s", config_error_text(&lc) ?
				    config_error_text(&lc) : "parse error");
			else
				parse_root(&p, config_root_setting(&lc));
			config_destroy(&lc);
		}
	}

	if (p.nerr == 0)
		*out = *c;
	else
		format_errors(&p, err, errlen);
	free(c);
	free(text);
	free(p.errs);
	return p.nerr ? -1 : 0;
}

int
config_error(const struct config *c, unsigned line, char *err, size_t errlen,
    const char *fmt, ...)
{
	char why[CFG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* cut short, it still ends a line */
	if ((size_t)snprintf(err, errlen, "%s:%u: %s\n", c->path, line, why) >=
	    errlen && errlen > 1)
		err[errlen - 2] = '\n';
	return -1;
}

int
config_load(const char *path, struct config *out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		load_err(err, errlen, path, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		load_err(err, errlen, path, "%s", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		load_err(err, errlen, path, "is a directory");
		goto done;
	}
	if (S_ISREG(st.st_mode) && st.st_size > CFG_FILE_MAX) {
		load_err(err, errlen, path, "file is %lld bytes, larger than"
		    " the 1 MiB limit; refusing to parse it",
		    (long long)st.st_size);
		goto done;
	}
	/* One byte more than the limit tells a too-big pipe from a full one. */
	if ((buf = malloc(CFG_FILE_MAX + 1)) == NULL) {
		load_err(err, errlen, path, "out of memory");
		goto done;
	}
	while (len <= CFG_FILE_MAX) {
		n = read(fd, buf + len, CFG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			load_err(err, errlen, path, "read: %s",
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = config_parse(buf, len, path, out, err, errlen);
 done:
	free(buf);
	close(fd);
	return rc;
}

int
config_warnings(const struct config *c, char *buf, size_t len)
{
	const struct cfg_vip *v;
	char grp[24] = "";
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	for (int i = 0; i < c->nvips; i++) {
		v = &c->vips[i];
		if (v->v6_label_line == 0 || off >= len)
			continue;
		if (c->groups_explicit)
			snprintf(grp, sizeof(grp), "groups[%d].", v->group);
		off += (size_t)snprintf(buf + off, len - off, "%s:%u: "
		    "%svips[%d].label ignored: Linux has no labels on IPv6 "
		    "addresses\n", c->path, v->v6_label_line, grp,
		    i - c->groups[v->group].first_vip);
		n++;
	}
	return n;
}
