// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "vmm/core/irqroute.h"

/* What the fake KVM saw: the last call of each kind, deep-copied. */
struct fake_kvm {
    int calls, routing_calls, fail;
    unsigned long last_req;
    struct kvm_irq_routing_entry table[IRQROUTE_MAX_ENTRIES];
    uint32_t table_nr;
    struct kvm_irqfd irqfd;
    struct kvm_ioeventfd ioeventfd;
};

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    struct fake_kvm *k = ctx;

    ck_assert_int_eq(fd, 42);
    k->calls++;
    k->last_req = req;
    if (k->fail)
        return -k->fail;
    if (req == KVM_SET_GSI_ROUTING) {
        const struct kvm_irq_routing *t = arg;

        ck_assert_uint_le(t->nr, IRQROUTE_MAX_ENTRIES);
        k->routing_calls++;
        k->table_nr = t->nr;
        memcpy(k->table, t->entries, t->nr * sizeof(t->entries[0]));
    } else if (req == KVM_IRQFD) {
        k->irqfd = *(struct kvm_irqfd *)arg;
    } else if (req == KVM_IOEVENTFD) {
        k->ioeventfd = *(struct kvm_ioeventfd *)arg;
    }
    return 0;
}

static const struct kvm_irq_routing_entry *find_gsi(const struct fake_kvm *k, uint32_t gsi,
                                                    uint32_t type)
{
    for (uint32_t i = 0; i < k->table_nr; i++)
        if (k->table[i].gsi == gsi && k->table[i].type == type)
            return &k->table[i];
    return NULL;
}

START_TEST(ioapic_routes_cost_no_ioctl_when_unchanged)
{
    struct fake_kvm k = { 0 };
    struct irqroute r;

    ck_assert_int_eq(irqroute_init(&r, 42, false, fake_ioctl, &k), 0);
    ck_assert_int_eq(irqroute_ioapic_update(&r, 3, 0xfee00000, 0x31, true), 0);
    ck_assert_int_eq(k.calls, 0); /* masked and never routed */
    ck_assert_int_eq(irqroute_ioapic_update(&r, 3, 0xfee00000, 0x31, false), 0);
    ck_assert_int_eq(k.routing_calls, 1);
    ck_assert_uint_eq(k.table_nr, 1);
    ck_assert_uint_eq(k.table[0].gsi, 3);
    ck_assert_uint_eq(k.table[0].u.msi.address_lo, 0xfee00000);
    ck_assert_uint_eq(k.table[0].u.msi.data, 0x31);
    ck_assert_int_eq(irqroute_ioapic_update(&r, 3, 0xfee00000, 0x31, false), 0);
    ck_assert_int_eq(k.routing_calls, 1); /* same route */
    ck_assert_int_eq(irqroute_ioapic_update(&r, 3, 0xfee00000, 0x32, false), 0);
    ck_assert_int_eq(k.routing_calls, 2);
    ck_assert_int_eq(irqroute_ioapic_update(&r, 3, 0, 0, true), 0);
    ck_assert_int_eq(k.routing_calls, 3);
    ck_assert_uint_eq(k.table_nr, 0);
    ck_assert_int_eq(irqroute_ioapic_update(&r, IOAPIC_NUM_PINS, 0, 0, false), -EINVAL);
    irqroute_fini(&r);
}
END_TEST

START_TEST(failed_update_keeps_old_state)
{
    struct fake_kvm k = { 0 };
    struct irqroute r;

    ck_assert_int_eq(irqroute_init(&r, 42, false, fake_ioctl, &k), 0);
    k.fail = EINVAL;
    ck_assert_int_eq(irqroute_ioapic_update(&r, 5, 0xfee00000, 0x40, false), -EINVAL);
    k.fail = 0;
    /* Not recorded as live, so the same request tries again. */
    ck_assert_int_eq(irqroute_ioapic_update(&r, 5, 0xfee00000, 0x40, false), 0);
    ck_assert_int_eq(k.routing_calls, 1);
    irqroute_fini(&r);
}
END_TEST

START_TEST(msi_routes_share_the_table)
{
    struct fake_kvm k = { 0 };
    struct irqroute r;
    uint32_t a, b;

    ck_assert_int_eq(irqroute_init(&r, 42, false, fake_ioctl, &k), 0);
    ck_assert_int_eq(irqroute_ioapic_update(&r, 9, 0xfee00000, 0x29, false), 0);
    ck_assert_int_eq(irqroute_msi_alloc(&r, &a), 0);
    ck_assert_int_eq(irqroute_msi_alloc(&r, &b), 0);
    ck_assert_uint_ge(a, IOAPIC_NUM_PINS);
    ck_assert_uint_ne(a, b);
    ck_assert_int_eq(k.routing_calls, 1); /* allocation alone costs nothing */
    ck_assert_int_eq(irqroute_msi_set(&r, b, 0xfee01000, 0x4041), 0);
    ck_assert_int_eq(k.routing_calls, 2);
    ck_assert_uint_eq(k.table_nr, 2);
    ck_assert_ptr_nonnull(find_gsi(&k, 9, KVM_IRQ_ROUTING_MSI));
    ck_assert_uint_eq(find_gsi(&k, b, KVM_IRQ_ROUTING_MSI)->u.msi.data, 0x4041);
    ck_assert_int_eq(irqroute_msi_set(&r, b, 0xfee01000, 0x4041), 0);
    ck_assert_int_eq(k.routing_calls, 2);
    ck_assert_int_eq(irqroute_msi_set(&r, 7, 0xfee01000, 0x41), -EINVAL); /* not an MSI GSI */
    ck_assert_int_eq(irqroute_msi_free(&r, b), 0);
    ck_assert_int_eq(k.routing_calls, 3);
    ck_assert_uint_eq(k.table_nr, 1);
    ck_assert_int_eq(irqroute_msi_set(&r, b, 0xfee01000, 0x41), -EINVAL); /* freed */
    ck_assert_int_eq(irqroute_msi_free(&r, a), 0);                        /* never routed */
    ck_assert_int_eq(k.routing_calls, 3);
    irqroute_fini(&r);
}
END_TEST

START_TEST(msi_gsis_run_out)
{
    struct fake_kvm k = { 0 };
    struct irqroute r;
    uint32_t g;

    ck_assert_int_eq(irqroute_init(&r, 42, false, fake_ioctl, &k), 0);
    for (int i = 0; i < IRQROUTE_MAX_MSI; i++)
        ck_assert_int_eq(irqroute_msi_alloc(&r, &g), 0);
    ck_assert_int_eq(irqroute_msi_alloc(&r, &g), -ENOSPC);
    ck_assert_int_eq(irqroute_msi_free(&r, IRQROUTE_MSI_FIRST + 5), 0);
    ck_assert_int_eq(irqroute_msi_alloc(&r, &g), 0);
    ck_assert_uint_eq(g, IRQROUTE_MSI_FIRST + 5);
    irqroute_fini(&r);
}
END_TEST

START_TEST(kernel_irqchip_keeps_default_routes)
{
    struct fake_kvm k = { 0 };
    struct irqroute r;
    uint32_t g;

    ck_assert_int_eq(irqroute_init(&r, 42, true, fake_ioctl, &k), 0);
    ck_assert_int_eq(irqroute_msi_alloc(&r, &g), 0);
    ck_assert_int_eq(irqroute_msi_set(&r, g, 0xfee00000, 0x50), 0);
    /* 15 PIC + 24 IOAPIC + the MSI. */
    ck_assert_uint_eq(k.table_nr, 15 + IOAPIC_NUM_PINS + 1);
    ck_assert_ptr_nonnull(find_gsi(&k, 4, KVM_IRQ_ROUTING_IRQCHIP));
    ck_assert_ptr_nonnull(find_gsi(&k, 20, KVM_IRQ_ROUTING_IRQCHIP));
    ck_assert_ptr_nonnull(find_gsi(&k, g, KVM_IRQ_ROUTING_MSI));
    irqroute_fini(&r);
}
END_TEST

START_TEST(irqfd_and_ioeventfd_args)
{
    struct fake_kvm k = { 0 };
    struct irqroute r;
    struct irq_routes ops;
    struct ioeventfd doorbell = {
        .fd = 8, .addr = 0xe0003004, .len = 2, .datamatch = true, .data = 1
    };
    struct ioeventfd port = { .fd = 8, .addr = 0xc000, .len = 1, .pio = true };

    ck_assert_int_eq(irqroute_init(&r, 42, false, fake_ioctl, &k), 0);
    ops = irqroute_ops(&r);
    ck_assert_int_eq(irqroute_irqfd(&r, 7, 30, true), 0);
    ck_assert_uint_eq(k.last_req, KVM_IRQFD);
    ck_assert_uint_eq(k.irqfd.fd, 7);
    ck_assert_uint_eq(k.irqfd.gsi, 30);
    ck_assert_uint_eq(k.irqfd.flags, 0);
    ck_assert_int_eq(irqroute_irqfd(&r, 7, 30, false), 0);
    ck_assert_uint_eq(k.irqfd.flags, KVM_IRQFD_FLAG_DEASSIGN);

    /* Through the interface devices get, as virtio-pci binds a doorbell. */
    ck_assert_int_eq(ops.ioeventfd(ops.ctx, &doorbell, true), 0);
    ck_assert_uint_eq(k.last_req, KVM_IOEVENTFD);
    ck_assert_uint_eq(k.ioeventfd.addr, 0xe0003004);
    ck_assert_uint_eq(k.ioeventfd.len, 2);
    ck_assert_int_eq(k.ioeventfd.fd, 8);
    ck_assert_uint_eq(k.ioeventfd.datamatch, 1);
    ck_assert_uint_eq(k.ioeventfd.flags, KVM_IOEVENTFD_FLAG_DATAMATCH);
    ck_assert_int_eq(irqroute_ioeventfd(&r, &port, false), 0);
    ck_assert_uint_eq(k.ioeventfd.flags, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DEASSIGN);
    port.len = 3;
    ck_assert_int_eq(irqroute_ioeventfd(&r, &port, true), -EINVAL);
    ck_assert_int_eq(ops.irqfd(ops.ctx, 7, 31, true), 0);
    ck_assert_uint_eq(k.irqfd.gsi, 31);
    ck_assert_int_eq(irqroute_irqfd(&r, -1, 30, true), -EBADF);
    k.fail = ENOENT;
    ck_assert_int_eq(irqroute_irqfd(&r, 7, 30, false), -ENOENT);
    irqroute_fini(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("irqroute");
    TCase *tc = tcase_create("routes");

    tcase_add_test(tc, ioapic_routes_cost_no_ioctl_when_unchanged);
    tcase_add_test(tc, failed_update_keeps_old_state);
    tcase_add_test(tc, msi_routes_share_the_table);
    tcase_add_test(tc, msi_gsis_run_out);
    tcase_add_test(tc, kernel_irqchip_keeps_default_routes);
    tcase_add_test(tc, irqfd_and_ioeventfd_args);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
