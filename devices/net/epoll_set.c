// SPDX-License-Identifier: MIT
#include "devices/net/epoll_set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* What the set holds for an fd, and what this round asked: events | WATCHED (events may be 0). */
#define WATCHED (1u << 31)
struct epoll_set_fd {
    uint32_t cur, want;
};

int epoll_set_init(struct epoll_set *s)
{
    memset(s, 0, sizeof(*s));
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    return s->epfd < 0 ? -errno : 0;
}

void epoll_set_fini(struct epoll_set *s)
{
    if (s->epfd >= 0)
        close(s->epfd);
    free(s->fds);
    memset(s, 0, sizeof(*s));
    s->epfd = -1;
}

int epoll_set_want(struct epoll_set *s, int fd, uint32_t events)
{
    if (fd < 0)
        return -EBADF;
    if ((size_t)fd >= s->nr_fds) {
        size_t n = 2 * (size_t)fd + 64;
        struct epoll_set_fd *p = realloc(s->fds, n * sizeof(*p));

        if (!p)
            return -ENOMEM;
        memset(p + s->nr_fds, 0, (n - s->nr_fds) * sizeof(*p));
        s->fds = p;
        s->nr_fds = n;
    }
    s->fds[fd].want |= WATCHED | (events & (EPOLLIN | EPOLLOUT | EPOLLPRI));
    return 0;
}

void epoll_set_apply(struct epoll_set *s)
{
    for (size_t fd = 0; fd < s->nr_fds; fd++) {
        struct epoll_set_fd *f = &s->fds[fd];
        struct epoll_event ev = { .events = f->want & ~WATCHED, .data.fd = (int)fd };
        uint32_t want = f->want;
        int op = f->cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        int other = f->cur ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

        /* Every round starts from nothing: a want left over would never be dropped. */
        f->want = 0;
        if (f->cur == want)
            continue;
        if (!want)
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, (int)fd, NULL);
        /* Our view may be stale (an fd closed unannounced): then the other op does it. */
        else if (epoll_ctl(s->epfd, op, (int)fd, &ev) < 0 &&
                 epoll_ctl(s->epfd, other, (int)fd, &ev) < 0)
            want = 0; /* cannot be watched: the caller still polls it every round */
        f->cur = want;
    }
}

void epoll_set_forget(struct epoll_set *s, int fd)
{
    if (fd >= 0 && (size_t)fd < s->nr_fds && s->fds[fd].cur) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
        s->fds[fd].cur = 0;
    }
    if (fd >= 0 && (size_t)fd < s->nr_fds)
        s->fds[fd].want = 0;
}
