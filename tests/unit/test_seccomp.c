// SPDX-License-Identifier: MIT
/*
 * The seccomp filters (vmm/seccomp.c), one child process per case: each class's filter lets its
 * work through and kills a forbidden call with SIGSYS and a report naming the thread and the
 * call; ioctls pass by request number only, memory never becomes executable, files open read-only
 * (main, watchdog) or not at all (the rest, refused with EACCES); and docs/security.md lists every
 * call each class may make.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/core/fatal.h"
#include "vmm/core/threads.h"
#include "vmm/seccomp.h"
#include "tests/unit/child.h"
#include "tests/unit/unit.h"

static enum thread_class child_class;

/* The child's side: guarded as child_class, like a kvmini thread as it enters. */
static void enter_sandbox(void)
{
    static struct threads ts;
    struct sandbox *sb;
    struct thread_guard guard;
    const struct thread_id id = { .cls = child_class, .index = 2 };
    char err[256];

    fatal_handlers_install();
    threads_init(&ts);
    if (sandbox_create(&sb, &(struct sandbox_needs){ .user_net = false }, THREAD_CLASSES, err,
                       sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        _exit(90);
    }
    guard = sandbox_guard(sb);
    threads_set_guard(&ts, &guard);
    if (threads_enter(&ts, &id, NULL))
        _exit(91);
}

static void (*thread_fn)(void);

static void *call_thread_fn(void *arg)
{
    (void)arg;
    thread_fn();
    return NULL;
}

/*
 * As a kvmini thread really starts: threads_start() guards a new thread of class cls, with the
 * signal mask every such thread gets, and it runs fn.
 */
static void start_guarded_thread(enum thread_class cls, void (*fn)(void))
{
    static struct threads ts;
    struct sandbox *sb;
    struct thread_guard guard;
    const struct thread_id id = { .cls = cls, .index = 1 };
    char err[256];
    pthread_t t;

    fatal_handlers_install();
    threads_init(&ts);
    if (sandbox_create(&sb, &(struct sandbox_needs){ .user_net = false }, THREAD_CLASSES, err,
                       sizeof(err)))
        _exit(90);
    guard = sandbox_guard(sb);
    threads_set_guard(&ts, &guard);
    thread_fn = fn;
    if (threads_start(&ts, &t, &id, "guarded", call_thread_fn, NULL))
        _exit(91);
    pthread_join(t, NULL);
}

static void (*child_fn)(void);

static void guarded_on_main(void)
{
    enter_sandbox();
    child_fn();
}

static void guarded_on_started_thread(void)
{
    start_guarded_thread(child_class, child_fn);
}

/* Runs fn guarded as cls in a child (on a started thread if threaded); returns its wait status,
 * *out its stderr. */
static int run_child(enum thread_class cls, bool threaded, void (*fn)(void), char *out, size_t len)
{
    child_class = cls;
    child_fn = fn;
    return run_in_child(threaded ? guarded_on_started_thread : guarded_on_main, out, len);
}

static int run_guarded(enum thread_class cls, void (*fn)(void), char *out, size_t len)
{
    return run_child(cls, false, fn, out, len);
}

static void assert_killed(int status, const char *out, const char *thread, const char *call)
{
    char want[128];

    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
                  "%s: not killed by SIGSYS (status 0x%x): %s", call, status, out);
    snprintf(want, sizeof(want), "seccomp: the %s thread made system call", thread);
    ck_assert_msg(strstr(out, want), "no report naming the %s thread: %s", thread, out);
    snprintf(want, sizeof(want), "(%s), which its filter does not allow", call);
    ck_assert_msg(strstr(out, want), "no report naming %s: %s", call, out);
    ck_assert_msg(strstr(out, "--seccomp off"), "the report gives no way out: %s", out);
}

static void assert_survived(int status, const char *out)
{
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, out);
}

/* What every thread does: locks, memory, a log line, the time. */
static void ordinary_work(void)
{
    struct timespec ts;
    void *big = malloc(8 << 20); /* an mmap */

    if (!big || clock_gettime(CLOCK_MONOTONIC, &ts))
        _exit(5);
    memset(big, 1, 8 << 20);
    free(big);
    if (write(STDERR_FILENO, "", 0) < 0)
        _exit(6);
}

static void open_socket(void)
{
    syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    _exit(7);
}

static const char *const thread_names[THREAD_CLASSES] = {
    [THREAD_MAIN] = "main",
    [THREAD_VCPU] = "vCPU 2",
    [THREAD_LOOP] = "event loop",
    [THREAD_WORKER] = "disk worker 2",
    [THREAD_WATCHDOG] = "stop watchdog",
};

START_TEST(each_class_does_its_work_and_dies_of_a_socket)
{
    enum thread_class cls = (enum thread_class)_i;
    char out[4096];

    assert_survived(run_guarded(cls, ordinary_work, out, sizeof(out)), out);
    assert_killed(run_guarded(cls, open_socket, out, sizeof(out)), out, thread_names[cls],
                  "socket");
}
END_TEST

START_TEST(a_started_thread_reports_too)
{
    enum thread_class cls = (enum thread_class)_i;
    static const char *const names[THREAD_CLASSES] = {
        [THREAD_MAIN] = "main",
        [THREAD_VCPU] = "vCPU 1",
        [THREAD_LOOP] = "event loop",
        [THREAD_WORKER] = "disk worker 1",
        [THREAD_WATCHDOG] = "stop watchdog",
    };
    char out[4096];

    assert_survived(run_child(cls, true, ordinary_work, out, sizeof(out)), out);
    assert_killed(run_child(cls, true, open_socket, out, sizeof(out)), out, names[cls], "socket");
}
END_TEST

static void vcpu_asks_tcgets(void)
{
    struct termios t;

    tcgetattr(STDERR_FILENO, &t);
    _exit(7);
}

static void loop_asks_tcgets(void)
{
    struct termios t;

    /* A pipe: ENOTTY, but the call itself is allowed. */
    if (tcgetattr(STDERR_FILENO, &t) == 0 || errno != ENOTTY)
        _exit(8);
}

START_TEST(ioctls_pass_by_request_number)
{
    char out[4096];

    assert_survived(run_guarded(THREAD_LOOP, loop_asks_tcgets, out, sizeof(out)), out);
    assert_killed(run_guarded(THREAD_VCPU, vcpu_asks_tcgets, out, sizeof(out)), out, "vCPU 2",
                  "ioctl");
}
END_TEST

static void map_executable(void)
{
    mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    _exit(7);
}

static void make_executable(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        _exit(8);
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    _exit(7);
}

START_TEST(memory_never_becomes_executable)
{
    char out[4096];

    assert_killed(run_guarded(THREAD_VCPU, map_executable, out, sizeof(out)), out, "vCPU 2",
                  "mmap");
    assert_killed(run_guarded(THREAD_LOOP, make_executable, out, sizeof(out)), out, "event loop",
                  "mprotect");
}
END_TEST

static void read_proc(void)
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        _exit(8);
    close(fd);
}

static void open_for_writing(void)
{
    open("/proc/self/comm", O_WRONLY | O_CLOEXEC);
    _exit(7);
}

/* What glibc's malloc does lazily in any thread: it must get a refusal, not death. */
static void open_refused(void)
{
    if (open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC) != -1 || errno != EACCES)
        _exit(8);
}

START_TEST(main_opens_read_only)
{
    char out[4096];

    assert_survived(run_guarded(THREAD_MAIN, read_proc, out, sizeof(out)), out);
    assert_survived(run_guarded(THREAD_WATCHDOG, read_proc, out, sizeof(out)), out);
    assert_killed(run_guarded(THREAD_MAIN, open_for_writing, out, sizeof(out)), out, "main",
                  "openat");
}
END_TEST

START_TEST(other_threads_open_nothing)
{
    static const enum thread_class refused[] = { THREAD_VCPU, THREAD_LOOP, THREAD_WORKER };
    char out[4096];

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_survived(run_guarded(refused[i], open_refused, out, sizeof(out)), out);
}
END_TEST

/* The line of docs/security.md's table for a class: "| NAME | calls... |". */
static char *doc_line(const char *doc, const char *row)
{
    char want[64];
    const char *p;

    snprintf(want, sizeof(want), "\n| %s |", row);
    p = strstr(doc, want);
    ck_assert_msg(p, "docs/security.md has no table row '| %s |'", row);
    return strndup(p + 1, strcspn(p + 1, "\n"));
}

static bool doc_names(const char *line, const char *name)
{
    char want[64];

    snprintf(want, sizeof(want), "`%s`", name);
    return strstr(line, want) != NULL;
}

START_TEST(the_docs_list_every_call)
{
    static const char *const rows[THREAD_CLASSES] = {
        [THREAD_MAIN] = "main",
        [THREAD_VCPU] = "vCPU",
        [THREAD_LOOP] = "event loop",
        [THREAD_WORKER] = "disk worker",
        [THREAD_WATCHDOG] = "stop watchdog",
    };
    FILE *f = fopen(KVMINI_SRC_DIR "/docs/security.md", "r");
    static char doc[1 << 17];
    size_t n;
    char *every;

    ck_assert_ptr_nonnull(f);
    n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    every = doc_line(doc, "every thread");
    for (int c = 0; c < THREAD_CLASSES; c++) {
        int calls[128];
        size_t nr = sandbox_calls((enum thread_class)c, calls, 128);
        char *line = doc_line(doc, rows[c]);

        ck_assert_uint_le(nr, 128);
        for (size_t i = 0; i < nr; i++) {
            char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, calls[i]);

            ck_assert_ptr_nonnull(name);
            ck_assert_msg(doc_names(line, name) || doc_names(every, name),
                          "docs/security.md does not list `%s` for the %s thread", name, rows[c]);
            free(name);
        }
        free(line);
    }
    {
        int calls[64];
        size_t nr = sandbox_user_net_calls(calls, 64);
        char *line = doc_line(doc, "event loop, with `--net user`");

        for (size_t i = 0; i < nr && i < 64; i++) {
            char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, calls[i]);

            ck_assert_msg(doc_names(line, name),
                          "docs/security.md does not list `%s` for --net user", name);
            free(name);
        }
        free(line);
    }
    free(every);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seccomp");
    TCase *tc = tcase_create("seccomp");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, each_class_does_its_work_and_dies_of_a_socket, 0, THREAD_CLASSES);
    tcase_add_loop_test(tc, a_started_thread_reports_too, 0, THREAD_CLASSES);
    tcase_add_test(tc, ioctls_pass_by_request_number);
    tcase_add_test(tc, memory_never_becomes_executable);
    tcase_add_test(tc, main_opens_read_only);
    tcase_add_test(tc, other_threads_open_nothing);
    tcase_add_test(tc, the_docs_list_every_call);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
