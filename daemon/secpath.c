/* Secure-path checks shared by runtime_dir, state_dir and the key file. */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "secpath.h"

int
secpath_owner(const char *what, const char *path, const struct stat *st,
    char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (st->st_uid == 0 || st->st_uid == me)
		return 0;
	if (me == 0)
		snprintf(err, errlen, "%s %s is owned by uid %u, not by root",
		    what, path, (unsigned)st->st_uid);
	else
		snprintf(err, errlen, "%s %s is owned by uid %u, neither root "
		    "nor uid %u", what, path, (unsigned)st->st_uid, (unsigned)me);
	return -1;
}

int
secpath_dir(const char *what, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	char bare[PATH_MAX];
	size_t n = strlen(dir);

	/* lstat("link/") follows the link: judge the name without the slashes */
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= sizeof(bare)) {
		snprintf(err, errlen, "%s %s: path too long", what, dir);
		return -1;
	}
	memcpy(bare, dir, n);
	bare[n] = '\0';
	dir = bare;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s %s: %s", what, dir, strerror(errno));
		return -1;
	}
	/* lstat: the daemon creates files in it, so a planted link must not redirect them */
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s %s is a symlink: refusing it; "
		    "name the real directory", what, dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a directory", what, dir);
		return -1;
	}
	if (secpath_owner(what, dir, &st, err, errlen) == -1)
		return -1;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s %s is writable by group or others "
		    "(mode %04o); run chmod go-w %s", what, dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}
