/*
 * Metrics (design 10): the Prometheus text exposition format (version
 * 0.0.4) of a status snapshot, for GET /metrics and `failoverctl metrics`.
 * docs/metrics.md lists every metric.
 */
#ifndef FOD_METRICS_H
#define FOD_METRICS_H

#include <stddef.h>

#include "out.h"
#include "status.h"

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* metrics.c, pure: the snapshot only. What does not fit o is cut. */
void	metrics_write(const struct status_snapshot *, struct out *);

#endif
