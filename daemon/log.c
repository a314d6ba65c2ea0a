#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_tag = "failoverd";
static int log_level_verbose;

void
log_init(const char *tag, int verbose)
{
	log_tag = tag;
	log_level_verbose = verbose;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
log_set_tag(const char *tag)
{
	log_tag = tag;
}

int
log_verbose(void)
{
	return log_level_verbose;
}

static void
vlog(const char *level, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s: %s: %s\n", log_tag, level, msg,
		    strerror(err));
	else
		fprintf(stderr, "%s: %s: %s\n", log_tag, level, msg);
}

#define LOGFN(name, level, witherr)			\
void							\
name(const char *fmt, ...)				\
{							\
	int saved = errno;				\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(level, witherr ? saved : 0, fmt, ap);	\
	va_end(ap);					\
	errno = saved;					\
}

LOGFN(log_warn, "warning", 1)
LOGFN(log_warnx, "warning", 0)
LOGFN(log_info, "info", 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_level_verbose)
		return;
	va_start(ap, fmt);
	vlog("debug", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
