/* SPDX-License-Identifier: MIT */
/*
 * Linker script of the tiny guests, run through the C preprocessor so the load address comes
 * from layout.h. The notes sit in the text segment and in their own PT_NOTE header: loaders
 * (kvmini, QEMU) look for them through program headers, not sections.
 */
#include "firmware/layout.h"

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(tiny_entry64)

PHDRS
{
    text PT_LOAD FLAGS(5);
    data PT_LOAD FLAGS(6);
    note PT_NOTE FLAGS(4);
}

SECTIONS
{
    . = LAYOUT_KERNEL_LOAD;
    .text : {
        *(.text.entry)
        *(.text .text.*)
    } :text
    .note : {
        *(.note.tiny)
    } :text :note
    .rodata : {
        *(.rodata .rodata.*)
    } :text

    . = ALIGN(4096);
    .data : {
        *(.data.pagetables)
        *(.data .data.*)
    } :data
    .bss : {
        *(.bss .bss.*)
        *(COMMON)
    } :data

    /DISCARD/ : {
        *(.comment)
        *(.eh_frame)
        *(.note.GNU-stack)
        *(.note.gnu.*)
    }
}
