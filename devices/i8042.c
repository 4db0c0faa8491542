// SPDX-License-Identifier: MIT
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/devutil.h"

#define STR_OBF      0x01 /* output buffer full: a byte waits at the data port */
#define STR_SYS      0x04 /* mirrors CTR_SYS: "POST passed" */
#define STR_CMD      0x08 /* the last write went to the command port */
#define STR_UNLOCKED 0x10 /* keyboard not inhibited by the key lock */
#define STR_AUXDATA  0x20 /* the byte in the output buffer came from the aux port */

#define CTR_KBDINT 0x01
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define OUTPORT_RESET 0x01 /* active low: clearing it resets the CPU */
#define OUTPORT_A20   0x02

enum {
    CMD_READ_CTR = 0x20,
    CMD_WRITE_CTR = 0x60,
    CMD_AUX_DISABLE = 0xa7,
    CMD_AUX_ENABLE = 0xa8,
    CMD_AUX_TEST = 0xa9,
    CMD_SELF_TEST = 0xaa,
    CMD_KBD_TEST = 0xab,
    CMD_KBD_DISABLE = 0xad,
    CMD_KBD_ENABLE = 0xae,
    CMD_READ_OUTPORT = 0xd0,
    CMD_WRITE_OUTPORT = 0xd1,
    CMD_WRITE_KBD_OBUF = 0xd2,
    CMD_WRITE_AUX_OBUF = 0xd3,
    CMD_WRITE_AUX = 0xd4,
    CMD_PULSE_BASE = 0xf0, /* 0xf0..0xff: pulse the output port bits that are 0 in the low nibble */
};

struct i8042 {
    pthread_mutex_t lock;
    struct stopper stop;
    uint8_t ctr;
    uint8_t outport;
    uint8_t obuf;
    bool obf, obuf_aux;
    bool last_was_cmd;
    uint8_t pending; /* a command still waiting for its data byte, or 0 */
};

static void i8042_put(struct i8042 *k, uint8_t v, bool aux)
{
    k->obuf = v;
    k->obf = true;
    k->obuf_aux = aux;
}

static uint8_t i8042_status(const struct i8042 *k)
{
    return (k->obf ? STR_OBF : 0) | (k->ctr & CTR_SYS ? STR_SYS : 0) |
           (k->last_was_cmd ? STR_CMD : 0) | STR_UNLOCKED |
           (k->obf && k->obuf_aux ? STR_AUXDATA : 0);
}

/* Returns true when the command asks for a reset. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
    k->pending = 0;
    if (cmd >= CMD_PULSE_BASE)
        return !(cmd & OUTPORT_RESET);

    switch (cmd) {
    case CMD_READ_CTR:
        i8042_put(k, k->ctr, false);
        break;
    case CMD_WRITE_CTR:
    case CMD_WRITE_OUTPORT:
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF:
    case CMD_WRITE_AUX:
        k->pending = cmd;
        break;
    case CMD_AUX_DISABLE:
        k->ctr |= CTR_AUXDIS;
        break;
    case CMD_AUX_ENABLE:
        k->ctr &= ~CTR_AUXDIS;
        break;
    case CMD_AUX_TEST:
    case CMD_KBD_TEST:
        i8042_put(k, 0x00, false); /* "no clock or data line stuck" */
        break;
    case CMD_SELF_TEST:
        i8042_put(k, 0x55, false);
        break;
    case CMD_KBD_DISABLE:
        k->ctr |= CTR_KBDDIS;
        break;
    case CMD_KBD_ENABLE:
        k->ctr &= ~CTR_KBDDIS;
        break;
    case CMD_READ_OUTPORT:
        i8042_put(k, k->outport, false);
        break;
    default:
        /* Other RAM reads (0x21..0x3f) answer 0; the rest is ignored, as Linux never sends it. */
        if (cmd > CMD_READ_CTR && cmd < 0x40)
            i8042_put(k, 0, false);
        break;
    }
    return false;
}

/* Returns true when the byte asks for a reset. */
static bool i8042_data(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->pending;

    k->pending = 0;
    switch (cmd) {
    case CMD_WRITE_CTR:
        k->ctr = v;
        break;
    case CMD_WRITE_OUTPORT:
        k->outport = v;
        return !(v & OUTPORT_RESET);
    case CMD_WRITE_KBD_OBUF:
        i8042_put(k, v, false);
        break;
    case CMD_WRITE_AUX_OBUF:
        i8042_put(k, v, true);
        break;
    default:
        /* For the keyboard or the mouse, neither of which exists yet. */
        break;
    }
    return false;
}

static void i8042_io(struct i8042 *k, bool cmd_port, void *data, uint32_t len, bool is_write)
{
    bool reset = false;
    uint8_t v = 0;

    pthread_mutex_lock(&k->lock);
    if (is_write) {
        k->last_was_cmd = cmd_port;
        if (cmd_port)
            reset = i8042_command(k, (uint8_t)io_load(data, len));
        else
            reset = i8042_data(k, (uint8_t)io_load(data, len));
    } else if (cmd_port) {
        v = i8042_status(k);
    } else {
        /* An empty buffer repeats its last byte, as the real part does. */
        v = k->obuf;
        k->obf = false;
        k->obuf_aux = false;
    }
    pthread_mutex_unlock(&k->lock);

    if (!is_write)
        io_store(data, len, v);
    /* Outside the lock: the stopper may kick vCPUs, one of which could be waiting on it. */
    if (reset)
        stopper_request(&k->stop, STOP_RESET, 0);
}

static void i8042_data_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    i8042_io(dev, false, data, len, is_write);
}

static void i8042_cmd_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    i8042_io(dev, true, data, len, is_write);
}

int i8042_create(struct i8042 **out, struct bus *pio, const struct i8042_ports *ports,
                 const struct stopper *stop)
{
    struct i8042 *k;
    int rc;

    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    rc = -pthread_mutex_init(&k->lock, NULL);
    if (rc)
        goto err_free;
    if (stop)
        k->stop = *stop;
    /* What a BIOS leaves: keyboard interrupt on, POST passed, scancode translation on. */
    k->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE;
    k->outport = OUTPORT_RESET | OUTPORT_A20;

    rc = bus_add(pio, ports->data, 1, i8042_data_io, k, "i8042-data");
    if (rc)
        goto err_mutex;
    rc = bus_add(pio, ports->cmd, 1, i8042_cmd_io, k, "i8042-cmd");
    if (rc)
        goto err_del_data;
    *out = k;
    return 0;

err_del_data:
    bus_del(pio, ports->data);
err_mutex:
    pthread_mutex_destroy(&k->lock);
err_free:
    free(k);
    return rc;
}

void i8042_destroy(struct i8042 *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    free(k);
}
