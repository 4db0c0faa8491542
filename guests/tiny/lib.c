// SPDX-License-Identifier: MIT
/* The CPL3 library: serial output, printf, locks, exit and command-line parsing. */
#include "guests/tiny/tiny.h"

#define UART_LSR      5
#define UART_LSR_THRE 0x20

spinlock_t print_lock;

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    while (n--)
        *d++ = *s++;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

unsigned int cpu_count(void)
{
    unsigned int n = (cpuid(1, 0).ebx >> 16) & 0xff;

    return n ? n : 1;
}

void spin_lock(spinlock_t *l)
{
    while (!spin_trylock(l))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            cpu_relax();
}

int spin_trylock(spinlock_t *l)
{
    return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static void uart_put_raw(uint8_t c)
{
    /* Bounded, so a UART that never reports an empty THR slows output down but cannot hang it. */
    for (int i = 0; i < 100000 && !(inb(PORT_COM1 + UART_LSR) & UART_LSR_THRE); i++)
        cpu_relax();
    outb(PORT_COM1, c);
}

void serial_putc(char c)
{
    /* A terminal in raw mode does not return the carriage on its own: send CR LF, as a tty does. */
    if (c == '\n')
        uart_put_raw('\r');
    uart_put_raw((uint8_t)c);
}

void serial_write(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

int puts(const char *s)
{
    spin_lock(&print_lock);
    serial_write(s);
    serial_putc('\n');
    spin_unlock(&print_lock);
    return 0;
}

static void emit_pad(char c, int n, int *count)
{
    for (; n > 0; n--, (*count)++)
        serial_putc(c);
}

/* width > 0 pads on the left (with pad), width < 0 pads on the right with spaces. */
static void emit_num(uint64_t v, unsigned int base, int neg, int width, char pad, int *count)
{
    char digits[24];
    int n = 0, len;

    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    len = n + neg;
    if (neg && pad == '0')
        serial_putc('-');
    emit_pad(pad, width - len, count);
    if (neg && pad != '0')
        serial_putc('-');
    *count += len;
    while (n)
        serial_putc(digits[--n]);
    emit_pad(' ', -width - len, count);
}

static int vprintf_unlocked(const char *fmt, va_list ap)
{
    int count = 0;

    for (; *fmt; fmt++) {
        int width = 0, longs = 0, left = 0;
        char pad = ' ';
        const char *s;
        uint64_t u;
        int64_t d;

        if (*fmt != '%') {
            serial_putc(*fmt);
            count++;
            continue;
        }
        for (fmt++; *fmt == '0' || *fmt == '-'; fmt++) {
            if (*fmt == '-')
                left = 1;
            else
                pad = '0';
        }
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        if (left) {
            width = -width;
            pad = ' ';
        }
        for (; *fmt == 'l' || *fmt == 'z'; fmt++)
            longs++;
        switch (*fmt) {
        case 'd':
        case 'i':
            d = longs ? va_arg(ap, long) : va_arg(ap, int);
            emit_num(d < 0 ? -(uint64_t)d : (uint64_t)d, 10, d < 0, width, pad, &count);
            break;
        case 'u':
        case 'x':
            u = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            emit_num(u, *fmt == 'u' ? 10 : 16, 0, width, pad, &count);
            break;
        case 'p':
            serial_write("0x");
            count += 2;
            emit_num((uintptr_t)va_arg(ap, void *), 16, 0, width, pad, &count);
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            emit_pad(' ', width - (int)strlen(s), &count);
            serial_write(s);
            count += (int)strlen(s);
            emit_pad(' ', -width - (int)strlen(s), &count);
            break;
        case 'c':
            serial_putc((char)va_arg(ap, int));
            count++;
            break;
        case '%':
            serial_putc('%');
            count++;
            break;
        default:
            /* Show the bad conversion rather than guess at its argument. */
            serial_putc('%');
            count++;
            if (!*fmt)
                return count;
            serial_putc(*fmt);
            count++;
        }
    }
    return count;
}

int printf_unlocked(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf_unlocked(fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    spin_lock(&print_lock);
    n = vprintf_unlocked(fmt, ap);
    spin_unlock(&print_lock);
    va_end(ap);
    return n;
}

void park(void)
{
    for (;;)
        cpu_relax();
}

void exit(int v)
{
    outb(PORT_DEBUG_EXIT, (uint8_t)v);
    park();
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);
    const char *p = cmdline;

    if (!p || !klen)
        return 0;
    while (*p) {
        const char *word, *val;
        size_t n;

        while (is_space(*p))
            p++;
        word = p;
        while (*p && !is_space(*p))
            p++;
        n = (size_t)(p - word);
        if (n < klen || memcmp(word, key, klen) || (n > klen && word[klen] != '='))
            continue;
        val = n > klen ? word + klen + 1 : p;
        n = (size_t)(p - val);
        if (len) {
            if (n > len - 1)
                n = len - 1;
            memcpy(buf, val, n);
            buf[n] = '\0';
        }
        return 1;
    }
    return 0;
}

int parse_uint(const char *s, uint64_t *out)
{
    unsigned int base = 10;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -1;
    for (; *s; s++) {
        unsigned int digit;

        if (*s >= '0' && *s <= '9')
            digit = (unsigned int)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            digit = (unsigned int)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            digit = (unsigned int)(*s - 'A' + 10);
        else
            return -1;
        if (v > (UINT64_MAX - digit) / base)
            return -1;
        v = v * base + digit;
    }
    *out = v;
    return 0;
}

uint64_t cmdline_uint(const char *cmdline, const char *key, uint64_t def)
{
    char buf[32];
    uint64_t v;

    if (!cmdline_get(cmdline, key, buf, sizeof(buf)) || parse_uint(buf, &v))
        return def;
    return v;
}
