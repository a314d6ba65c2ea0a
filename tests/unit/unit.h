/* Minimal unit-test helpers: CHECK records a failure and goes on; main prints a summary. */
#ifndef FOD_UNIT_H
#define FOD_UNIT_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_passed, unit_failed;

#define CHECK(cond) do {						\
	if (cond)							\
		unit_passed++;						\
	else {								\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a == _b)							\
		unit_passed++;						\
	else {								\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", \
		    __FILE__, __LINE__, #a, _a, #b, _b);		\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a && _b && strcmp(_a, _b) == 0)				\
		unit_passed++;						\
	else {								\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", \
		    __FILE__, __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); \
	}								\
} while (0)

/* Whole file into a malloc'd string; NULL if it cannot be read. */
static inline char *
unit_slurp(const char *path)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			if ((nb = realloc(buf, cap += 65536)) == NULL) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* How often needle occurs in hay (0 for a NULL hay). */
static inline int
unit_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; hay && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* text with every "BASE" replaced by base, into out (truncated to fit). */
static inline void
unit_expand(char *out, size_t len, const char *text, const char *base)
{
	size_t o = 0, bl = strlen(base);

	while (*text && o + bl + 1 < len) {
		if (strncmp(text, "BASE", 4) == 0) {
			memcpy(out + o, base, bl);
			o += bl;
			text += 4;
		} else
			out[o++] = *text++;
	}
	out[o] = '\0';
}

/* Prints "NAME: N passed, N failed" and returns the exit status. */
static inline int
unit_summary(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
