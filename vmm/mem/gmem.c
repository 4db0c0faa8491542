// SPDX-License-Identifier: MIT
#include "vmm/mem/gmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "firmware/layout.h"

static void add_region(struct gmem *m, uint64_t gpa, uint8_t *host, uint64_t size)
{
    m->regions[m->nr++] = (struct gmem_region){ .gpa = gpa, .size = size, .host = host };
    m->ram_size += size;
}

int gmem_init(struct gmem *m, uint64_t ram_size)
{
    uint64_t low = ram_size, high = 0;
    void *host;

    memset(m, 0, sizeof(*m));
    if (!ram_size || (ram_size & 0xfff) || ram_size > (1ULL << 46))
        return -EINVAL;
    if (low > LAYOUT_MMIO_HOLE_START) {
        low = LAYOUT_MMIO_HOLE_START;
        high = ram_size - low;
    }

    /*
     * NORESERVE: the guest pays for the pages it touches, not the size it was given, so a large
     * --mem costs nothing until used (and the VMM-overhead benchmark measures what is real).
     */
    host = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    if (host == MAP_FAILED)
        return -errno;
    /* Guest memory in a core dump of kvmini is noise at best and a leak of guest data at worst. */
    madvise(host, ram_size, MADV_DONTDUMP);

    m->mapping = host;
    m->mapping_size = ram_size;
    add_region(m, 0, host, low);
    if (high)
        add_region(m, LAYOUT_MMIO_HOLE_END, (uint8_t *)host + low, high);
    return 0;
}

void gmem_init_fixed(struct gmem *m, uint64_t gpa, void *host, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    add_region(m, gpa, host, size);
}

void gmem_fini(struct gmem *m)
{
    if (m->mapping)
        munmap(m->mapping, m->mapping_size);
    memset(m, 0, sizeof(*m));
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end))
        return NULL;
    for (unsigned int i = 0; i < m->nr; i++) {
        const struct gmem_region *r = &m->regions[i];

        if (gpa >= r->gpa && end <= r->gpa + r->size && (len || gpa < r->gpa + r->size))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len)
{
    const void *src = gmem_ptr(m, gpa, len);

    if (!src)
        return -EFAULT;
    memcpy(dst, src, len);
    return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len)
{
    void *dst = gmem_ptr(m, gpa, len);

    if (!dst)
        return -EFAULT;
    memcpy(dst, src, len);
    return 0;
}

uint64_t gmem_low_end(const struct gmem *m)
{
    return m->nr ? m->regions[0].gpa + m->regions[0].size : 0;
}
