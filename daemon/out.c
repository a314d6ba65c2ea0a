/* Bounded text output (out.h). */
#include <stdarg.h>
#include <stdio.h>

#include "out.h"

void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	if (o->len > o->size)
		o->len = o->size;
}
