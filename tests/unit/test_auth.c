/* Key handling, HMAC, replay window and restart epoch. Needs no root. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_auth.XXXXXX";

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
cleanup(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd;
	ssize_t n;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	n = write(fd, text, len);
	if (fchmod(fd, mode) == -1 || close(fd) == -1 || n != (ssize_t)len)
		return -1;
	return 0;
}

static void
hex_to(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static int
seq_bytes(const uint8_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (k[i] != (uint8_t)i)
			return 0;
	return 1;
}

/* RFC 4231 test cases 6 and 7: keys longer than a block. */
static void
test_hmac_vectors(void)
{
	uint8_t key[131], mac[AUTH_MAC_LEN], want6[AUTH_MAC_LEN], want7[AUTH_MAC_LEN];
	static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char d7[] = "This is a test using a larger than block-size key "
	    "and a larger than block-size data. The key needs to be hashed "
	    "before being used by the HMAC algorithm.";
	struct auth *a;

	hex_to("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	    want6, sizeof(want6));
	hex_to("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
	    want7, sizeof(want7));
	memset(key, 0xaa, sizeof(key));
	a = auth_new(key, sizeof(key));
	CHECK(a != NULL);
	if (a == NULL)
		return;
	auth_sign(a, (const uint8_t *)d6, strlen(d6), mac);
	CHECK(memcmp(mac, want6, sizeof(mac)) == 0);
	CHECK(auth_verify(a, (const uint8_t *)d6, strlen(d6), want6));
	CHECK(!auth_verify(a, (const uint8_t *)d6, strlen(d6), want7));
	/* the keyed context is reused: a second message, then the first again */
	auth_sign(a, (const uint8_t *)d7, strlen(d7), mac);
	CHECK(memcmp(mac, want7, sizeof(mac)) == 0);
	auth_sign(a, (const uint8_t *)d6, strlen(d6), mac);
	CHECK(memcmp(mac, want6, sizeof(mac)) == 0);
	auth_free(a);
}

/* Every key and message length against OpenSSL's own HMAC (EVP_Q_mac). */
static void
test_hmac_matches_evp(void)
{
	static const size_t keylens[] = { AUTH_KEY_MIN, 63, 64, 65, 128,
	    AUTH_KEY_MAX };
	uint8_t key[AUTH_KEY_MAX], data[300], mac[AUTH_MAC_LEN],
	    want[AUTH_MAC_LEN];
	size_t outlen;
	int diff = 0, failed = 0;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	for (size_t k = 0; k < sizeof(keylens) / sizeof(keylens[0]); k++) {
		struct auth *a = auth_new(key, keylens[k]);

		CHECK(a != NULL);
		if (a == NULL)
			continue;
		for (size_t n = 0; n <= sizeof(data); n++) {
			auth_sign(a, data, n, mac);
			if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
			    keylens[k], data, n, want, sizeof(want),
			    &outlen) == NULL || outlen != sizeof(want))
				failed++;
			diff += memcmp(mac, want, sizeof(mac)) != 0;
		}
		auth_free(a);
	}
	CHECK_EQ(failed, 0);
	CHECK_EQ(diff, 0);
}

static void
test_sign_verify(void)
{
	uint8_t key[AUTH_KEY_MAX + 1], data[96], mac[AUTH_MAC_LEN];
	struct auth *a, *b;
	int bad = 0;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	CHECK(auth_new(key, AUTH_KEY_MIN - 1) == NULL);
	CHECK(auth_new(key, AUTH_KEY_MAX + 1) == NULL);
	b = auth_new(key, AUTH_KEY_MAX);
	CHECK(b != NULL);
	auth_free(b);
	auth_free(NULL);

	a = auth_new(key, AUTH_KEY_MIN);
	b = auth_new(key + 1, AUTH_KEY_MIN);
	CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		return;
	memset(data, 0x5a, sizeof(data));
	auth_sign(a, data, sizeof(data), mac);
	CHECK(auth_verify(a, data, sizeof(data), mac));
	CHECK(!auth_verify(b, data, sizeof(data), mac));
	CHECK(!auth_verify(a, data, sizeof(data) - 1, mac));
	for (int bit = 0; bit < AUTH_MAC_LEN * 8; bit++) {
		mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += auth_verify(a, data, sizeof(data), mac);
		mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(bad, 0);
	data[95] ^= 1;
	CHECK(!auth_verify(a, data, sizeof(data), mac));
	data[95] ^= 1;
	CHECK(auth_verify(a, data, sizeof(data), mac));
	auth_free(a);
	auth_free(b);
}

static int
parse(const char *text, uint8_t *key, size_t *keylen)
{
	*keylen = 0;
	return auth_parse_key(text, strlen(text), key, keylen);
}

static void
test_parse_key(void)
{
	uint8_t key[AUTH_KEY_MAX], raw[AUTH_KEY_MAX + 1];
	char text[4 * AUTH_KEY_MAX], huge[3001];
	size_t keylen;
	static const char hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

	/* hex */
	CHECK_EQ(parse(hex, key, &keylen), 0);
	CHECK_EQ(keylen, 32);
	CHECK(seq_bytes(key, 32));
	CHECK_EQ(parse("000102030405060708090A0B0C0D0E0F"
	    "101112131415161718191A1B1C1D1E1F", key, &keylen), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
	snprintf(text, sizeof(text), " \t\n%s\r\n\n", hex);
	CHECK_EQ(parse(text, key, &keylen), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
	/* wrapped as xxd -p does */
	snprintf(text, sizeof(text), "%.60s\n%s\n", hex, hex + 60);
	CHECK_EQ(parse(text, key, &keylen), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
	snprintf(text, sizeof(text), "%s20", hex);
	CHECK_EQ(parse(text, key, &keylen), 0);
	CHECK(keylen == 33 && seq_bytes(key, 33));
	CHECK_EQ(parse(hex + 2, key, &keylen), -1);	/* 31 bytes: short */
	CHECK_EQ(parse(hex + 1, key, &keylen), -1);	/* odd digit count */
	snprintf(text, sizeof(text), "%.62s#!", hex);
	CHECK_EQ(parse(text, key, &keylen), -1);	/* invalid characters */
	snprintf(text, sizeof(text), "%.30s %s", hex, hex + 30);
	CHECK_EQ(parse(text, key, &keylen), 0);		/* inner blanks ignored */

	/* base64 */
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key,
	    &keylen), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
	CHECK_EQ(parse("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", key,
	    &keylen), 0);
	CHECK(keylen == 33 && seq_bytes(key, 33));
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==\n",
	    key, &keylen), 0);
	CHECK(keylen == 34 && seq_bytes(key, 34));
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", key,
	    &keylen), -1);			/* padding missing */
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==", key,
	    &keylen), -1);			/* 31 bytes: short */
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", key, &keylen), -1);
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gI===", key,
	    &keylen), -1);			/* three '=' */
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaG=wdHh8gIQ==", key,
	    &keylen), -1);			/* '=' inside */
	CHECK_EQ(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ-_", key,
	    &keylen), -1);			/* URL-safe alphabet */

	/* empty, blank, and lengths at the limits */
	CHECK_EQ(parse("", key, &keylen), -1);
	CHECK_EQ(parse(" \n\t ", key, &keylen), -1);
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)i;
	for (size_t i = 0; i < AUTH_KEY_MAX; i++)
		snprintf(text + 2 * i, 3, "%02x", raw[i]);
	CHECK_EQ(parse(text, key, &keylen), 0);
	CHECK(keylen == AUTH_KEY_MAX && seq_bytes(key, AUTH_KEY_MAX));
	strcat(text, "00");
	CHECK_EQ(parse(text, key, &keylen), -1);	/* 257 bytes */
	EVP_EncodeBlock((unsigned char *)text, raw, AUTH_KEY_MAX);
	CHECK_EQ(parse(text, key, &keylen), 0);
	CHECK(keylen == AUTH_KEY_MAX && seq_bytes(key, AUTH_KEY_MAX));
	EVP_EncodeBlock((unsigned char *)text, raw, AUTH_KEY_MAX + 1);
	CHECK_EQ(parse(text, key, &keylen), -1);
	memset(huge, 'A', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK_EQ(parse(huge, key, &keylen), -1);
}

static int
load(const char *path, uint8_t *key, size_t *keylen, char *err, size_t errlen)
{
	*keylen = 0;
	err[0] = '\0';
	return auth_load_key(path, key, keylen, err, errlen);
}

static void
test_load_key(void)
{
	char path[256], other[256], err[512], want[640];
	char big[5000];
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	static const char hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

	path_in(path, sizeof(path), "cluster.key");
	CHECK_EQ(write_file(path, hex, strlen(hex), 0640), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "key file %s is readable by group or "
	    "others (mode 0640); run chmod 600 %s", path, path);
	CHECK_STR(err, want);
	CHECK_EQ(keylen, 0);
	CHECK_EQ(chmod(path, 0604), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "(mode 0604)") != NULL);
	CHECK_EQ(chmod(path, 0620), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "by group or others (mode 0620)") != NULL);

	CHECK_EQ(chmod(path, 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
	CHECK_EQ(chmod(path, 0400), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), 0);

	/* a symlink is followed; what counts is the file itself */
	path_in(other, sizeof(other), "link.key");
	CHECK_EQ(symlink(path, other), 0);
	CHECK_EQ(load(other, key, &keylen, err, sizeof(err)), 0);
	CHECK(keylen == 32);

	/* missing, a directory, a FIFO (must not hang) */
	path_in(other, sizeof(other), "missing.key");
	CHECK_EQ(load(other, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, other) != NULL && strstr(err, "No such file") != NULL);
	CHECK_EQ(load(tmpdir, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	path_in(other, sizeof(other), "fifo.key");
	CHECK_EQ(mkfifo(other, 0600), 0);
	CHECK_EQ(load(other, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a regular file") != NULL);

	/* bad contents, each with its own message */
	CHECK_EQ(write_file(path, "", 0, 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "is empty") != NULL && strstr(err, path) != NULL);
	CHECK_EQ(write_file(path, "\n \n", 3, 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "is empty") != NULL);
	CHECK_EQ(write_file(path, hex + 2, strlen(hex + 2), 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "too short") != NULL && strstr(err, path) != NULL);
	CHECK_EQ(write_file(path, "not a key!\n", 11, 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "neither hex nor base64") != NULL);
	/* a valid key drowned in blanks past the 4096-byte limit */
	memset(big, ' ', sizeof(big));
	memcpy(big + sizeof(big) - strlen(hex), hex, strlen(hex));
	CHECK_EQ(write_file(path, big, sizeof(big), 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "larger than 4096 bytes") != NULL);
	CHECK_EQ(write_file(path, big + sizeof(big) - 4096, 4096, 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
	/* messages are one line and fit small buffers */
	CHECK_EQ(write_file(path, "", 0, 0600), 0);
	CHECK_EQ(load(path, key, &keylen, err, 8), -1);
	CHECK_EQ(strlen(err), 7);
	CHECK(strchr(err, '\n') == NULL);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_keygen(void)
{
	char dir[128], path[256], err[512], text[128];
	uint8_t k1[AUTH_KEY_MAX], k2[AUTH_KEY_MAX];
	size_t l1, l2;
	struct stat st;
	mode_t old;
	int fd;
	ssize_t n;

	path_in(dir, sizeof(dir), "keygen");
	CHECK_EQ(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/new.key", dir);
	old = umask(0);		/* the mode must not depend on the umask */
	CHECK_EQ(auth_keygen(path, err, sizeof(err)), 0);
	umask(old);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 65);
	fd = open(path, O_RDONLY);
	n = read(fd, text, sizeof(text));
	close(fd);
	CHECK_EQ(n, 65);
	CHECK_EQ(text[64], '\n');
	CHECK_EQ(strspn(text, "0123456789abcdef"), 64);
	CHECK_EQ(auth_load_key(path, k1, &l1, err, sizeof(err)), 0);
	CHECK_EQ(l1, 32);

	/* replaces the key, leaves no temporary file behind */
	CHECK_EQ(chmod(path, 0644), 0);
	CHECK_EQ(auth_keygen(path, err, sizeof(err)), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(auth_load_key(path, k2, &l2, err, sizeof(err)), 0);
	CHECK(l2 == 32 && memcmp(k1, k2, 32) != 0);
	CHECK_EQ(count_entries(dir), 1);

	snprintf(path, sizeof(path), "%s/nodir/new.key", dir);
	err[0] = '\0';
	CHECK_EQ(auth_keygen(path, err, sizeof(err)), -1);
	CHECK(strstr(err, path) != NULL);
}

static void
test_replay(void)
{
	struct replay r;
	int ok;

	replay_reset(&r);
	CHECK(!replay_check(&r, 5, 0));		/* seq 0 never */
	CHECK(!r.valid);

	/* in order */
	ok = 1;
	for (uint64_t s = 1; s <= 100; s++)
		ok &= replay_check(&r, 5, s);
	CHECK(ok);
	/* duplicates, recent and old */
	CHECK(!replay_check(&r, 5, 100));
	CHECK(!replay_check(&r, 5, 99));
	CHECK(!replay_check(&r, 5, 37));
	CHECK(!replay_check(&r, 5, 1));
	CHECK(!replay_check(&r, 5, 0));

	/* reordering within the window: late ones pass once */
	CHECK(replay_check(&r, 5, 170));
	CHECK(replay_check(&r, 5, 150));
	CHECK(!replay_check(&r, 5, 101));	/* unseen, but 69 behind 170 */
	CHECK(!replay_check(&r, 5, 150));
	CHECK(!replay_check(&r, 5, 100));	/* 170 - 70: too old */
	CHECK(replay_check(&r, 5, 107));	/* 170 - 63: last slot */
	CHECK(!replay_check(&r, 5, 107));
	CHECK(!replay_check(&r, 5, 106));	/* 170 - 64: too old */
	ok = 1;
	for (uint64_t s = 108; s < 170; s++)
		if (s != 150)
			ok &= replay_check(&r, 5, s);
	CHECK(ok);
	ok = 0;
	for (uint64_t s = 90; s <= 170; s++)
		ok |= replay_check(&r, 5, s);
	CHECK(!ok);
	CHECK_EQ(r.top, 170);

	/* a jump further than the window forgets everything before it */
	CHECK(replay_check(&r, 5, 1000));
	CHECK(!replay_check(&r, 5, 936));
	CHECK(replay_check(&r, 5, 937));
	CHECK(!replay_check(&r, 5, 170));

	/* a new epoch starts over; the old epoch is dead */
	CHECK(replay_check(&r, 6, 1));
	CHECK(!replay_check(&r, 6, 1));
	CHECK(!replay_check(&r, 5, 1001));
	CHECK(!replay_check(&r, 5, UINT64_MAX));
	CHECK(replay_check(&r, 6, 2));
	CHECK(replay_check(&r, 7, 50));
	CHECK(!replay_check(&r, 6, 3));
	CHECK(replay_check(&r, 7, 49));
	CHECK(replay_check(&r, 7, UINT64_MAX));
	CHECK(!replay_check(&r, 7, UINT64_MAX));
	CHECK(!replay_check(&r, 7, 50));
	CHECK(replay_check(&r, 7, UINT64_MAX - 63));
	CHECK(!replay_check(&r, 7, UINT64_MAX - 64));

	/* after a reset anything (but seq 0) is new again */
	replay_reset(&r);
	CHECK(replay_check(&r, 3, 7));
	CHECK(replay_check(&r, 3, 6));
	CHECK(!replay_check(&r, 2, 8));
}

static int
read_epoch_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void
test_epoch(void)
{
	char dir[128], path[256], err[512], text[64];
	uint64_t e1 = 0, e2 = 0, e3 = 0, e;
	uint64_t now = (uint64_t)time(NULL);
	struct stat st;

	/* a missing state_dir is created, 0700 */
	path_in(dir, sizeof(dir), "state");
	snprintf(path, sizeof(path), "%s/epoch", dir);
	CHECK_EQ(epoch_next(dir, &e1, err, sizeof(err)), 0);
	CHECK_EQ(stat(dir, &st), 0);
	CHECK(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	CHECK(e1 >= now);
	CHECK_EQ(epoch_next(dir, &e2, err, sizeof(err)), 0);
	CHECK_EQ(epoch_next(dir, &e3, err, sizeof(err)), 0);
	CHECK(e2 > e1 && e3 > e2);
	CHECK_EQ(read_epoch_file(path, text, sizeof(text)), 0);
	snprintf(err, sizeof(err), "%llu\n", (unsigned long long)e3);
	CHECK_STR(text, err);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(count_entries(dir), 1);

	/* a stored epoch ahead of the clock still rises by one */
	CHECK_EQ(write_file(path, "99999999999\n", 12, 0600), 0);
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), 0);
	CHECK(e == UINT64_C(100000000000));
	CHECK_EQ(write_file(path, "99999999999", 11, 0600), 0);
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), 0);
	CHECK(e == UINT64_C(100000000000));

	/* missing file: the clock alone */
	CHECK_EQ(unlink(path), 0);
	now = (uint64_t)time(NULL);
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), 0);
	CHECK(e >= now && e < now + 100);

	/* corrupt: refused, naming the file, and left alone */
	static const char *const bad[] = {
		"", "\n", "abc\n", "12x\n", "-5\n", " 12\n", "12\n\n",
		"99999999999999999999999\n", "18446744073709551615\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(write_file(path, bad[i], strlen(bad[i]), 0600), 0);
		err[0] = '\0';
		e = 42;
		CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), -1);
		CHECK(strstr(err, path) != NULL && strstr(err, "corrupt") != NULL);
		CHECK_EQ(e, 42);
		CHECK_EQ(read_epoch_file(path, text, sizeof(text)), 0);
		CHECK_STR(text, bad[i]);
	}

	/* state_dir that cannot be created */
	path_in(dir, sizeof(dir), "no/such/state");
	err[0] = '\0';
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), -1);
	CHECK(strstr(err, dir) != NULL);
}

/* uid 65534 (nobody) owns path; only root can give files away. */
static bool
give_away(const char *path, const char *what)
{
	if (geteuid() != 0) {
		printf("test_auth: not root, skipping the %s owned by another "
		    "uid\n", what);
		return false;
	}
	CHECK_EQ(lchown(path, 65534, (gid_t)-1), 0);
	return true;
}

static void
test_key_owner(void)
{
	char path[256], link[256], err[512], want[640];
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	static const char hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

	path_in(path, sizeof(path), "foreign.key");
	path_in(link, sizeof(link), "foreign-link.key");
	CHECK_EQ(write_file(path, hex, strlen(hex), 0600), 0);
	CHECK_EQ(symlink(path, link), 0);
	if (!give_away(path, "key file"))
		return;
	CHECK_EQ(load(path, key, &keylen, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "key file %s is owned by uid 65534, not by "
	    "root", path);
	CHECK_STR(err, want);
	CHECK_EQ(keylen, 0);
	/* a root-owned link to it: the file it names is judged */
	CHECK_EQ(load(link, key, &keylen, err, sizeof(err)), -1);
	CHECK(strstr(err, "owned by uid 65534") != NULL && strstr(err, link) != NULL);
	CHECK_EQ(lchown(path, 0, (gid_t)-1), 0);
	CHECK_EQ(load(link, key, &keylen, err, sizeof(err)), 0);
	CHECK(keylen == 32 && seq_bytes(key, 32));
}

/* state_dir gets the checks runtime_dir gets; the epoch file is never followed. */
static void
test_state_dir(void)
{
	char dir[128], real[128], path[256], target[256], err[512], want[640];
	char text[64];
	uint64_t e = 42;

	path_in(real, sizeof(real), "real-state");
	CHECK_EQ(mkdir(real, 0700), 0);
	/* a symlink to a good directory */
	path_in(dir, sizeof(dir), "linked-state");
	CHECK_EQ(symlink(real, dir), 0);
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "state_dir %s is a symlink: refusing "
	    "it; name the real directory", dir);
	CHECK_STR(err, want);
	CHECK_EQ(count_entries(real), 0);
	CHECK_EQ(e, 42);
	/* with a trailing slash, which lstat() would follow */
	snprintf(path, sizeof(path), "%s//", dir);
	CHECK_EQ(epoch_next(path, &e, err, sizeof(err)), -1);
	CHECK(strstr(err, "is a symlink") != NULL);
	CHECK_EQ(count_entries(real), 0);

	/* not a directory */
	path_in(dir, sizeof(dir), "state-file");
	CHECK_EQ(write_file(dir, "x", 1, 0600), 0);
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "state_dir %s is not a directory", dir);
	CHECK_STR(err, want);

	/* writable by group or others */
	CHECK_EQ(chmod(real, 0770), 0);
	CHECK_EQ(epoch_next(real, &e, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "state_dir %s is writable by group or "
	    "others (mode 0770); run chmod go-w %s", real, real);
	CHECK_STR(err, want);
	CHECK_EQ(chmod(real, 01777), 0);	/* no sticky-bit exception here */
	CHECK_EQ(epoch_next(real, &e, err, sizeof(err)), -1);
	CHECK(strstr(err, "(mode 1777)") != NULL);
	CHECK_EQ(count_entries(real), 0);
	CHECK_EQ(chmod(real, 0755), 0);		/* readable is fine */
	CHECK_EQ(epoch_next(real, &e, err, sizeof(err)), 0);
	CHECK_EQ(count_entries(real), 1);

	/* an epoch file that is a symlink, to a file or to nothing: refused, target untouched */
	snprintf(path, sizeof(path), "%s/epoch", real);
	path_in(target, sizeof(target), "elsewhere");
	CHECK_EQ(write_file(target, "99999999999\n", 12, 0600), 0);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(symlink(target, path), 0);
	e = 42;
	CHECK_EQ(epoch_next(real, &e, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s is a symbolic link: refusing to follow "
	    "it; remove it", path);
	CHECK_STR(err, want);
	CHECK_EQ(e, 42);
	CHECK_EQ(read_epoch_file(target, text, sizeof(text)), 0);
	CHECK_STR(text, "99999999999\n");
	CHECK_EQ(unlink(target), 0);
	CHECK_EQ(epoch_next(real, &e, err, sizeof(err)), -1);
	CHECK_STR(err, want);
	CHECK_EQ(access(target, F_OK), -1);
	CHECK_EQ(unlink(path), 0);

	/* not a regular file */
	CHECK_EQ(mkdir(path, 0700), 0);
	CHECK_EQ(epoch_next(real, &e, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s is not a regular file; remove it", path);
	CHECK_STR(err, want);
	CHECK_EQ(rmdir(path), 0);

	/* owned by someone else */
	path_in(dir, sizeof(dir), "foreign-state");
	CHECK_EQ(mkdir(dir, 0700), 0);
	if (!give_away(dir, "state_dir"))
		return;
	CHECK_EQ(epoch_next(dir, &e, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "state_dir %s is owned by uid 65534, not "
	    "by root", dir);
	CHECK_STR(err, want);
	CHECK_EQ(count_entries(dir), 0);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_hmac_vectors();
	test_hmac_matches_evp();
	test_sign_verify();
	test_parse_key();
	test_load_key();
	test_keygen();
	test_replay();
	test_epoch();
	test_key_owner();
	test_state_dir();
	cleanup();
	return unit_summary("test_auth");
}
