// SPDX-License-Identifier: MIT
/*
 * devices/net/epoll_set.c: the epoll set follows each round's list exactly. A pipe's write end is
 * always writable and never readable, so a stale EPOLLOUT shows as readiness that should not be
 * there: the bug that once kept the user-mode network's event loop spinning after a socket had
 * wanted POLLOUT for two rounds in a row and then no longer.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices/net/epoll_set.h"
#include "tests/unit/unit.h"

/* The fds epoll_wait reports ready now: their number; the first in *fd. */
static int ready(const struct epoll_set *s, int *fd)
{
    struct epoll_event ev[8];
    int n = epoll_wait(s->epfd, ev, 8, 0);

    if (n > 0 && fd)
        *fd = ev[0].data.fd;
    return n;
}

static void round_of(struct epoll_set *s, int fd, uint32_t events)
{
    if (fd >= 0)
        ck_assert_int_eq(epoll_set_want(s, fd, events), 0);
    epoll_set_apply(s);
}

START_TEST(dropped_events_leave_the_set)
{
    struct epoll_set s;
    int p[2], fd = -1;

    ck_assert_int_eq(epoll_set_init(&s), 0);
    ck_assert_int_eq(pipe(p), 0);
    round_of(&s, p[1], EPOLLOUT);
    ck_assert_int_eq(ready(&s, &fd), 1);
    ck_assert_int_eq(fd, p[1]);
    round_of(&s, p[1], EPOLLOUT); /* the same twice */
    ck_assert_int_eq(ready(&s, NULL), 1);
    round_of(&s, p[1], EPOLLIN); /* no longer OUT: nothing is ready */
    ck_assert_int_eq(ready(&s, NULL), 0);
    round_of(&s, p[1], EPOLLIN);
    ck_assert_int_eq(ready(&s, NULL), 0);
    round_of(&s, p[1], EPOLLOUT | EPOLLIN); /* and back */
    ck_assert_int_eq(ready(&s, NULL), 1);
    close(p[0]);
    close(p[1]);
    epoll_set_fini(&s);
}
END_TEST

START_TEST(unnamed_fds_leave_the_set)
{
    struct epoll_set s;
    int p[2], fd = -1;

    ck_assert_int_eq(epoll_set_init(&s), 0);
    ck_assert_int_eq(pipe(p), 0);
    round_of(&s, p[1], EPOLLOUT);
    round_of(&s, p[1], EPOLLOUT);
    ck_assert_int_eq(ready(&s, NULL), 1);
    round_of(&s, -1, 0); /* a round that names nothing */
    ck_assert_int_eq(ready(&s, NULL), 0);
    /* The read end joins, and is ready once there is data. */
    round_of(&s, p[0], EPOLLIN);
    ck_assert_int_eq(ready(&s, NULL), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(ready(&s, &fd), 1);
    ck_assert_int_eq(fd, p[0]);
    close(p[0]);
    close(p[1]);
    epoll_set_fini(&s);
}
END_TEST

START_TEST(forgotten_fd_number_starts_afresh)
{
    struct epoll_set s;
    int p[2], q[2];

    ck_assert_int_eq(epoll_set_init(&s), 0);
    ck_assert_int_eq(pipe(p), 0);
    round_of(&s, p[1], EPOLLOUT);
    round_of(&s, p[1], EPOLLOUT);
    epoll_set_forget(&s, p[1]);
    ck_assert_int_eq(ready(&s, NULL), 0);
    close(p[1]);
    /* A new file under the old number is added, not taken for the old one. */
    ck_assert_int_eq(pipe(q), 0);
    ck_assert_int_eq(dup2(q[1], p[1]), p[1]);
    round_of(&s, p[1], EPOLLOUT);
    ck_assert_int_eq(ready(&s, NULL), 1);
    close(q[0]);
    close(q[1]);
    close(p[0]);
    close(p[1]);
    epoll_set_fini(&s);
}
END_TEST

START_TEST(unwatchable_fd_is_skipped)
{
    struct epoll_set s;
    int fd = open("/dev/null", O_RDONLY); /* epoll refuses a character device like this: EPERM */

    ck_assert_int_eq(epoll_set_init(&s), 0);
    ck_assert_int_ge(fd, 0);
    round_of(&s, fd, EPOLLIN);
    round_of(&s, fd, EPOLLIN);
    ck_assert_int_eq(ready(&s, NULL), 0);
    ck_assert_int_eq(epoll_set_want(&s, -1, EPOLLIN), -EBADF);
    close(fd);
    epoll_set_fini(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("epoll_set");
    TCase *tc = tcase_create("epoll_set");

    tcase_add_test(tc, dropped_events_leave_the_set);
    tcase_add_test(tc, unnamed_fds_leave_the_set);
    tcase_add_test(tc, forgotten_fd_number_starts_afresh);
    tcase_add_test(tc, unwatchable_fd_is_skipped);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
