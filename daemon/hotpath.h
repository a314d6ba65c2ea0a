/*
 * The heartbeat path: the functions every heartbeat sent or received runs
 * through, placed side by side (the linker gathers .text.hot.*). At 10 ms
 * the next heartbeat finds the caches cold, and code spread over the binary
 * costs a miss per line and often a TLB miss per page; together it shares
 * pages and the prefetcher reads ahead. Measured with the TSC on a standby
 * at 10 ms, from wakeup to the next wait: 53,000-55,000 cycles per heartbeat
 * received before, 41,000-45,000 after. Only for code that runs at every
 * heartbeat: anything else dilutes it.
 */
#ifndef FOD_HOTPATH_H
#define FOD_HOTPATH_H

#define HOTPATH	__attribute__((section(".text.hot.heartbeat")))

#endif
