/* libmicrohttpd by dlopen(): see mhd_dl.h. */
#include "dl.h"
#include "mhd_dl.h"

struct mhd_dl lm;

int
mhd_dl_open(char *err, size_t errlen)
{
	static void *h;
	static const struct dl_sym syms[] = {
#define SYM(f)	{ "MHD_" #f, offsetof(struct mhd_dl, f) }
		SYM(start_daemon), SYM(stop_daemon), SYM(get_daemon_info),
		SYM(get_timeout), SYM(run), SYM(create_response_from_buffer),
		SYM(add_response_header), SYM(queue_response),
		SYM(destroy_response),
#undef SYM
	};

	return dl_load(&h, MHD_DL_SONAME, syms, sizeof(syms) / sizeof(syms[0]),
	    &lm, "metrics need libmicrohttpd",
	    "Debian: libmicrohttpd12 or libmicrohttpd12t64, Fedora: "
	    "libmicrohttpd", err, errlen);
}
