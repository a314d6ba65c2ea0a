/*
 * Secure-path checks shared by runtime_dir, state_dir and the key file.
 * Messages are one line naming the path and what is wrong.
 */
#ifndef FOD_SECPATH_H
#define FOD_SECPATH_H

#include <sys/stat.h>

#include <stddef.h>

/* 0 if st is owned by root or by our euid; else -1, err "WHAT PATH is owned by uid N, ...". */
int	secpath_owner(const char *what, const char *path, const struct stat *st,
	    char *err, size_t errlen);
/*
 * A private directory: created 0700 if missing, then refused unless it is a
 * real directory (not a symlink), owned by root or our euid and not writable
 * by group or others. 0, or -1 with err "WHAT DIR ...".
 */
int	secpath_dir(const char *what, const char *dir, char *err, size_t errlen);

#endif
