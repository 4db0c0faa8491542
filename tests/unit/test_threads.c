// SPDX-License-Identifier: MIT
/*
 * The thread registry and the stop watchdog (vmm/core/threads.c, stop_watch.c): threads enter
 * guarded or not at all, and a stop that does not complete ends the process with 86 and a line
 * per stuck thread saying where it is. Each case that ends a process runs in a child.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/core/fatal.h"
#include "vmm/core/stop.h"
#include "vmm/core/stop_watch.h"
#include "vmm/core/threads.h"
#include "tests/unit/child.h"
#include "tests/unit/unit.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int block_pipe[2];

/* A thread stuck where kvmini cannot reach it: a read that never returns. */
static void *stuck_reader(void *arg)
{
    char c;

    (void)arg;
    if (read(block_pipe[0], &c, 1) < 0) {
        /* never returns */
    }
    return NULL;
}

static void *quick(void *arg)
{
    (void)arg;
    return NULL;
}

static const char *const names[] = { "read" };

static void stuck_stop(void)
{
    static struct threads ts;
    static struct stop_watch w;
    const struct thread_id worker = { .cls = THREAD_WORKER, .index = THREAD_INDEX_NEXT };
    const struct thread_id main_id = { .cls = THREAD_MAIN };
    pthread_t t, q;

    fatal_name_syscalls(names, 1);
    if (pipe(block_pipe) < 0)
        _exit(2);
    threads_init(&ts);
    if (threads_start(&ts, &q, &worker, "quick", quick, NULL) ||
        threads_start(&ts, &t, &worker, "stuck", stuck_reader, NULL) ||
        stop_watch_start(&w, &ts, 1) || threads_enter(&ts, &main_id, NULL))
        _exit(3);
    pthread_join(q, NULL); /* worker 0 finished: not reported */
    stop_watch_arm(&w);
    pthread_join(t, NULL); /* as vm_destroy would: stuck for good */
    _exit(4);
}

START_TEST(stuck_stop_is_reported_and_ends_with_86)
{
    char out[4096];
    double t0 = now_s();
    int status = run_in_child(stuck_stop, out, sizeof(out));
    double took = now_s() - t0;

    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_STOP_STUCK,
                  "status 0x%x, stderr: %s", status, out);
    ck_assert_msg(took >= 0.9 && took < 10, "took %.2f s", took);
    ck_assert_msg(strstr(out, "did not stop within 1 s"), "%s", out);
    ck_assert_msg(strstr(out, "disk worker 1 (thread "), "%s", out);
    ck_assert_msg(strstr(out, "in system call 0 (read)"), "%s", out);
    ck_assert_msg(strstr(out, "main (thread "), "%s", out);
    ck_assert_msg(!strstr(out, "disk worker 0"), "a finished thread was reported: %s", out);
    ck_assert_msg(!strstr(out, "stop watchdog ("), "the watchdog reported itself: %s", out);
}
END_TEST

static void completed_stop(void)
{
    static struct threads ts;
    static struct stop_watch w;
    const struct thread_id id = { .cls = THREAD_LOOP };
    pthread_t t;

    threads_init(&ts);
    if (stop_watch_start(&w, &ts, 1) || threads_start(&ts, &t, &id, "quick", quick, NULL))
        _exit(3);
    stop_watch_arm(&w);
    pthread_join(t, NULL);
    stop_watch_end(&w);
    usleep(1500 * 1000); /* past the deadline: an ended watch must stay quiet */
    threads_fini(&ts);
    _exit(0);
}

START_TEST(completed_stop_is_quiet)
{
    char out[4096];
    int status = run_in_child(completed_stop, out, sizeof(out));

    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, out);
    ck_assert_str_eq(out, "");
}
END_TEST

static int refuse(void *ctx, enum thread_class cls)
{
    int *calls = ctx;

    ck_assert_int_eq(cls, THREAD_VCPU);
    (*calls)++;
    return -EPERM;
}

static int ran;

static void *mark_ran(void *arg)
{
    (void)arg;
    __atomic_store_n(&ran, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

START_TEST(a_thread_the_guard_refuses_never_runs)
{
    struct threads ts;
    int calls = 0;
    const struct thread_guard guard = { .enter = refuse, .ctx = &calls };
    const struct thread_id id = { .cls = THREAD_VCPU, .index = 3 };
    pthread_t t;

    threads_init(&ts);
    threads_set_guard(&ts, &guard);
    ck_assert_int_eq(threads_start(&ts, &t, &id, "refused", mark_ran, NULL), -EPERM);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 0);
    ck_assert_uint_eq(ts.n, 1);
    ck_assert_uint_eq(ts.slot[0].index, 3);
    ck_assert(!ts.slot[0].running);
    threads_fini(&ts);
}
END_TEST

START_TEST(threads_without_a_registry_still_run)
{
    const struct thread_id id = { .cls = THREAD_WORKER, .index = THREAD_INDEX_NEXT };
    pthread_t t;

    __atomic_store_n(&ran, 0, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(threads_start(NULL, &t, &id, "plain", mark_ran, NULL), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 1);
}
END_TEST

START_TEST(class_names_parse)
{
    ck_assert_int_eq(thread_class_parse("vcpu"), THREAD_VCPU);
    ck_assert_int_eq(thread_class_parse("loop"), THREAD_LOOP);
    ck_assert_int_eq(thread_class_parse("worker"), THREAD_WORKER);
    ck_assert_int_eq(thread_class_parse("main"), THREAD_MAIN);
    ck_assert_int_eq(thread_class_parse("watchdog"), THREAD_WATCHDOG);
    ck_assert_int_eq(thread_class_parse("vCPU"), -EINVAL);
    ck_assert_int_eq(thread_class_parse(""), -EINVAL);
    ck_assert_str_eq(thread_class_name(THREAD_LOOP), "event loop");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, stuck_stop_is_reported_and_ends_with_86);
    tcase_add_test(tc, completed_stop_is_quiet);
    tcase_add_test(tc, a_thread_the_guard_refuses_never_runs);
    tcase_add_test(tc, threads_without_a_registry_still_run);
    tcase_add_test(tc, class_names_parse);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
