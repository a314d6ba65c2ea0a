/* The one event loop: epoll over registered fds; it waits until the earliest timer. */
#ifndef FOD_LOOP_H
#define FOD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*loop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(void *arg);

struct loop_timer {
	uint64_t		 when;		/* monotonic ms; 0 = not armed */
	loop_timer_cb		 cb;
	void			*arg;
	struct loop_timer	*next;		/* internal */
	bool			 linked;	/* internal */
};

int		 loop_init(void);
void		 loop_finalise(void);
/* events: EPOLLIN etc. One callback per fd. */
int		 loop_add_fd(int fd, uint32_t events, loop_fd_cb cb, void *arg);
void		 loop_del_fd(int fd);
/* (Re)arm a timer at an absolute monotonic time in ms; cancel disarms. */
void		 loop_timer_set(struct loop_timer *, uint64_t when, loop_timer_cb, void *arg);
void		 loop_timer_cancel(struct loop_timer *);
/* Wait for and dispatch one round of events and due timers. */
int		 loop_run_once(void);
uint64_t	 now_ms(void);		/* CLOCK_MONOTONIC in ms */
uint64_t	 now_us(void);		/* CLOCK_MONOTONIC in us */
uint64_t	 now_boot_ms(void);	/* CLOCK_BOOTTIME in ms: also counts suspend */

#endif
