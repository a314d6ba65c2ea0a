/* Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6). */
#ifndef FOD_ANNOUNCE_H
#define FOD_ANNOUNCE_H

#include "config.h"

int	announce_init(void);
void	announce_finalise(void);
/* Send one announcement for the VIP on its interface (non-blocking). */
int	announce_vip(const struct cfg_vip *);

#endif
