/* SPDX-License-Identifier: MIT */
/*
 * An epoll set kept in step with a poll-style list of (fd, events) that a library gives anew each
 * round, as libslirp's fill does: what a round does not name leaves the set, and events a round
 * no longer asks for are dropped. Used by the user-mode network backend (slirp.c).
 */
#ifndef KVMINI_DEVICES_NET_EPOLL_SET_H
#define KVMINI_DEVICES_NET_EPOLL_SET_H

#include <stddef.h>
#include <stdint.h>

struct epoll_set {
    int epfd;
    struct epoll_set_fd *fds; /* indexed by fd */
    size_t nr_fds;
};

/* 0 or -errno. */
int epoll_set_init(struct epoll_set *s);
void epoll_set_fini(struct epoll_set *s);

/* This round wants fd watched for events (EPOLLIN, EPOLLOUT, EPOLLPRI; 0: errors and hang-ups
 * only). 0, or -ENOMEM: the fd is not watched this round. */
int epoll_set_want(struct epoll_set *s, int fd, uint32_t events);

/* The round is over: the epoll set now watches exactly what it asked for. */
void epoll_set_apply(struct epoll_set *s);

/* fd is about to be closed: out of the set now, so a new fd of that number starts afresh. */
void epoll_set_forget(struct epoll_set *s, int fd);

#endif
