/*
 * Node and group names: NUL-terminated, in buffers of NAMES_LEN bytes
 * (config, fsm, proto and peers all use 32). Compared and copied inline on
 * the heartbeat path: libc's string functions sit on pages of their own,
 * each a TLB and cache miss per heartbeat at 10 ms (hotpath.h).
 */
#ifndef FOD_NAMES_H
#define FOD_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAMES_LEN	32

/* strncmp(a, b, NAMES_LEN) == 0 */
static inline bool
name_eq(const char *a, const char *b)
{
	for (size_t i = 0; i < NAMES_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (a[i] == '\0')
			return true;
	}
	return true;
}

/* Up to NAMES_LEN - 1 bytes of src into dst, which is zero already. */
static inline void
name_put(char *dst, const char *src)
{
	for (size_t i = 0; i < NAMES_LEN - 1 && src[i] != '\0'; i++)
		dst[i] = src[i];
}

#endif
