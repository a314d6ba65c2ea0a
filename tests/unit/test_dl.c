/*
 * dl.c: a library loaded on demand fills its table once; a missing library
 * or function is a clear error naming what needs it and where to get it,
 * and leaves nothing loaded.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dl.h"
#include "unit.h"

struct table {
	__typeof__(getpid)	*getpid;
	__typeof__(strlen)	*strlen;
};

static void
test_loads_once(void)
{
	static const struct dl_sym syms[] = {
		{ "getpid", offsetof(struct table, getpid) },
		{ "strlen", offsetof(struct table, strlen) },
	};
	struct table t = { 0 };
	void *h = NULL, *first;
	char err[256] = "";

	CHECK_EQ(dl_load(&h, "libc.so.6", syms, 2, &t, "x needs libc", "y",
	    err, sizeof(err)), 0);
	CHECK(h != NULL);
	CHECK(t.getpid != NULL && t.getpid() == getpid());
	CHECK(t.strlen != NULL && t.strlen("four") == 4);
	first = h;
	memset(&t, 0, sizeof(t));
	CHECK_EQ(dl_load(&h, "libc.so.6", syms, 2, &t, "x", "y", err,
	    sizeof(err)), 0);
	CHECK(h == first);		/* once: the table stays as filled */
	CHECK(t.getpid == NULL);
	CHECK_STR(err, "");
}

static void
test_missing(void)
{
	static const struct dl_sym syms[] = {
		{ "getpid", offsetof(struct table, getpid) },
		{ "no_such_function_here", offsetof(struct table, strlen) },
	};
	struct table t = { 0 };
	void *h = NULL;
	char err[512];

	CHECK_EQ(dl_load(&h, "libfod-absent.so.9", syms, 1, &t,
	    "metrics need libabsent", "Debian: libabsent9", err, sizeof(err)),
	    -1);
	CHECK(h == NULL);
	CHECK(strncmp(err, "metrics need libabsent (libfod-absent.so.9): ",
	    45) == 0);
	CHECK(strstr(err, "; install it (Debian: libabsent9)") != NULL);
	CHECK_EQ(dl_load(&h, "libc.so.6", syms, 2, &t, "x", "y", err,
	    sizeof(err)), -1);
	CHECK(h == NULL);
	CHECK(t.getpid == NULL);	/* nothing filled in */
	CHECK_STR(err, "libc.so.6 has no no_such_function_here");
}

int
main(void)
{
	test_loads_once();
	test_missing();
	return unit_summary("test_dl");
}
