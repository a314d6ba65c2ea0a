/* libcurl by dlopen(): see curl_dl.h. */
#include <dlfcn.h>
#include <stdio.h>

#include "curl_dl.h"

struct curl_dl lc;

int
curl_dl_open(char *err, size_t errlen)
{
	static void *h;
	static const struct {
		const char	*name;
		size_t		 off;
	} syms[] = {
#define SYM(f)	{ "curl_" #f, offsetof(struct curl_dl, f) }
		SYM(global_init), SYM(global_cleanup), SYM(easy_init),
		SYM(easy_setopt), SYM(easy_getinfo), SYM(easy_cleanup),
		SYM(easy_strerror), SYM(multi_init), SYM(multi_setopt),
		SYM(multi_add_handle), SYM(multi_remove_handle),
		SYM(multi_socket_action), SYM(multi_info_read),
		SYM(multi_cleanup), SYM(slist_append), SYM(slist_free_all),
#undef SYM
	};

	if (h != NULL)
		return 0;
	if ((h = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "quorum needs libcurl (%s): %s; install "
		    "it (Debian: libcurl4, Fedora: libcurl)", CURL_DL_SONAME,
		    dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (f == NULL) {
			snprintf(err, errlen, "%s has no %s", CURL_DL_SONAME,
			    syms[i].name);
			dlclose(h);
			h = NULL;
			return -1;
		}
		*(void **)((char *)&lc + syms[i].off) = f;
	}
	return 0;
}
