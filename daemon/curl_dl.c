/* libcurl by dlopen(): see curl_dl.h. */
#include "curl_dl.h"
#include "dl.h"

struct curl_dl lc;

int
curl_dl_open(char *err, size_t errlen)
{
	static void *h;
	static const struct dl_sym syms[] = {
#define SYM(f)	{ "curl_" #f, offsetof(struct curl_dl, f) }
		SYM(global_init), SYM(global_cleanup), SYM(easy_init),
		SYM(easy_setopt), SYM(easy_getinfo), SYM(easy_cleanup),
		SYM(easy_strerror), SYM(multi_init), SYM(multi_setopt),
		SYM(multi_add_handle), SYM(multi_remove_handle),
		SYM(multi_socket_action), SYM(multi_info_read),
		SYM(multi_cleanup), SYM(slist_append), SYM(slist_free_all),
#undef SYM
	};

	return dl_load(&h, CURL_DL_SONAME, syms, sizeof(syms) / sizeof(syms[0]),
	    &lc, "quorum needs libcurl", "Debian: libcurl4, Fedora: libcurl",
	    err, errlen);
}
