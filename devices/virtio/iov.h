/* SPDX-License-Identifier: MIT */
/* Scatter-gather lists of guest buffers (a chain's iovecs): copying in and out, slicing. */
#ifndef KVMINI_DEVICES_VIRTIO_IOV_H
#define KVMINI_DEVICES_VIRTIO_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copies up to len bytes from iov (skipping skip bytes) into buf; returns how many it copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);
/* Copies up to len bytes of buf into iov (skipping its first skip bytes); returns how many. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
                    size_t len);

/*
 * Points dst at the len bytes of src that follow the first skip bytes. -1 when they need more
 * than max buffers or src is shorter than skip + len; else how many buffers dst uses.
 */
int iov_slice(const struct iovec *src, unsigned int n, size_t skip, size_t len, struct iovec *dst,
              unsigned int max);

#endif
