// SPDX-License-Identifier: MIT
#include "firmware/elf_load.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include "firmware/layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

int elf_is_elf(const void *file, size_t size)
{
    return size >= SELFMAG && !memcmp(file, ELFMAG, SELFMAG);
}

struct notes {
    int has_pvh;
    uint64_t pvh_entry;
    int has_kvmini;
    uint64_t kvmini_entry;
    uint64_t kvmini_flags;
};

/* Reads the notes kvmini understands from one PT_NOTE segment; libelf bounds-checks each note. */
static int scan_notes(Elf *elf, const GElf_Phdr *ph, size_t file_size, struct notes *out)
{
    Elf_Data *data;
    size_t off = 0, name_off, desc_off;
    GElf_Nhdr nh;

    if (ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset)
        return -EINVAL;
    data = elf_getdata_rawchunk(elf, ph->p_offset, ph->p_filesz, ELF_T_NHDR);
    if (!data)
        return -EINVAL;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        const char *name = (const char *)data->d_buf + name_off;
        const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;

        if (nh.n_namesz == 4 && !memcmp(name, "Xen", 4) && nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
            nh.n_descsz >= 4) {
            uint32_t e32;

            memcpy(&e32, desc, 4);
            out->has_pvh = 1;
            out->pvh_entry = e32;
        } else if (nh.n_namesz == sizeof(KVMINI_NOTE_NAME) &&
                   !memcmp(name, KVMINI_NOTE_NAME, sizeof(KVMINI_NOTE_NAME)) &&
                   nh.n_type == KVMINI_NOTE_ENTRY64 && nh.n_descsz >= 16) {
            memcpy(&out->kvmini_entry, desc, 8);
            memcpy(&out->kvmini_flags, desc + 8, 8);
            out->has_kvmini = 1;
        }
    }
    return 0;
}

static int add_segment(struct kernel_plan *plan, const GElf_Phdr *ph, size_t file_size,
                       uint64_t ram_end, char *err, size_t errlen)
{
    uint64_t file_end, mem_end;

    if (plan->nr_seg == KERNEL_MAX_SEGMENTS)
        return kernel_plan_reject(-EINVAL, err, errlen, "more than %d loadable segments",
                                  KERNEL_MAX_SEGMENTS);
    if (ph->p_filesz > ph->p_memsz)
        return kernel_plan_reject(-EINVAL, err, errlen,
                                  "a segment's file size exceeds its memory size");
    if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &file_end) || file_end > file_size)
        return kernel_plan_reject(-EINVAL, err, errlen,
                                  "a segment extends past the end of the file "
                                  "(truncated file?)");
    if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &mem_end))
        return kernel_plan_reject(-ERANGE, err, errlen, "a segment's address range wraps around");
    if (ph->p_paddr < LAYOUT_KERNEL_LOAD)
        return kernel_plan_reject(-ERANGE, err, errlen,
                                  "segment at 0x%llx overlaps the firmware area below 1 MiB",
                                  (unsigned long long)ph->p_paddr);
    if (mem_end > ram_end)
        return kernel_plan_reject(-ERANGE, err, errlen,
                                  "segment 0x%llx-0x%llx does not fit in guest RAM below 0x%llx; "
                                  "give more --mem",
                                  (unsigned long long)ph->p_paddr, (unsigned long long)mem_end,
                                  (unsigned long long)ram_end);
    for (unsigned int i = 0; i < plan->nr_seg; i++) {
        const struct kernel_segment *s = &plan->seg[i];

        if (ph->p_paddr < s->paddr + s->memsz && s->paddr < mem_end)
            return kernel_plan_reject(-EINVAL, err, errlen, "segments 0x%llx and 0x%llx overlap",
                                      (unsigned long long)s->paddr,
                                      (unsigned long long)ph->p_paddr);
    }
    plan->seg[plan->nr_seg++] = (struct kernel_segment){
        .paddr = ph->p_paddr,
        .offset = ph->p_offset,
        .filesz = ph->p_filesz,
        .memsz = ph->p_memsz,
    };
    if (!plan->lowest || ph->p_paddr < plan->lowest)
        plan->lowest = ph->p_paddr;
    if (mem_end > plan->highest)
        plan->highest = mem_end;
    return 0;
}

static int entry_is_loaded(const struct kernel_plan *plan, uint64_t entry)
{
    for (unsigned int i = 0; i < plan->nr_seg; i++)
        if (entry >= plan->seg[i].paddr && entry - plan->seg[i].paddr < plan->seg[i].memsz)
            return 1;
    return 0;
}

static int probe_elf(Elf *elf, size_t size, uint64_t ram_end, struct kernel_plan *plan, char *err,
                     size_t errlen)
{
    struct notes notes = { 0 };
    GElf_Ehdr eh;
    size_t phnum;
    int rc;

    if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 || !gelf_getehdr(elf, &eh))
        return kernel_plan_reject(-ENOEXEC, err, errlen, "not a 64-bit ELF file");
    if (eh.e_machine != EM_X86_64)
        return kernel_plan_reject(-ENOEXEC, err, errlen,
                                  "ELF for another architecture (e_machine %u), "
                                  "not x86-64",
                                  eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return kernel_plan_reject(-ENOEXEC, err, errlen, "ELF is not an executable (e_type %u)",
                                  eh.e_type);
    if (elf_getphdrnum(elf, &phnum) || phnum == 0)
        return kernel_plan_reject(-EINVAL, err, errlen, "ELF has no program headers");

    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;

        if (!gelf_getphdr(elf, (int)i, &ph))
            return kernel_plan_reject(-EINVAL, err, errlen, "program header %zu is unreadable", i);
        if (ph.p_type == PT_LOAD && ph.p_memsz) {
            rc = add_segment(plan, &ph, size, ram_end, err, errlen);
            if (rc)
                return rc;
        } else if (ph.p_type == PT_NOTE && scan_notes(elf, &ph, size, &notes)) {
            return kernel_plan_reject(-EINVAL, err, errlen, "malformed ELF note segment");
        }
    }
    if (!plan->nr_seg)
        return kernel_plan_reject(-EINVAL, err, errlen, "ELF has nothing to load");

    if (notes.has_kvmini) {
        plan->kind = ENTRY_64;
        plan->entry = notes.kvmini_entry;
        plan->note_flags = notes.kvmini_flags;
    } else if (notes.has_pvh) {
        plan->kind = ENTRY_PVH;
        plan->entry = notes.pvh_entry;
    } else {
        plan->kind = ENTRY_64;
        plan->entry = eh.e_entry;
    }
    if (!entry_is_loaded(plan, plan->entry))
        return kernel_plan_reject(-EINVAL, err, errlen,
                                  "entry point 0x%llx is outside the loaded segments",
                                  (unsigned long long)plan->entry);
    return 0;
}

int elf_probe(const void *file, size_t size, uint64_t ram_end, struct kernel_plan *plan, char *err,
              size_t errlen)
{
    Elf *elf;
    int rc;

    memset(plan, 0, sizeof(*plan));
    if (!elf_is_elf(file, size))
        return kernel_plan_reject(-ENOEXEC, err, errlen, "not an ELF file");
    if (elf_version(EV_CURRENT) == EV_NONE)
        return kernel_plan_reject(-EINVAL, err, errlen, "libelf is unusable: %s", elf_errmsg(-1));
    /* libelf only reads through this pointer with ELF_C_READ_MMAP semantics on memory. */
    elf = elf_memory((char *)file, size);
    if (!elf)
        return kernel_plan_reject(-EINVAL, err, errlen, "unreadable ELF: %s", elf_errmsg(-1));
    rc = probe_elf(elf, size, ram_end, plan, err, errlen);
    elf_end(elf);
    return rc;
}
