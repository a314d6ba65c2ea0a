/*
 * Metrics (design 10): the Prometheus text exposition format (version
 * 0.0.4) of a status snapshot, for GET /metrics and `failoverctl metrics`.
 * docs/metrics.md lists every metric.
 */
#ifndef FOD_METRICS_H
#define FOD_METRICS_H

#include <stddef.h>

#include "config.h"
#include "out.h"
#include "status.h"

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* metrics.c, pure: the snapshot only. What does not fit o is cut. */
void	metrics_write(const struct status_snapshot *, struct out *);

/* metrics_http.c: the HTTP server, driven by the daemon's event loop. */
/*
 * Start serving cfg->metrics (nothing if it is off). -1 with
 * "FILE:LINE: metrics.listen ADDR:PORT: why" in err when the address
 * cannot be bound.
 */
int	metrics_http_init(const struct config *, char *err, size_t errlen);
/*
 * The library that serves them, if c asks for metrics (init and prepare
 * load it first; failoverd -t asks): -1 with "FILE:LINE: why" in err.
 */
int	metrics_http_load(const struct config *c, char *err, size_t errlen);
/*
 * Reload: before anything changes, bind nc's address if it differs from
 * the running one (-1 and err as above: the reload is refused); then, once
 * the reload goes ahead, apply: stop the old server, start the new one.
 */
int	metrics_http_prepare(const struct config *nc, char *err, size_t errlen);
void	metrics_http_apply(const struct config *nc);
void	metrics_http_finalise(void);
/* The text as it is now (also for the control socket); NULL if out of memory. */
const char *metrics_render(size_t *len);

#endif
