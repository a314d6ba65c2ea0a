/*
 * libmicrohttpd, loaded only by a node that serves metrics (metrics_http.c
 * calls mhd_dl_open() first, at start and at a reload that turns them on;
 * once loaded it stays, GnuTLS is not made to be unloaded). Linked, it
 * maps GnuTLS and its ~10 libraries (p11-kit, nettle, gmp, ...) into every
 * failoverd: about 1.3 MiB of PSS on its own. Loading it at a reload is a
 * one-off stall of the loop of some ms (more under mlockall: realtime).
 * metrics_http.c calls libmicrohttpd through lm.*, never directly.
 */
#ifndef FOD_MHD_DL_H
#define FOD_MHD_DL_H

#include <stddef.h>

#include <microhttpd.h>

#define MHD_DL_SONAME	"libmicrohttpd.so.12"

struct mhd_dl {
	__typeof__(MHD_start_daemon)		*start_daemon;
	__typeof__(MHD_stop_daemon)		*stop_daemon;
	__typeof__(MHD_get_daemon_info)		*get_daemon_info;
	__typeof__(MHD_get_timeout)		*get_timeout;
	__typeof__(MHD_run)			*run;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header)	*add_response_header;
	__typeof__(MHD_queue_response)		*queue_response;
	__typeof__(MHD_destroy_response)	*destroy_response;
};

extern struct mhd_dl lm;

/* Load libmicrohttpd once (later calls: 0 at once); -1 with the reason in err. */
int	mhd_dl_open(char *err, size_t errlen);

#endif
