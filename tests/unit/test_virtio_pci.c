// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "devices/virtio/virtio_pci.h"
#include "tests/unit/pci_addrs.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "vmm/core/irqroute.h"
#include "tests/unit/unit.h"

#define RAM_SIZE  0x10000
#define NR_QUEUES 2
#define CFG_SIZE  8
#define SLOT      1
#define STATUS_FEATURES_OK                                                                         \
    (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)

/* A fake KVM: counts routes, keeps the ioeventfds bound now. */
struct fake_kvm {
    int routing_calls;
    int bound;
    struct kvm_ioeventfd last;
};

struct rig {
    uint8_t *ram;
    struct gmem mem;
    struct bus pio, mmio;
    struct fake_irq irq;
    struct irq_line line;
    struct msi_sender msi;
    int msis;
    uint32_t msi_data;
    struct fake_kvm kvm;
    struct irqroute routes;
    struct irq_routes ops;
    struct evloop loop;
    struct pci_bus *pci;
    struct virtio_dev dev;
    struct virtio_pci *vp;
    int kicks[NR_QUEUES];
    uint8_t config[CFG_SIZE];
    uint64_t bar; /* BAR 0's guest address */
};

static void stub_notify(struct virtio_dev *dev, unsigned int q)
{
    struct rig *r = dev->priv;

    ck_assert_uint_lt(q, NR_QUEUES);
    r->kicks[q]++;
}

static void stub_read_config(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    struct rig *r = dev->priv;

    memcpy(data, r->config + off, len);
}

static const struct virtio_dev_ops stub_ops = {
    .config_size = CFG_SIZE,
    .queue_notify = stub_notify,
    .read_config = stub_read_config,
};

static int rig_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct rig *r = ctx;

    r->msis++;
    r->msi_data = data;
    return 0;
}

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    struct fake_kvm *k = ctx;

    if (req == KVM_SET_GSI_ROUTING)
        k->routing_calls++;
    if (req == KVM_IOEVENTFD) {
        k->last = *(struct kvm_ioeventfd *)arg;
        k->bound += k->last.flags & KVM_IOEVENTFD_FLAG_DEASSIGN ? -1 : 1;
    }
    return 0;
}

static void rig_init(struct rig *r, bool fast_path)
{
    memset(r, 0, sizeof(*r));
    r->ram = calloc(1, RAM_SIZE);
    ck_assert_ptr_nonnull(r->ram);
    gmem_init_fixed(&r->mem, 0, r->ram, RAM_SIZE);
    bus_init(&r->pio, "pio");
    bus_init(&r->mmio, "mmio");
    r->line = fake_irq_line(&r->irq, 0);
    r->msi = (struct msi_sender){ .send = rig_msi, .ctx = r };
    ck_assert_int_eq(irqroute_init(&r->routes, 5, false, fake_ioctl, &r->kvm), 0);
    r->ops = irqroute_ops(&r->routes);
    ck_assert_int_eq(pci_bus_create(&r->pci, &r->pio, &r->mmio, &pc_pci_addrs, &r->irq.sink,
                                    &r->msi, fast_path ? &r->ops : NULL),
                     0);
    ck_assert_int_eq(
        virtio_dev_init(&r->dev, VIRTIO_ID_RNG, 0, NR_QUEUES, 64, &r->mem, &stub_ops, r), 0);
    memcpy(r->config, "kvmini!", CFG_SIZE);
    ck_assert_int_eq(virtio_pci_create(&r->vp, r->pci, &r->dev, fast_path ? &r->ops : NULL,
                                       fast_path ? &r->loop : NULL),
                     0);
}

static void rig_fini(struct rig *r)
{
    virtio_pci_destroy(r->vp);
    virtio_dev_fini(&r->dev);
    pci_bus_destroy(r->pci);
    irqroute_fini(&r->routes);
    bus_fini(&r->mmio);
    bus_fini(&r->pio);
    free(r->ram);
}

static uint32_t cfg_read(struct rig *r, uint32_t reg, uint32_t len)
{
    uint32_t v = 0, a = 0x80000000u | SLOT << 11 | (reg & 0xfc);

    bus_access(&r->pio, 0xcf8, &a, 4, true);
    bus_access(&r->pio, 0xcfc + (reg & 3), &v, len, false);
    return v;
}

static void cfg_write(struct rig *r, uint32_t reg, uint32_t len, uint32_t v)
{
    uint32_t a = 0x80000000u | SLOT << 11 | (reg & 0xfc);

    bus_access(&r->pio, 0xcf8, &a, 4, true);
    bus_access(&r->pio, 0xcfc + (reg & 3), &v, len, true);
}

/* Walks the capability list as virtio_pci_modern does: the first vendor cap of each type. */
static uint8_t find_cfg(struct rig *r, uint8_t type)
{
    for (uint8_t at = (uint8_t)cfg_read(r, PCI_CAPABILITY_LIST, 1); at;
         at = (uint8_t)cfg_read(r, at + 1, 1)) {
        if (cfg_read(r, at, 1) == PCI_CAP_ID_VNDR &&
            cfg_read(r, at + offsetof(struct virtio_pci_cap, cfg_type), 1) == type)
            return at;
    }
    return 0;
}

/* The guest address of a cfg type's structure, from its capability. */
static uint64_t cfg_addr(struct rig *r, uint8_t type)
{
    uint8_t at = find_cfg(r, type);
    uint32_t bar = cfg_read(r, at + offsetof(struct virtio_pci_cap, bar), 1);
    uint64_t base = cfg_read(r, PCI_BASE_ADDRESS_0 + 4 * bar, 4) & ~0xfu;

    base |= (uint64_t)cfg_read(r, PCI_BASE_ADDRESS_0 + 4 * bar + 4, 4) << 32;
    return base + cfg_read(r, at + offsetof(struct virtio_pci_cap, offset), 4);
}

static uint32_t common_read(struct rig *r, size_t off, uint32_t len)
{
    uint32_t v = 0;

    bus_access(&r->mmio, cfg_addr(r, VIRTIO_PCI_CAP_COMMON_CFG) + off, &v, len, false);
    return v;
}

static void common_write(struct rig *r, size_t off, uint32_t len, uint32_t v)
{
    bus_access(&r->mmio, cfg_addr(r, VIRTIO_PCI_CAP_COMMON_CFG) + off, &v, len, true);
}

#define CC(f) offsetof(struct virtio_pci_common_cfg, f)

/* Negotiates VERSION_1 and sets up queue q with rings in RAM; optionally starts the driver. */
static void bring_up(struct rig *r, unsigned int q, bool driver_ok)
{
    common_write(r, CC(device_status), 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    common_write(r, CC(guest_feature_select), 4, 1);
    common_write(r, CC(guest_feature), 4, 1); /* VERSION_1 is bit 32 */
    common_write(r, CC(device_status), 1, STATUS_FEATURES_OK);
    ck_assert_uint_eq(common_read(r, CC(device_status), 1), STATUS_FEATURES_OK);
    common_write(r, CC(queue_select), 2, q);
    common_write(r, CC(queue_size), 2, 32);
    common_write(r, CC(queue_desc_lo), 4, 0x1000);
    common_write(r, CC(queue_desc_hi), 4, 0);
    common_write(r, CC(queue_avail_lo), 4, 0x2000);
    common_write(r, CC(queue_avail_hi), 4, 0);
    common_write(r, CC(queue_used_lo), 4, 0x3000);
    common_write(r, CC(queue_used_hi), 4, 0);
    common_write(r, CC(queue_enable), 2, 1);
    ck_assert_uint_eq(common_read(r, CC(queue_enable), 2), 1);
    if (driver_ok)
        common_write(r, CC(device_status), 1, STATUS_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

START_TEST(identity_and_capability_chain)
{
    static const uint8_t types[] = { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG,
                                     VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_DEVICE_CFG,
                                     VIRTIO_PCI_CAP_PCI_CFG };
    struct rig r;
    uint8_t at;

    rig_init(&r, false);
    ck_assert_uint_eq(cfg_read(&r, PCI_VENDOR_ID, 2), 0x1af4);
    ck_assert_uint_eq(cfg_read(&r, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
    ck_assert_uint_eq(cfg_read(&r, PCI_REVISION_ID, 1), 1);
    ck_assert_uint_eq(cfg_read(&r, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
    ck_assert_uint_eq(cfg_read(&r, PCI_INTERRUPT_PIN, 1), 1);
    ck_assert_uint_eq(cfg_read(&r, PCI_BASE_ADDRESS_0, 4) & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
    for (size_t i = 0; i < sizeof(types); i++) {
        at = find_cfg(&r, types[i]);
        ck_assert_msg(at, "no cfg type %u", types[i]);
        ck_assert_uint_ge(cfg_read(&r, at + 2, 1), sizeof(struct virtio_pci_cap));
    }
    at = find_cfg(&r, VIRTIO_PCI_CAP_NOTIFY_CFG);
    ck_assert_uint_eq(
        cfg_read(&r, at + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier), 4),
        VIRTIO_PCI_NOTIFY_MULT);
    ck_assert_uint_eq(cfg_read(&r, at + offsetof(struct virtio_pci_cap, length), 4),
                      NR_QUEUES * VIRTIO_PCI_NOTIFY_MULT);
    at = find_cfg(&r, VIRTIO_PCI_CAP_DEVICE_CFG);
    ck_assert_uint_eq(cfg_read(&r, at + offsetof(struct virtio_pci_cap, length), 4), CFG_SIZE);
    ck_assert_uint_eq(cfg_read(&r, find_cfg(&r, VIRTIO_PCI_CAP_COMMON_CFG) + 2, 1), 16);
    /* The caps are read-only, except the PCI cfg window's selectors. */
    at = find_cfg(&r, VIRTIO_PCI_CAP_COMMON_CFG);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, offset), 4, 0x123);
    ck_assert_uint_eq(cfg_read(&r, at + offsetof(struct virtio_pci_cap, offset), 4), 0);
    /* Device config through the DEVICE_CFG structure. */
    {
        uint32_t v = 0;

        bus_access(&r.mmio, cfg_addr(&r, VIRTIO_PCI_CAP_DEVICE_CFG) + 4, &v, 4, false);
        ck_assert_mem_eq(&v, "ni!", 4);
    }
    rig_fini(&r);
}
END_TEST

START_TEST(feature_words)
{
    struct rig r;

    rig_init(&r, false);
    ck_assert_uint_eq(common_read(&r, CC(num_queues), 2), NR_QUEUES);
    common_write(&r, CC(device_feature_select), 4, 1);
    ck_assert_uint_eq(common_read(&r, CC(device_feature_select), 4), 1);
    ck_assert_uint_ne(common_read(&r, CC(device_feature), 4) & 1, 0); /* VERSION_1 */
    common_write(&r, CC(device_feature), 4, 0);                       /* read-only */
    ck_assert_uint_ne(common_read(&r, CC(device_feature), 4) & 1, 0);
    common_write(&r, CC(device_feature_select), 4, 7);
    ck_assert_uint_eq(common_read(&r, CC(device_feature), 4), 0);
    common_write(&r, CC(guest_feature_select), 4, 1);
    common_write(&r, CC(guest_feature), 4, 1);
    ck_assert_uint_eq(common_read(&r, CC(guest_feature), 4), 1);
    common_write(&r, CC(guest_feature_select), 4, 0);
    ck_assert_uint_eq(common_read(&r, CC(guest_feature), 4), 0);
    ck_assert_uint_eq(r.dev.driver_features, 1ULL << 32);
    rig_fini(&r);
}
END_TEST

START_TEST(queue_configuration)
{
    struct rig r;

    rig_init(&r, false);
    common_write(&r, CC(queue_select), 2, 1);
    ck_assert_uint_eq(common_read(&r, CC(queue_size), 2), 64);
    ck_assert_uint_eq(common_read(&r, CC(queue_notify_off), 2), 1);
    ck_assert_uint_eq(common_read(&r, CC(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
    bring_up(&r, 1, false);
    ck_assert_uint_eq(common_read(&r, CC(queue_size), 2), 32);
    ck_assert_uint_eq(common_read(&r, CC(queue_desc_lo), 4), 0x1000);
    ck_assert_uint_eq(common_read(&r, CC(queue_avail_lo), 4), 0x2000);
    ck_assert_uint_eq(common_read(&r, CC(queue_used_lo), 4), 0x3000);
    ck_assert(r.dev.queues[1].ready);
    ck_assert(!r.dev.queues[0].ready);
    /* A queue that does not exist reads size 0 and takes nothing. */
    common_write(&r, CC(queue_select), 2, 9);
    ck_assert_uint_eq(common_read(&r, CC(queue_size), 2), 0);
    common_write(&r, CC(queue_enable), 2, 1);
    common_write(&r, CC(queue_msix_vector), 2, 0);
    ck_assert_uint_eq(common_read(&r, CC(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
    /* Hostile widths and offsets. */
    common_write(&r, sizeof(struct virtio_pci_common_cfg) - 1, 4, 0xffffffff);
    ck_assert_uint_eq(common_read(&r, 0x800, 4), 0);
    /* Reset: queues and status go. */
    common_write(&r, CC(device_status), 1, 0);
    ck_assert_uint_eq(common_read(&r, CC(device_status), 1), 0);
    ck_assert(!r.dev.queues[1].ready);
    rig_fini(&r);
}
END_TEST

START_TEST(notify_reaches_the_device)
{
    struct rig r;
    uint64_t notify;
    uint16_t q = 1;

    rig_init(&r, false);
    bring_up(&r, 1, true);
    notify = cfg_addr(&r, VIRTIO_PCI_CAP_NOTIFY_CFG);
    bus_access(&r.mmio, notify + 1 * VIRTIO_PCI_NOTIFY_MULT, &q, 2, true);
    ck_assert_int_eq(r.kicks[1], 1);
    ck_assert_int_eq(r.kicks[0], 0);
    q = 0;
    bus_access(&r.mmio, notify + 7 * VIRTIO_PCI_NOTIFY_MULT, &q, 2, true); /* no such queue */
    bus_access(&r.mmio, notify + 1, &q, 1, true);                          /* misaligned */
    ck_assert_int_eq(r.kicks[0] + r.kicks[1], 1);
    rig_fini(&r);
}
END_TEST

START_TEST(isr_read_clears_and_lowers_intx)
{
    struct rig r;
    uint64_t isr;
    uint8_t v = 0;

    rig_init(&r, false);
    bring_up(&r, 0, true);
    isr = cfg_addr(&r, VIRTIO_PCI_CAP_ISR_CFG);
    ck_assert_int_eq(r.dev.transport.notify_queue(r.dev.transport.ctx, 0), 0);
    ck_assert(r.irq.level);
    virtio_config_changed(&r.dev);
    bus_access(&r.mmio, isr, &v, 1, false);
    ck_assert_uint_eq(v, VIRTIO_PCI_ISR_VQ | VIRTIO_PCI_ISR_CONFIG);
    ck_assert(!r.irq.level);
    bus_access(&r.mmio, isr, &v, 1, false);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(r.msis, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(msix_vectors)
{
    struct rig r;
    uint8_t cap = 0;
    uint64_t table;

    rig_init(&r, false);
    for (uint8_t at = (uint8_t)cfg_read(&r, PCI_CAPABILITY_LIST, 1); at;
         at = (uint8_t)cfg_read(&r, at + 1, 1))
        if (cfg_read(&r, at, 1) == PCI_CAP_ID_MSIX)
            cap = at;
    ck_assert_uint_ne(cap, 0);
    ck_assert_uint_eq((cfg_read(&r, cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1,
                      NR_QUEUES + 1);
    table = cfg_read(&r, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4) & ~0xfu;
    cfg_write(&r, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
    bring_up(&r, 0, true);
    common_write(&r, CC(msix_config), 2, 0);
    ck_assert_uint_eq(common_read(&r, CC(msix_config), 2), 0);
    common_write(&r, CC(queue_select), 2, 0);
    common_write(&r, CC(queue_msix_vector), 2, 2);
    ck_assert_uint_eq(common_read(&r, CC(queue_msix_vector), 2), 2);
    common_write(&r, CC(queue_msix_vector), 2, NR_QUEUES + 1); /* beyond the table */
    ck_assert_uint_eq(common_read(&r, CC(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
    common_write(&r, CC(queue_msix_vector), 2, 2);
    /* Vector 2: message 0x4062, unmasked. */
    {
        uint32_t v[4] = { 0xfee00000, 0, 0x4062, 0 };

        for (int i = 0; i < 4; i++)
            bus_access(&r.mmio, table + 2 * 16 + 4 * i, &v[i], 4, true);
    }
    ck_assert_int_eq(r.dev.transport.notify_queue(r.dev.transport.ctx, 0), 0);
    ck_assert_int_eq(r.msis, 1);
    ck_assert_uint_eq(r.msi_data, 0x4062);
    ck_assert_int_eq(r.irq.raises, 0); /* MSI-X on: no INTx */
    /* Config vector 0 is still masked: pending, not sent. */
    virtio_config_changed(&r.dev);
    ck_assert_int_eq(r.msis, 1);
    /* Reset forgets the vectors. */
    common_write(&r, CC(device_status), 1, 0);
    ck_assert_uint_eq(common_read(&r, CC(msix_config), 2), VIRTIO_MSI_NO_VECTOR);
    ck_assert_uint_eq(common_read(&r, CC(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
    rig_fini(&r);
}
END_TEST

START_TEST(pci_cfg_access_window)
{
    struct rig r;
    uint8_t at;
    uint32_t data = offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);

    rig_init(&r, false);
    at = find_cfg(&r, VIRTIO_PCI_CAP_PCI_CFG);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, bar), 1, 0);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, offset), 4, CC(num_queues));
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, length), 4, 2);
    ck_assert_uint_eq(cfg_read(&r, at + data, 4), NR_QUEUES);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, offset), 4, CC(device_feature_select));
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, length), 4, 4);
    cfg_write(&r, at + data, 4, 1);
    ck_assert_uint_eq(common_read(&r, CC(device_feature_select), 4), 1);
    /* Bad length, misaligned offset, no such BAR, past the BAR: ignored, reads 0. */
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, length), 4, 3);
    ck_assert_uint_eq(cfg_read(&r, at + data, 4), 0);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, length), 4, 4);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, offset), 4, 2);
    ck_assert_uint_eq(cfg_read(&r, at + data, 4), 0);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, offset), 4, VIRTIO_PCI_BAR_SIZE);
    ck_assert_uint_eq(cfg_read(&r, at + data, 4), 0);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, bar), 1, 5);
    cfg_write(&r, at + offsetof(struct virtio_pci_cap, offset), 4, 0);
    ck_assert_uint_eq(cfg_read(&r, at + data, 4), 0);
    ck_assert_uint_eq(cfg_read(&r, at + data + 1, 2), 0);
    rig_fini(&r);
}
END_TEST

START_TEST(ioeventfd_fast_path)
{
    struct rig r;
    struct pci_function *f;
    uint64_t notify, one = 1;
    int fd;

    rig_init(&r, true);
    f = virtio_pci_function(r.vp);
    notify = cfg_addr(&r, VIRTIO_PCI_CAP_NOTIFY_CFG);
    ck_assert_int_eq(r.kvm.bound, 0); /* nothing enabled yet */
    bring_up(&r, 1, true);
    ck_assert_int_eq(r.kvm.bound, 1);
    ck_assert_uint_eq(r.kvm.last.addr, notify + VIRTIO_PCI_NOTIFY_MULT);
    ck_assert_uint_eq(r.kvm.last.len, 2);
    ck_assert_uint_eq(r.kvm.last.datamatch, 1);
    ck_assert_uint_ne(r.kvm.last.flags & KVM_IOEVENTFD_FLAG_DATAMATCH, 0);
    /* KVM would signal the eventfd; the loop thread then kicks the queue. */
    fd = r.kvm.last.fd;
    ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
    ck_assert_int_eq(fake_evloop_fire(&r.loop, fd, 0x1), 0);
    ck_assert_int_eq(r.kicks[1], 1);
    /* The guest moves BAR 0: the binding follows. */
    cfg_write(&r, PCI_BASE_ADDRESS_0, 4, 0xf0000000);
    ck_assert_int_eq(r.kvm.bound, 1);
    ck_assert_uint_eq(r.kvm.last.addr, 0xf0000000 + VIRTIO_PCI_NOTIFY_OFF + 4);
    /* Decoding off: unbound; reset keeps it unbound. */
    cfg_write(&r, PCI_COMMAND, 2, 0);
    ck_assert_int_eq(r.kvm.bound, 0);
    cfg_write(&r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_int_eq(r.kvm.bound, 1);
    common_write(&r, CC(device_status), 1, 0);
    ck_assert_int_eq(r.kvm.bound, 0);
    /* MSI-X vectors got irqfds: 3 GSIs allocated, no route until the first message. */
    ck_assert_int_ge(f->msix.irqfd[2], 0);
    ck_assert_int_eq(r.kvm.routing_calls, 0);
    bring_up(&r, 0, true);
    ck_assert_int_eq(r.kvm.bound, 1);
    rig_fini(&r);
    ck_assert_int_eq(r.kvm.bound, 0);
    ck_assert_ptr_null(fake_evloop_source(&r.loop, fd));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtio_pci");
    TCase *tc = tcase_create("transport");

    tcase_add_test(tc, identity_and_capability_chain);
    tcase_add_test(tc, feature_words);
    tcase_add_test(tc, queue_configuration);
    tcase_add_test(tc, notify_reaches_the_device);
    tcase_add_test(tc, isr_read_clears_and_lowers_intx);
    tcase_add_test(tc, msix_vectors);
    tcase_add_test(tc, pci_cfg_access_window);
    tcase_add_test(tc, ioeventfd_fast_path);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
