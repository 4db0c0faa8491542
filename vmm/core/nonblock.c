// SPDX-License-Identifier: MIT
#include "vmm/core/nonblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

int reopen_nonblocking(int fd)
{
    char path[40];
    struct stat st;
    int nfd;

    if (fd < 0 || fstat(fd, &st) < 0)
        return -EBADF;
    if (S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode))
        return -EOPNOTSUPP;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    return nfd < 0 ? -errno : nfd;
}
