/* Text appended to a caller's bounded buffer: what does not fit is cut. */
#ifndef FOD_OUT_H
#define FOD_OUT_H

#include <stddef.h>

struct out {
	char	*buf;
	size_t	 size;
	size_t	 len;		/* <= size */
};

void	out_printf(struct out *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
