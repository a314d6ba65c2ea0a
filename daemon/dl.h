/*
 * Libraries loaded on demand (dlopen) by the features few nodes use:
 * linking them would map them, and what they link (TLS, LDAP, ...), into
 * every failoverd. Each keeps a table of its functions: curl_dl.h (quorum),
 * mhd_dl.h (metrics).
 */
#ifndef FOD_DL_H
#define FOD_DL_H

#include <stddef.h>

struct dl_sym {
	const char	*name;
	size_t		 off;		/* of its pointer in the table */
};

/*
 * Load soname once into *h and fill table's pointers (later calls: 0 at
 * once); -1 with the reason in err, which names what needs it and the
 * packages that have it (pkgs).
 */
int	dl_load(void **h, const char *soname, const struct dl_sym *syms,
	    size_t nsyms, void *table, const char *what, const char *pkgs,
	    char *err, size_t errlen);

#endif
