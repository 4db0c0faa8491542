// SPDX-License-Identifier: MIT
/*
 * Echoes what arrives on the console, upper-cased, with control characters shown as ^X, so a test
 * can check the whole input path: host terminal -> kvmini's console -> UART receive -> guest.
 * 'q' ends it with status 0.
 */
#include "guests/tiny/tiny.h"

#define UART_RBR    0
#define UART_LSR    5
#define UART_LSR_DR 0x01

static uint8_t uart_getc(void)
{
    while (!(inb(PORT_COM1 + UART_LSR) & UART_LSR_DR))
        cpu_relax();
    return inb(PORT_COM1 + UART_RBR);
}

int main(unsigned int cpu, const char *cmdline)
{
    (void)cmdline;
    if (cpu != 0)
        park();
    puts("echo: ready");
    for (;;) {
        uint8_t c = uart_getc();

        if (c == 'q') {
            puts("\necho: bye");
            return 0;
        }
        if (c == '\r' || c == '\n')
            serial_putc('\n');
        else if (c < 0x20 || c == 0x7f)
            printf("^%c", c ^ 0x40);
        else if (c >= 'a' && c <= 'z')
            serial_putc((char)(c - 'a' + 'A'));
        else
            serial_putc((char)c);
    }
}
