/*
 * Shared key, HMAC-SHA256 (OpenSSL 3), replay window and the persistent
 * restart epoch.
 */
/* SHA256_* for the per-message HMAC, see struct auth */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "hotpath.h"
#include "secpath.h"

#define KEYFILE_MAX	4096	/* bytes read from a key file, at most */
#define KEYGEN_LEN	32
#define EPOCH_FILE	"epoch"
#define EPOCH_TEXT_MAX	32	/* "18446744073709551615\n" fits */

#define HMAC_BLOCK	64	/* SHA-256's block */

/*
 * HMAC-SHA256 (RFC 2104) from the SHA-256 states after the key's inner and
 * outer pad blocks, computed once: a message costs its own blocks and one
 * more, and touches little code. OpenSSL 3.0's EVP_MAC copies two provider
 * digest contexts per message (two allocations, about a fifth of a 10 ms
 * standby's CPU), hence SHA256_* (deprecated since 3.0, still shipped).
 */
struct auth {
	SHA256_CTX	inner;		/* after key ^ ipad */
	SHA256_CTX	outer;		/* after key ^ opad */
};

enum key_error {
	KEY_OK,
	KEY_EMPTY,
	KEY_SHORT,
	KEY_LONG,
	KEY_INVALID
};

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* c after one block, key ^ pad: hash_after_pad() counts on exactly one */
static void
pad_state(SHA256_CTX *c, const uint8_t *key, size_t keylen, uint8_t pad)
{
	uint8_t block[HMAC_BLOCK];

	for (size_t i = 0; i < HMAC_BLOCK; i++)
		block[i] = (i < keylen ? key[i] : 0) ^ pad;
	SHA256_Init(c);
	SHA256_Update(c, block, sizeof(block));
	OPENSSL_cleanse(block, sizeof(block));
}

struct auth *
auth_new(const uint8_t *key, size_t keylen)
{
	struct auth *a;
	uint8_t hashed[SHA256_DIGEST_LENGTH];

	if (keylen < AUTH_KEY_MIN || keylen > AUTH_KEY_MAX)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	/* a key longer than a block is its hash (RFC 2104) */
	if (keylen > HMAC_BLOCK) {
		SHA256(key, keylen, hashed);
		key = hashed;
		keylen = sizeof(hashed);
	}
	pad_state(&a->inner, key, keylen, 0x36);
	pad_state(&a->outer, key, keylen, 0x5c);
	OPENSSL_cleanse(hashed, sizeof(hashed));
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/*
 * Finish a hash whose state c has taken one block (the key's pad, exactly
 * one: pad_state()): data's whole blocks, then its rest with the padding
 * (0x80, zeros, the length in bits: one block or two), by SHA256_Transform
 * alone. SHA256_Update and _Final buffer every byte and wipe the buffer:
 * code a heartbeat, cold every 10 ms, pays for. c ends with the digest,
 * never the keyed midstate.
 */
HOTPATH static void
hash_after_pad(SHA256_CTX *c, const uint8_t *data, size_t len,
    uint8_t out[SHA256_DIGEST_LENGTH])
{
	uint8_t last[2 * HMAC_BLOCK] = { 0 };
	uint64_t bits = (uint64_t)(HMAC_BLOCK + len) * 8;
	size_t n;

	for (; len >= HMAC_BLOCK; data += HMAC_BLOCK, len -= HMAC_BLOCK)
		SHA256_Transform(c, data);
	n = len + 1 + 8 > HMAC_BLOCK ? 2 * HMAC_BLOCK : HMAC_BLOCK;
	memcpy(last, data, len);
	last[len] = 0x80;
	for (int i = 0; i < 8; i++)
		last[n - 1 - i] = (uint8_t)(bits >> (8 * i));
	SHA256_Transform(c, last);
	if (n > HMAC_BLOCK)
		SHA256_Transform(c, last + HMAC_BLOCK);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

HOTPATH void
auth_sign(struct auth *a, const uint8_t *data, size_t len,
    uint8_t mac[AUTH_MAC_LEN])
{
	SHA256_CTX c;
	uint8_t inner[SHA256_DIGEST_LENGTH];

	c = a->inner;
	hash_after_pad(&c, data, len, inner);
	c = a->outer;
	hash_after_pad(&c, inner, sizeof(inner), mac);
}

HOTPATH bool
auth_verify(struct auth *a, const uint8_t *data, size_t len,
    const uint8_t mac[AUTH_MAC_LEN])
{
	uint8_t want[AUTH_MAC_LEN];

	/* want is no secret: the MAC the sender should have sent */
	auth_sign(a, data, len, want);
	return CRYPTO_memcmp(want, mac, AUTH_MAC_LEN) == 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Even count of hex digits; the caller checked that every char is one. */
static enum key_error
decode_hex(const char *s, size_t n, uint8_t *key, size_t *keylen)
{
	if (n % 2 != 0)
		return KEY_INVALID;
	if (n / 2 < AUTH_KEY_MIN)
		return KEY_SHORT;
	if (n / 2 > AUTH_KEY_MAX)
		return KEY_LONG;
	for (size_t i = 0; i < n; i += 2)
		key[i / 2] = (uint8_t)(hex_value(s[i]) << 4 | hex_value(s[i + 1]));
	*keylen = n / 2;
	return KEY_OK;
}

/* Standard alphabet, padded to a multiple of 4 with at most two '='. */
static enum key_error
decode_base64(const char *s, size_t n, uint8_t *key, size_t *keylen)
{
	size_t pad = 0, out, o = 0;
	uint32_t acc = 0;

	if (n % 4 != 0)
		return KEY_INVALID;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	out = n / 4 * 3 - pad;
	for (size_t i = 0; i < n - pad; i++)
		if (b64_value(s[i]) == -1)
			return KEY_INVALID;
	if (out < AUTH_KEY_MIN)
		return KEY_SHORT;
	if (out > AUTH_KEY_MAX)
		return KEY_LONG;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 6 | (uint32_t)(i < n - pad ? b64_value(s[i]) : 0);
		if (i % 4 == 3) {
			for (int k = 2; k >= 0; k--)
				if (o < out)
					key[o++] = (uint8_t)(acc >> (8 * k));
			acc = 0;
		}
	}
	*keylen = out;
	return KEY_OK;
}

/*
 * Whitespace anywhere is ignored: `xxd -p` and `openssl rand -base64 64`
 * wrap their output. Text made only of hex digits is hex; anything else
 * must be base64.
 */
static enum key_error
parse_key(const char *text, size_t len, uint8_t *key, size_t *keylen)
{
	char s[2 * AUTH_KEY_MAX + 4];	/* the longest valid key, + 1 to detect longer */
	size_t n = 0;
	bool hex = true;
	enum key_error e;

	for (size_t i = 0; i < len; i++) {
		if (is_space(text[i]))
			continue;
		if (n == sizeof(s)) {
			OPENSSL_cleanse(s, sizeof(s));
			return KEY_LONG;
		}
		if (hex_value(text[i]) == -1)
			hex = false;
		s[n++] = text[i];
	}
	if (n == 0)
		return KEY_EMPTY;
	if (hex)
		e = decode_hex(s, n, key, keylen);
	else
		e = decode_base64(s, n, key, keylen);
	OPENSSL_cleanse(s, sizeof(s));
	return e;
}

int
auth_parse_key(const char *text, size_t len, uint8_t *key, size_t *keylen)
{
	return parse_key(text, len, key, keylen) == KEY_OK ? 0 : -1;
}

static ssize_t
read_all(int fd, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

int
auth_load_key(const char *path, uint8_t *key, size_t *keylen,
    char *err, size_t errlen)
{
	char buf[KEYFILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd;
	enum key_error e;

	/*
	 * Symlinks are followed (operators link keys into place) and, as for
	 * hooks, what is judged is the file actually opened. O_NONBLOCK: a
	 * FIFO must not hang the daemon before fstat refuses it.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "key file %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (secpath_owner("key file", path, &st, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		seterr(err, errlen, "key file %s is %s by group or others "
		    "(mode %04o); run chmod 600 %s", path,
		    st.st_mode & 044 ? "readable" : "accessible",
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	n = read_all(fd, buf, sizeof(buf));
	close(fd);
	if (n == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (n > KEYFILE_MAX) {
		seterr(err, errlen, "key file %s is larger than %d bytes; "
		    "it should hold one hex or base64 key", path, KEYFILE_MAX);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	e = parse_key(buf, (size_t)n, key, keylen);
	OPENSSL_cleanse(buf, sizeof(buf));
	switch (e) {
	case KEY_OK:
		return 0;
	case KEY_EMPTY:
		seterr(err, errlen, "key file %s is empty; create one with "
		    "failoverctl keygen %s", path, path);
		break;
	case KEY_SHORT:
		seterr(err, errlen, "key in %s is too short; it needs at "
		    "least %d bytes (%d hex digits)", path, AUTH_KEY_MIN,
		    2 * AUTH_KEY_MIN);
		break;
	case KEY_LONG:
		seterr(err, errlen, "key in %s is too long; at most %d bytes",
		    path, AUTH_KEY_MAX);
		break;
	case KEY_INVALID:
		seterr(err, errlen, "key file %s holds neither hex nor base64 "
		    "text", path);
		break;
	}
	return -1;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory holding path, so that a rename in it can be made durable. */
static void
dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static int
fsync_dir(const char *dir)
{
	int fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * Replace path with data, mode 0600: a crash leaves either the old or the
 * new contents, never a torn file.
 */
static int
write_atomic(const char *path, const void *data, size_t len,
    char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
		seterr(err, errlen, "%s: path too long", path);
		return -1;
	}
	/* mkostemp creates the file O_EXCL and 0600 whatever the umask */
	if ((fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW)) == -1) {
		seterr(err, errlen, "%s: cannot create a temporary file: %s",
		    path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) == -1 || write_all(fd, data, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		seterr(err, errlen, "%s: %s", tmp, strerror(saved));
		return -1;
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(tmp);
		seterr(err, errlen, "%s: %s", tmp, strerror(saved));
		return -1;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		seterr(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	dir_of(path, dir, sizeof(dir));
	if (fsync_dir(dir) == -1) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
auth_keygen(const char *path, char *err, size_t errlen)
{
	uint8_t key[KEYGEN_LEN];
	char text[2 * KEYGEN_LEN + 2];
	static const char digits[] = "0123456789abcdef";
	int r;

	if (RAND_bytes(key, sizeof(key)) != 1) {
		seterr(err, errlen, "cannot get random bytes for a key");
		return -1;
	}
	for (size_t i = 0; i < sizeof(key); i++) {
		text[2 * i] = digits[key[i] >> 4];
		text[2 * i + 1] = digits[key[i] & 0xf];
	}
	text[2 * KEYGEN_LEN] = '\n';
	r = write_atomic(path, text, 2 * KEYGEN_LEN + 1, err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

void
replay_reset(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

HOTPATH bool
replay_check(struct replay *r, uint64_t epoch, uint64_t seq)
{
	uint64_t d;

	if (seq == 0)
		return false;
	if (!r->valid || epoch > r->epoch) {
		/* the peer restarted: nothing of its earlier life counts */
		r->valid = true;
		r->epoch = epoch;
		r->top = seq;
		r->bitmap = 1;
		return true;
	}
	if (epoch < r->epoch)
		return false;
	if (seq > r->top) {
		d = seq - r->top;
		r->bitmap = d >= 64 ? 1 : r->bitmap << d | 1;
		r->top = seq;
		return true;
	}
	d = r->top - seq;
	if (d >= 64 || (r->bitmap & (UINT64_C(1) << d)))
		return false;
	r->bitmap |= UINT64_C(1) << d;
	return true;
}

/* Decimal, optionally followed by a newline; 0 on success. */
static int
parse_epoch(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x > (UINT64_MAX - 9) / 10)
			return -1;	/* and old + 1 must not wrap either */
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

int
epoch_next(const char *state_dir, uint64_t *epoch, char *err, size_t errlen)
{
	char path[PATH_MAX], buf[EPOCH_TEXT_MAX + 1];
	uint64_t old = 0, now, next;
	struct stat st;
	ssize_t n;
	int fd, len;
	time_t t;

	if (secpath_dir("state_dir", state_dir, err, errlen) == -1)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
	    EPOCH_FILE) >= sizeof(path)) {
		seterr(err, errlen, "state_dir %s: path too long", state_dir);
		return -1;
	}
	/* a planted link must not choose what is read; a FIFO must not hang us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ELOOP) {
			seterr(err, errlen, "%s is a symbolic link: refusing to "
			    "follow it; remove it", path);
			return -1;
		}
		if (errno != ENOENT) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		/* first start: the clock alone gives the epoch */
	} else {
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			seterr(err, errlen, "%s is not a regular file; remove it",
			    path);
			close(fd);
			return -1;
		}
		n = read_all(fd, buf, sizeof(buf));
		close(fd);
		if (n == -1) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (n > EPOCH_TEXT_MAX || parse_epoch(buf, (size_t)n, &old) == -1) {
			seterr(err, errlen, "%s is corrupt (expected one decimal "
			    "number); remove it to restart the epoch from the "
			    "clock", path);
			return -1;
		}
	}
	/* the clock keeps epochs rising even if the file is lost */
	t = time(NULL);
	now = t > 0 ? (uint64_t)t : 0;
	next = old + 1 > now ? old + 1 : now;
	len = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)next);
	if (write_atomic(path, buf, (size_t)len, err, errlen) == -1)
		return -1;
	*epoch = next;
	return 0;
}
