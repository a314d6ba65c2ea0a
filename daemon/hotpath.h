/*
 * The heartbeat path: the functions every heartbeat sent or received runs
 * through, placed side by side (GNU ld and gold gather .text.hot.*; lld
 * with -z keep-text-section-prefix). At 10 ms the next heartbeat finds the
 * caches cold: code spread over the binary costs a miss per line and often
 * a TLB miss per page (README: about 10,000 cycles a heartbeat). Only for
 * code that runs at every heartbeat: anything else dilutes it.
 */
#ifndef FOD_HOTPATH_H
#define FOD_HOTPATH_H

#define HOTPATH	__attribute__((section(".text.hot.heartbeat")))

/*
 * The small statics a heartbeat reads (loop.c, link.c, role.c, quorum.c:
 * about 1.2 KB) in one section: no linker script names it, so the linker
 * keeps it whole, one page or two instead of one page each. Not for const
 * data (a section holds one kind) nor for large arrays.
 */
#define HOTDATA	__attribute__((section("fod_heartbeat_data")))

#endif
