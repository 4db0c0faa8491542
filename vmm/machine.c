// SPDX-License-Identifier: MIT
#include "vmm/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
#include "devices/console.h"
#include "devices/debugdev.h"
#include "devices/i8042.h"
#include "devices/net/slirp.h"
#include "devices/net/tap.h"
#include "devices/ioapic.h"
#include "devices/pci/pci.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_pci.h"
#include "firmware/acpi.h"
#include "firmware/boot.h"
#include "firmware/layout.h"
#include "firmware/mptable.h"
#include "vmm/core/log.h"
#include "vmm/core/pvm.h"
#include "vmm/seccomp.h"

_Static_assert(KVMINI_MAX_VCPUS <= ACPI_MAX_CPUS && KVMINI_MAX_VCPUS <= MPTABLE_MAX_CPUS,
               "the ACPI and MP tables must describe every vCPU kvmini allows");

/*
 * The machine's map: where each device with more than one range sits. The numbers are
 * firmware/layout.h's, which the ACPI and MP tables describe to the guest too.
 */
static const struct i8042_ports i8042_ports = { .data = PORT_I8042_DATA, .cmd = PORT_I8042_CMD };
static const struct acpi_pm_ports acpi_pm_ports = {
    .pm1a_evt = PORT_ACPI_PM1A_EVT,
    .pm1a_cnt = PORT_ACPI_PM1A_CNT,
    .reset = PORT_ACPI_RESET,
};
static const struct pci_bus_addrs pci_bus_addrs = {
    .config_port = PORT_PCI_CONFIG_ADDR,
    .io_base = PORT_PCI_IO_BASE,
    .io_size = PORT_PCI_IO_SIZE,
    .mmio_base = LAYOUT_PCI_MMIO_BASE,
    .mmio_size = LAYOUT_PCI_MMIO_SIZE,
};
static const struct debugdev_addrs debugdev_addrs = {
    .exit_port = PORT_DEBUG_EXIT,
    .post_code_port = PORT_POST_CODE,
    .boot_timer_port = PORT_BOOT_TIMER,
    .mmio_base = LAYOUT_DEBUG_MMIO,
    .mmio_size = LAYOUT_DEBUG_MMIO_SIZE,
};

/* Glue between the console and the serial port, neither of which knows the other. */
static size_t to_console(void *ctx, const void *buf, size_t len)
{
    return console_write(ctx, buf, len);
}

static size_t console_room(void *ctx)
{
    return console_output_room(ctx);
}

static void console_has_room(void *ctx)
{
    serial_output_room(ctx);
}

static void serial_has_room(void *ctx)
{
    console_rx_ready(ctx);
}

static int to_serial(void *ctx, const uint8_t *buf, size_t len)
{
    return serial_receive(ctx, buf, len);
}

/* vm_add_device() takes void destructors; each device's own takes its own type. */
#define DEVICE_DESTRUCTOR(type)                                                                    \
    static void destroy_##type(void *dev)                                                          \
    {                                                                                              \
        type##_destroy(dev);                                                                       \
    }
DEVICE_DESTRUCTOR(console)
DEVICE_DESTRUCTOR(serial)
DEVICE_DESTRUCTOR(debugdev)
DEVICE_DESTRUCTOR(i8042)
DEVICE_DESTRUCTOR(rtc)
DEVICE_DESTRUCTOR(ioapic)
DEVICE_DESTRUCTOR(acpi_pm)
DEVICE_DESTRUCTOR(pvpanic)
DEVICE_DESTRUCTOR(pci_bus)
DEVICE_DESTRUCTOR(blk)
DEVICE_DESTRUCTOR(virtio_pci)
DEVICE_DESTRUCTOR(net)
DEVICE_DESTRUCTOR(vcon)

/* Hands a created device to the VM for teardown; destroys it right away if that fails. */
static int adopt(struct vm *vm, const char *name, void *dev, void (*destroy)(void *dev))
{
    int rc = vm_add_device(vm, name, dev, destroy);

    if (rc)
        destroy(dev);
    return rc;
}

static struct irq_line irq_line(struct vm *vm, uint32_t gsi)
{
    return (struct irq_line){ .sink = &vm->irq, .gsi = gsi };
}

static void ioapic_eoi_hook(void *ctx, uint8_t vector)
{
    ioapic_eoi(ctx, vector);
}

static int add_interrupt_controller(struct machine *m)
{
    struct vm *vm = &m->vm;
    struct ioapic *ioapic;
    int rc;

    if (!vm->split_irqchip)
        return 0; /* KVM emulates the IOAPIC itself */
    if ((rc = ioapic_create(&ioapic, &vm->mmio, LAYOUT_IOAPIC_BASE, &vm->msi, &vm->pin_routes)) ||
        (rc = adopt(vm, "ioapic", ioapic, destroy_ioapic)))
        return rc;
    vm->irq = *ioapic_irq_sink(ioapic);
    vm->eoi = (struct eoi_listener){ .eoi = ioapic_eoi_hook, .ctx = ioapic };
    return 0;
}

/* --console virtio: typed input goes to hvc0; output room to hvc0 and to the UART (boot log). */
static size_t console_to_host(void *ctx, const void *buf, size_t len)
{
    return console_write(ctx, buf, len);
}

static void vcon_wants_input(void *ctx)
{
    console_rx_ready(ctx);
}

static int to_vcon(void *ctx, const uint8_t *buf, size_t len)
{
    return vcon_receive(((struct machine *)ctx)->vcon, buf, len);
}

static void vcon_and_serial_have_room(void *ctx)
{
    struct machine *m = ctx;

    vcon_output_room(m->vcon);
    serial_output_room(m->serial);
}

static void vcon_resized(void *ctx, uint16_t cols, uint16_t rows)
{
    vcon_resize(((struct machine *)ctx)->vcon, cols, rows);
}

static int add_virtio_console(struct machine *m)
{
    const struct vcon_host host = { .write = console_to_host,
                                    .rx_ready = vcon_wants_input,
                                    .ctx = m->console };
    struct console_input in = { .receive = to_vcon,
                                .output_room = vcon_and_serial_have_room,
                                .resize = vcon_resized,
                                .ctx = m };
    struct vm *vm = &m->vm;
    struct virtio_pci *vp;
    uint16_t cols = 80, rows = 25;
    bool sized = console_size(m->console, &cols, &rows);
    int rc;

    if ((rc = vcon_create(&m->vcon, &vm->mem, &host, sized, cols, rows)) ||
        (rc = adopt(vm, "virtio-console", m->vcon, destroy_vcon)) ||
        (rc = virtio_pci_create(&vp, m->pci, vcon_vdev(m->vcon), &vm->irq_routes, &vm->loop)) ||
        (rc = adopt(vm, "virtio-pci", vp, destroy_virtio_pci)))
        return rc;
    return console_attach(m->console, &in);
}

static int add_console_and_serial(struct machine *m, const struct vm_config *cfg)
{
    struct vm *vm = &m->vm;
    struct console *con;
    struct serial *serial;
    struct serial_output out;
    struct console_input in;
    int rc;

    if ((rc = console_create(&con, &vm->loop, &vm->stopper, STDIN_FILENO, STDOUT_FILENO)) ||
        (rc = adopt(vm, "console", con, destroy_console)))
        return rc;
    m->console = con;

    out = (struct serial_output){
        .write = to_console, .room = console_room, .rx_ready = serial_has_room, .ctx = con
    };
    if ((rc = serial_create(&serial, &vm->pio, PORT_COM1, irq_line(vm, GSI_COM1), &out)) ||
        (rc = adopt(vm, "serial", serial, destroy_serial)))
        return rc;
    m->serial = serial;
    if (cfg->console_virtio)
        return add_virtio_console(m);
    in = (struct console_input){ .receive = to_serial,
                                 .output_room = console_has_room,
                                 .ctx = serial };
    return console_attach(con, &in);
}

/* What a guest needs to power off, reboot and report a panic without hanging kvmini. */
static int add_power_devices(struct machine *m)
{
    struct vm *vm = &m->vm;
    struct i8042 *kbc;
    struct acpi_pm *pm;
    struct pvpanic *panic;
    int rc;

    if ((rc = i8042_create(&kbc, &vm->pio, &i8042_ports, &vm->stopper)) ||
        (rc = adopt(vm, "i8042", kbc, destroy_i8042)) ||
        (rc = acpi_pm_create(&pm, &vm->pio, &acpi_pm_ports, &vm->stopper)) ||
        (rc = adopt(vm, "acpi-pm", pm, destroy_acpi_pm)) ||
        (rc = pvpanic_create(&panic, &vm->pio, PORT_PVPANIC, &vm->stopper)) ||
        (rc = adopt(vm, "pvpanic", panic, destroy_pvpanic)))
        return rc;
    return 0;
}

int machine_open_disks(struct machine_disks *disks, const struct vm_config *cfg)
{
    char err[256];

    memset(disks, 0, sizeof(*disks));
    for (unsigned int i = 0; i < cfg->nr_disks; i++) {
        if (disk_open(&disks->disk[i], &cfg->disks[i], err, sizeof(err))) {
            log_error("%s", err);
            machine_close_disks(disks);
            return EXIT_NO_FILE;
        }
        disks->n = i + 1;
    }
    return 0;
}

void machine_close_disks(struct machine_disks *disks)
{
    for (unsigned int i = 0; i < disks->n; i++)
        disk_close(&disks->disk[i]);
    disks->n = 0;
}

/* One virtio-blk per disk, each behind its own virtio-pci function (slots in --disk order). */
static int add_disks(struct machine *m, struct machine_disks *disks)
{
    struct vm *vm = &m->vm;
    struct virtio_pci *vp;
    struct blk *b;
    int rc;

    for (unsigned int i = 0; i < disks->n; i++) {
        if ((rc = blk_create(&b, &disks->disk[i], &vm->mem, &vm->loop)) ||
            (rc = adopt(vm, "virtio-blk", b, destroy_blk)))
            return rc;
        m->blk[m->nr_blk++] = b;
        if ((rc = virtio_pci_create(&vp, m->pci, blk_vdev(b), &vm->irq_routes, &vm->loop)) ||
            (rc = adopt(vm, "virtio-pci", vp, destroy_virtio_pci)))
            return rc;
    }
    return 0;
}

int machine_open_nets(struct machine_nets *nets, const struct vm_config *cfg)
{
    char err[256];

    memset(nets, 0, sizeof(*nets));
    for (unsigned int i = 0; i < cfg->nr_nets; i++) {
        const struct net_options *o = &cfg->nets[i];
        int rc = o->kind == NET_TAP ? net_tap_create(&nets->be[i], o->tap, err, sizeof(err))
                                    : net_user_create(&nets->be[i], &o->user, err, sizeof(err));

        if (rc) {
            log_error("%s", err);
            machine_close_nets(nets);
            return EXIT_NO_NET;
        }
        nets->n = i + 1;
    }
    return 0;
}

void machine_close_nets(struct machine_nets *nets)
{
    for (unsigned int i = 0; i < nets->n; i++)
        if (nets->be[i])
            nets->be[i]->ops->destroy(nets->be[i]);
    nets->n = 0;
}

/* One virtio-net per --net, each behind its own virtio-pci function, after the disks. */
static int add_nics(struct machine *m, const struct vm_config *cfg, struct machine_nets *nets)
{
    struct vm *vm = &m->vm;
    struct virtio_pci *vp;
    uint8_t mac[6];
    struct net *n;
    int rc;

    for (unsigned int i = 0; i < nets->n; i++) {
        net_mac(&cfg->nets[i], i, mac);
        if ((rc = net_create(&n, nets->be[i], mac, &vm->mem, &vm->loop)))
            return rc;
        nets->be[i] = NULL; /* the NIC's now */
        if ((rc = adopt(vm, "virtio-net", n, destroy_net)))
            return rc;
        m->nic[m->nr_nics++] = n;
        if ((rc = virtio_pci_create(&vp, m->pci, net_vdev(n), &vm->irq_routes, &vm->loop)) ||
            (rc = adopt(vm, "virtio-pci", vp, destroy_virtio_pci)))
            return rc;
    }
    return 0;
}

static int add_devices(struct machine *m, const struct vm_config *cfg, struct machine_disks *disks,
                       struct machine_nets *nets)
{
    struct vm *vm = &m->vm;
    struct debugdev *dbg;
    struct rtc *rtc;
    int rc;

    if ((rc = add_interrupt_controller(m)))
        return rc;
    /* After the IOAPIC: the bus keeps a pointer to the VM's irq sink for INTx. */
    if ((rc = pci_bus_create(&m->pci, &vm->pio, &vm->mmio, &pci_bus_addrs, &vm->irq, &vm->msi,
                             &vm->irq_routes)) ||
        (rc = adopt(vm, "pci", m->pci, destroy_pci_bus)))
        return rc;
    if ((rc = add_console_and_serial(m, cfg)) || (rc = add_power_devices(m)))
        return rc;
    if ((rc = debugdev_create(&dbg, &vm->pio, &vm->mmio, &debugdev_addrs, &vm->stopper,
                              m->started_ns)) ||
        (rc = adopt(vm, "debug", dbg, destroy_debugdev)))
        return rc;
    m->debug = dbg;
    if ((rc = rtc_create(&rtc, &vm->pio, PORT_RTC_INDEX, irq_line(vm, GSI_RTC), NULL, NULL)) ||
        (rc = adopt(vm, "rtc", rtc, destroy_rtc)))
        return rc;
    if ((rc = add_disks(m, disks)))
        return rc;
    return add_nics(m, cfg, nets);
}

/* ACPI for Linux (and any OS that reads it), the MP table for those that boot with acpi=off. */
static int write_firmware_tables(struct machine *m, uint64_t *rsdp)
{
    struct acpi_config acpi = { .nr_cpus = m->vm.nr_vcpus, .cmos_rtc = true, .pci = true };
    int rc;

    if ((rc = acpi_write_tables(&m->vm.mem, &acpi, rsdp)))
        return rc;
    return mptable_write(&m->vm.mem, m->vm.nr_vcpus);
}

static int load_guest(struct machine *m, const struct vm_config *cfg, struct boot_files *files)
{
    struct vm *vm = &m->vm;
    const struct kernel_plan *plan = &files->plan;
    struct boot_info info = {
        .cmdline = cfg->append,
        .initrd_addr = files->initrd_addr,
        .initrd_size = files->initrd.size,
        .setup_header = plan->setup_header,
        .setup_header_len = plan->setup_header_len,
    };
    int rc;

    if (kernel_plan_load(plan, files->kernel.data, &vm->mem)) {
        log_error("the kernel does not fit in guest memory; give more --mem");
        return EXIT_BAD_IMAGE;
    }
    if ((rc = boot_files_load_initrd(files, &vm->mem)))
        return rc;
    if ((rc = write_firmware_tables(m, &info.rsdp_addr))) {
        log_error("cannot write the ACPI and MP tables: %s", strerror(-rc));
        return EXIT_VMM_ERROR;
    }
    if ((rc = boot_write_tables(&vm->mem, &info))) {
        log_error("cannot write the boot tables: %s", strerror(-rc));
        return EXIT_VMM_ERROR;
    }

    for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];

        /*
         * Guests that carry the KVMINI all-vCPUs flag get every vCPU at the entry at once (no
         * INIT/SIPI, which PVM hosts do not deliver to tiny guests); others start the BSP only.
         */
        if (i > 0 && !(plan->note_flags & KVMINI_NOTE_F_ALL_VCPUS)) {
            v->wait_for_sipi = true;
        } else if (plan->kind == ENTRY_PVH) {
            boot_state_pvh(&v->boot_regs, &v->boot_sregs, plan->entry);
        } else {
            boot_state_entry64(&v->boot_regs, &v->boot_sregs, plan->entry);
        }
        if ((rc = vcpu_set_boot_state(v))) {
            log_error("cannot set the boot state of vCPU %u: %s", i, strerror(-rc));
            return EXIT_VMM_ERROR;
        }
    }
    return 0;
}

int machine_create(struct machine *m, int kvm_fd, const struct vm_config *cfg,
                   struct boot_files *files, struct machine_disks *disks, struct machine_nets *nets,
                   uint64_t started_ns)
{
    int rc;

    memset(m, 0, sizeof(*m));
    m->started_ns = started_ns;
    if ((rc = vm_create(&m->vm, kvm_fd, cfg->mem_size, cfg->cpus)))
        return EXIT_VMM_ERROR;
    m->vm.stats_enabled = cfg->stats;
    m->vm.is_pvm = pvm_host_detect(cfg->assume_pvm);
    m->vm.no_exit_seconds = cfg->no_exit_seconds;
    m->vm.stop_seconds = cfg->stop_seconds;
    /* Before any thread starts: the disk's workers start with their devices. */
    if (cfg->seccomp) {
        char err[256];
        struct thread_guard guard;

        struct sandbox_needs needs = { .user_net = false };

        for (unsigned int i = 0; i < cfg->nr_nets; i++)
            needs.user_net |= cfg->nets[i].kind == NET_USER;
        if ((rc = sandbox_create(&m->sandbox, &needs, cfg->seccomp_selftest, err, sizeof(err)))) {
            log_error("%s", err);
            return EXIT_VMM_ERROR;
        }
        guard = sandbox_guard(m->sandbox);
        threads_set_guard(&m->vm.threads, &guard);
    }
    if ((rc = add_devices(m, cfg, disks, nets))) {
        log_error("cannot create the devices: %s", strerror(-rc));
        return EXIT_VMM_ERROR;
    }
    return load_guest(m, cfg, files);
}

static const char *device_at(void *ctx, enum stats_space space, uint64_t addr)
{
    struct vm *vm = ctx;
    const struct bus_range *r = bus_find(space == STATS_PIO ? &vm->pio : &vm->mmio, addr);

    if (r)
        return r->name;
    if (space == STATS_MMIO && addr >= LAYOUT_ROM_START && addr < LAYOUT_ROM_END)
        return "(rom)";
    return NULL;
}

static void print_boot_marks(struct debugdev *dbg)
{
    struct debugdev_mark marks[DEBUGDEV_MAX_MARKS];
    size_t dropped = 0, n = debugdev_marks(dbg, marks, DEBUGDEV_MAX_MARKS, &dropped);

    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "boot mark %u at %.3f ms\r\n", marks[i].id, marks[i].ns / 1e6);
    if (dropped)
        fprintf(stderr, "(%zu later boot marks dropped)\r\n", dropped);
}

static void print_disk_stats(struct machine *m)
{
    for (unsigned int i = 0; i < m->nr_blk; i++) {
        struct blk_stats st;

        blk_get_stats(m->blk[i], &st);
        fprintf(stderr,
                "disk %u (%s): %llu reads %.1f MiB, %llu writes %.1f MiB, %llu flushes, "
                "%llu discards, %llu write-zeroes, %llu errors, %llu unsupported, %.1f MiB bounce "
                "peak\r\n",
                i, blk_engine_name(m->blk[i]), (unsigned long long)st.reads,
                st.bytes_read / 1048576.0, (unsigned long long)st.writes,
                st.bytes_written / 1048576.0, (unsigned long long)st.flushes,
                (unsigned long long)st.discards, (unsigned long long)st.write_zeroes,
                (unsigned long long)st.errors, (unsigned long long)st.unsupported,
                st.bounce_bytes_peak / 1048576.0);
    }
}

static void print_nic_stats(struct machine *m)
{
    for (unsigned int i = 0; i < m->nr_nics; i++) {
        struct net_stats st;

        net_get_stats(m->nic[i], &st);
        fprintf(stderr,
                "nic %u (%s): rx %llu frames %.1f MiB, tx %llu frames %.1f MiB, %llu rx dropped, "
                "%llu tx malformed, %llu tx errors, %llu rx waits, %llu tx waits\r\n",
                i, net_backend_name(m->nic[i]), (unsigned long long)st.rx_frames,
                st.rx_bytes / 1048576.0, (unsigned long long)st.tx_frames, st.tx_bytes / 1048576.0,
                (unsigned long long)st.rx_dropped, (unsigned long long)st.tx_dropped,
                (unsigned long long)st.tx_errors, (unsigned long long)st.rx_waits,
                (unsigned long long)st.tx_waits);
    }
}

void machine_finish(struct machine *m, enum stop_cause cause, int status)
{
    struct vm *vm = &m->vm;

    if (m->console)
        console_restore(m->console);
    if (vm->stats_enabled) {
        struct vcpu_stats *all = calloc(vm->nr_vcpus, sizeof(*all));

        if (all) {
            for (unsigned int i = 0; i < vm->nr_vcpus; i++)
                all[i] = vm->vcpus[i].stats;
            stats_print(stderr, all, vm->nr_vcpus, device_at, vm);
            free(all);
        }
        if (vm->nr_vcpus && vm->vcpus[0].stats.first_run_ns > m->started_ns)
            fprintf(stderr, "first guest instruction (vCPU 0 entered KVM_RUN) at %.3f ms\r\n",
                    (vm->vcpus[0].stats.first_run_ns - m->started_ns) / 1e6);
        if (m->debug)
            print_boot_marks(m->debug);
        print_disk_stats(m);
        print_nic_stats(m);
        stats_print_memory(stderr, vm->mem.mapping, vm->mem.mapping_size);
        fprintf(stderr, "stopped: %s, exit status %d, %.3f ms after start\r\n",
                stop_cause_name(cause), stop_exit_status(cause, status),
                (stats_now_ns() - m->started_ns) / 1e6);
    }
}

void machine_destroy(struct machine *m)
{
    if (m->console)
        console_restore(m->console);
    vm_destroy(&m->vm);
    sandbox_destroy(m->sandbox);
    m->sandbox = NULL;
}
