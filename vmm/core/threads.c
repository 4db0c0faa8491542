// SPDX-License-Identifier: MIT
#include "vmm/core/threads.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/core/fatal.h"

static const char *const class_names[THREAD_CLASSES] = {
    [THREAD_MAIN] = "main",
    [THREAD_VCPU] = "vCPU",
    [THREAD_LOOP] = "event loop",
    [THREAD_WORKER] = "disk worker",
    [THREAD_WATCHDOG] = "stop watchdog",
};

const char *thread_class_name(enum thread_class cls)
{
    return (unsigned int)cls < THREAD_CLASSES ? class_names[cls] : "unknown";
}

int thread_class_parse(const char *name)
{
    static const char *const short_names[THREAD_CLASSES] = {
        [THREAD_MAIN] = "main",     [THREAD_VCPU] = "vcpu",         [THREAD_LOOP] = "loop",
        [THREAD_WORKER] = "worker", [THREAD_WATCHDOG] = "watchdog",
    };

    for (int c = 0; c < THREAD_CLASSES; c++)
        if (!strcmp(name, short_names[c]))
            return c;
    return -EINVAL;
}

void threads_init(struct threads *ts)
{
    memset(ts, 0, sizeof(*ts));
    pthread_mutex_init(&ts->lock, NULL);
}

void threads_fini(struct threads *ts)
{
    pthread_mutex_destroy(&ts->lock);
}

void threads_set_guard(struct threads *ts, const struct thread_guard *guard)
{
    ts->guard = *guard;
}

/* The main thread and the watchdog are one of a kind: no number in their names. */
static bool numbered(enum thread_class cls)
{
    return cls == THREAD_VCPU || cls == THREAD_WORKER;
}

static void slot_name(const struct thread_slot *s, char *buf, size_t len)
{
    if (numbered(s->cls))
        snprintf(buf, len, "%s %u", thread_class_name(s->cls), s->index);
    else
        snprintf(buf, len, "%s", thread_class_name(s->cls));
}

int threads_enter(struct threads *ts, const struct thread_id *id, struct thread_slot **slot)
{
    struct thread_slot *s;
    char name[32];

    if (slot)
        *slot = NULL;
    if (!ts)
        return 0;
    pthread_mutex_lock(&ts->lock);
    if (ts->n == THREADS_MAX) {
        pthread_mutex_unlock(&ts->lock);
        return -ENOSPC;
    }
    s = &ts->slot[ts->n++];
    s->tid = gettid();
    s->cls = id->cls;
    s->index = id->index == THREAD_INDEX_NEXT ? ts->next_index[id->cls]++ : id->index;
    s->describe = id->describe;
    s->describe_ctx = id->describe_ctx;
    __atomic_store_n(&s->running, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ts->lock);

    slot_name(s, name, sizeof(name));
    fatal_name_thread(name);
    if (slot)
        *slot = s;
    return ts->guard.enter ? ts->guard.enter(ts->guard.ctx, id->cls) : 0;
}

void threads_leave(struct thread_slot *slot)
{
    if (slot)
        __atomic_store_n(&slot->running, false, __ATOMIC_RELEASE);
}

/* What a new thread needs from its creator, on the creator's stack until it has entered. */
struct start {
    struct threads *ts;
    struct thread_id id;
    void *(*fn)(void *);
    void *arg;
    sem_t entered;
    int rc;
};

static void *trampoline(void *p)
{
    struct start *st = p;
    void *(*fn)(void *) = st->fn;
    void *arg = st->arg;
    struct thread_slot *slot;
    int rc = threads_enter(st->ts, &st->id, &slot);
    void *ret;

    st->rc = rc;
    sem_post(&st->entered); /* st is gone after this */
    if (rc < 0) {
        threads_leave(slot);
        return NULL;
    }
    ret = fn(arg);
    threads_leave(slot);
    return ret;
}

int threads_start(struct threads *ts, pthread_t *thread, const struct thread_id *id,
                  const char *name, void *(*fn)(void *), void *arg)
{
    struct start st = { .ts = ts, .id = *id, .fn = fn, .arg = arg };
    sigset_t all, old;
    int rc;

    if (sem_init(&st.entered, 0, 0) < 0)
        return -errno;
    sigfillset(&all);
    fatal_signals_remove(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(thread, NULL, trampoline, &st);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        pthread_setname_np(*thread, name);
        while (sem_wait(&st.entered) < 0 && errno == EINTR)
            ;
        rc = st.rc;
        if (rc < 0)
            pthread_join(*thread, NULL);
    }
    sem_destroy(&st.entered);
    return rc;
}

/* Reads /proc/self/task/TID/NAME into buf, first line only; "" when it cannot. */
static void read_task_file(pid_t tid, const char *name, char *buf, size_t len)
{
    char path[64];
    ssize_t n = -1;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, len - 1);
        close(fd);
    }
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/*
 * Where the kernel has the thread: "in system call 17 (pread64), waiting in folio_wait_bit", or
 * "running in user space". /proc's syscall file starts with the number, "running", or -1.
 */
static void kernel_view(pid_t tid, char *buf, size_t len)
{
    char sys[256], wchan[128];
    const char *name;
    long nr;

    read_task_file(tid, "syscall", sys, sizeof(sys));
    read_task_file(tid, "wchan", wchan, sizeof(wchan));
    if (sscanf(sys, "%ld", &nr) != 1 || nr < 0) {
        snprintf(buf, len, "%s", strncmp(sys, "running", 7) ? "in user space" : "running");
        return;
    }
    name = fatal_syscall_name(nr);
    snprintf(buf, len, "in system call %ld%s%s%s%s%s", nr, name ? " (" : "", name ? name : "",
             name ? ")" : "", wchan[0] && strcmp(wchan, "0") ? ", waiting in " : "",
             wchan[0] && strcmp(wchan, "0") ? wchan : "");
}

unsigned int threads_report_running(struct threads *ts, int fd)
{
    unsigned int count = 0, n;

    /* Slots are written once, under the lock, before their count includes them. */
    pthread_mutex_lock(&ts->lock);
    n = ts->n;
    pthread_mutex_unlock(&ts->lock);
    for (unsigned int i = 0; i < n; i++) {
        const struct thread_slot *s = &ts->slot[i];
        char name[32], doing[160] = "", where[320], line[640];
        int len;

        if (!__atomic_load_n(&s->running, __ATOMIC_ACQUIRE) || s->tid == gettid())
            continue; /* done, or the reporter itself */
        slot_name(s, name, sizeof(name));
        if (s->describe)
            s->describe(s->describe_ctx, doing, sizeof(doing));
        kernel_view(s->tid, where, sizeof(where));
        len = snprintf(line, sizeof(line), "kvmini: error:   %s (thread %d)%s%s: %s\r\n", name,
                       (int)s->tid, doing[0] ? ", " : "", doing, where);
        if (len > 0 &&
            write(fd, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1) < 0)
            break;
        count++;
    }
    return count;
}
