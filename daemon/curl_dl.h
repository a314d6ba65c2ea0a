/*
 * libcurl, loaded only by a node that has a quorum section (etcd.c calls
 * curl_dl_open() first). Linking it would map it and its ~20 libraries
 * (TLS, LDAP, SSH, Kerberos, ...) into every failoverd, quorum or not.
 * etcd.c calls libcurl through lc.*, never directly.
 */
#ifndef FOD_CURL_DL_H
#define FOD_CURL_DL_H

#include <stddef.h>

#include <curl/curl.h>

#define CURL_DL_SONAME	"libcurl.so.4"

struct curl_dl {
	__typeof__(curl_global_init)		*global_init;
	__typeof__(curl_global_cleanup)		*global_cleanup;
	__typeof__(curl_easy_init)		*easy_init;
	__typeof__(curl_easy_setopt)		*easy_setopt;
	__typeof__(curl_easy_getinfo)		*easy_getinfo;
	__typeof__(curl_easy_cleanup)		*easy_cleanup;
	__typeof__(curl_easy_strerror)		*easy_strerror;
	__typeof__(curl_multi_init)		*multi_init;
	__typeof__(curl_multi_setopt)		*multi_setopt;
	__typeof__(curl_multi_add_handle)	*multi_add_handle;
	__typeof__(curl_multi_remove_handle)	*multi_remove_handle;
	__typeof__(curl_multi_socket_action)	*multi_socket_action;
	__typeof__(curl_multi_info_read)	*multi_info_read;
	__typeof__(curl_multi_cleanup)		*multi_cleanup;
	__typeof__(curl_slist_append)		*slist_append;
	__typeof__(curl_slist_free_all)		*slist_free_all;
};

extern struct curl_dl lc;

/* Load libcurl once (later calls: 0 at once); -1 with the reason in err. */
int	curl_dl_open(char *err, size_t errlen);

#endif
