/* Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6). */
#ifndef FOD_ANNOUNCE_H
#define FOD_ANNOUNCE_H

#include <stdint.h>

#include "config.h"

/* Since the start, for metrics. */
struct announce_stats {
	uint64_t	arp;		/* gratuitous ARP sent */
	uint64_t	na;		/* unsolicited neighbour advertisements sent */
	uint64_t	errors;		/* announcements that could not be sent */
};

int	announce_init(void);
void	announce_finalise(void);
/* Send one announcement for the VIP on its interface (non-blocking). */
int	announce_vip(const struct cfg_vip *);
void	announce_get_stats(struct announce_stats *);

#endif
