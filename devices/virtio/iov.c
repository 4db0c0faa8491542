// SPDX-License-Identifier: MIT
#include "devices/virtio/iov.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Copies up to len bytes between buf and the bytes of iov after the first skip, either way. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len,
                       bool into_iov)
{
    size_t done = 0;

    for (unsigned int i = 0; i < n && done < len; i++) {
        uint8_t *at;
        size_t take;

        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        at = (uint8_t *)iov[i].iov_base + skip;
        take = iov[i].iov_len - skip;
        if (take > len - done)
            take = len - done;
        if (into_iov)
            memcpy(at, (const uint8_t *)buf + done, take);
        else
            memcpy((uint8_t *)buf + done, at, take);
        done += take;
        skip = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
    return iov_copy(iov, n, skip, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
                    size_t len)
{
    return iov_copy(iov, n, skip, (void *)buf, len, true);
}

int iov_slice(const struct iovec *src, unsigned int n, size_t skip, size_t len, struct iovec *dst,
              unsigned int max)
{
    unsigned int out = 0;

    for (unsigned int i = 0; i < n && len; i++) {
        size_t avail, take;

        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        if (out == max)
            return -1;
        avail = src[i].iov_len - skip;
        take = avail < len ? avail : len;
        dst[out++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, take };
        len -= take;
        skip = 0;
    }
    return len ? -1 : (int)out;
}
