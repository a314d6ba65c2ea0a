/* Shared key, HMAC-SHA256 (OpenSSL 3), replay window, restart epoch. */
#ifndef FOD_AUTH_H
#define FOD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_MIN	32
#define AUTH_KEY_MAX	256
#define AUTH_MAC_LEN	32

struct auth;

struct auth	*auth_new(const uint8_t *key, size_t keylen);
void		 auth_free(struct auth *);
void		 auth_sign(struct auth *, const uint8_t *data, size_t len,
		    uint8_t mac[AUTH_MAC_LEN]);
/* Constant-time (CRYPTO_memcmp). */
bool		 auth_verify(struct auth *, const uint8_t *data, size_t len,
		    const uint8_t mac[AUTH_MAC_LEN]);

/* Pure: decode hex or base64 key text (surrounding whitespace ignored); -1 if invalid/short. */
int		 auth_parse_key(const char *text, size_t len, uint8_t *key, size_t *keylen);
/*
 * Read a key file (a symlink is followed; the file it names is judged):
 * refuses anything but a regular file owned by root or our euid with no
 * group/other permission bits; err gets a one-line reason.
 */
int		 auth_load_key(const char *path, uint8_t *key, size_t *keylen,
		    char *err, size_t errlen);
/* Write 32 fresh random bytes as hex to path, mode 0600 (replaces atomically). */
int		 auth_keygen(const char *path, char *err, size_t errlen);

/*
 * Replay window for one peer: accepts (epoch, seq) if it is newer than
 * anything seen, or within the last 64 seqs of the current epoch and not
 * seen yet. Updates the window only when accepting.
 */
struct replay {
	bool		valid;
	uint64_t	epoch;
	uint64_t	top;		/* highest seq seen in epoch */
	uint64_t	bitmap;		/* bit i = top - i seen */
};
void		 replay_reset(struct replay *);
bool		 replay_check(struct replay *, uint64_t epoch, uint64_t seq);

/*
 * Restart epoch: read STATE_DIR/epoch, store max(old + 1, realtime seconds)
 * durably (write temp, fsync, rename), return it. -1 with err on failure.
 * STATE_DIR is vetted by secpath_dir(); a symlink at the epoch file is refused.
 */
int		 epoch_next(const char *state_dir, uint64_t *epoch, char *err, size_t errlen);

#endif
