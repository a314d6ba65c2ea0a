/* Libraries by dlopen(): see dl.h. */
#include <dlfcn.h>
#include <stdio.h>

#include "dl.h"

int
dl_load(void **h, const char *soname, const struct dl_sym *syms, size_t nsyms,
    void *table, const char *what, const char *pkgs, char *err, size_t errlen)
{
	if (*h != NULL)
		return 0;
	if ((*h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "%s (%s): %s; install it (%s)", what,
		    soname, dlerror(), pkgs);
		return -1;
	}
	/* all or nothing: the table is filled once every name is found */
	for (size_t i = 0; i < nsyms; i++)
		if (dlsym(*h, syms[i].name) == NULL) {
			snprintf(err, errlen, "%s has no %s", soname,
			    syms[i].name);
			dlclose(*h);
			*h = NULL;
			return -1;
		}
	for (size_t i = 0; i < nsyms; i++)
		*(void **)((char *)table + syms[i].off) = dlsym(*h,
		    syms[i].name);
	return 0;
}
