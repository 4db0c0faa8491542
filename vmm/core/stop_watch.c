// SPDX-License-Identifier: MIT
#include "vmm/core/stop_watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/core/fatal.h"
#include "vmm/core/log.h"
#include "vmm/core/nonblock.h"
#include "vmm/core/stop.h"

static void say(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) < 0) {
        /* A stalled or closed stderr: the exit status still tells. */
    }
}

static void give_up(struct stop_watch *w)
{
    char line[256];

    snprintf(line, sizeof(line),
             "\r\nkvmini: error: the VM did not stop within %u s of the stop request; still "
             "running:\r\n",
             w->seconds);
    say(w->report_fd, line);
    threads_report_running(w->threads, w->report_fd);
    say(w->report_fd,
        "kvmini: error: exiting without them (a host disk that hangs keeps its "
        "thread until the disk answers); KVMINI_STOP_SECONDS sets how long to wait\r\n");
    fatal_restore_tty();
    /* exit_group itself: _exit() may be intercepted (ThreadSanitizer reports at exit, to the very
     * stderr that may be what is stuck). */
    syscall(SYS_exit_group, EXIT_STOP_STUCK);
}

static void *watch_thread(void *arg)
{
    struct stop_watch *w = arg;
    struct timespec deadline;
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    while (!w->armed && !w->ended)
        pthread_cond_wait(&w->cond, &w->lock);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += w->seconds;
    while (!w->ended && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
    if (!w->ended)
        give_up(w);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int stop_watch_start(struct stop_watch *w, struct threads *threads, unsigned int seconds)
{
    const struct thread_id id = { .cls = THREAD_WATCHDOG };
    pthread_condattr_t attr;
    int rc;

    memset(w, 0, sizeof(*w));
    w->threads = threads;
    w->seconds = seconds ? seconds : STOP_WATCH_SECONDS;
    w->report_fd = reopen_nonblocking(STDERR_FILENO);
    if (w->report_fd < 0)
        w->report_fd = STDERR_FILENO;
    pthread_mutex_init(&w->lock, NULL);
    /* A clock the host's time of day cannot move. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    rc = threads_start(threads, &w->thread, &id, "kvmini-watch", watch_thread, w);
    if (rc < 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        if (w->report_fd != STDERR_FILENO)
            close(w->report_fd);
        return rc;
    }
    w->started = true;
    return 0;
}

void stop_watch_arm(struct stop_watch *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->armed = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void stop_watch_end(struct stop_watch *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->ended = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    if (w->report_fd != STDERR_FILENO)
        close(w->report_fd);
    w->started = false;
}
