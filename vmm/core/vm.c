// SPDX-License-Identifier: MIT
#include "vmm/core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "firmware/layout.h"
#include "vmm/core/log.h"
#include "vmm/core/pvm.h"

int kvm_open_checked(const char *kvm_dev, int *kvm_fd)
{
    static const struct {
        int cap;
        const char *what;
    } needed[] = {
        { KVM_CAP_USER_MEMORY, "user memory slots" },
        { KVM_CAP_SET_TSS_ADDR, "KVM_SET_TSS_ADDR" },
        { KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID" },
        { KVM_CAP_IMMEDIATE_EXIT, "immediate_exit" },
    };
    int fd, version, rc;

    fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        if (rc == -ENOENT)
            log_error("%s does not exist: this host offers no KVM (load kvm-intel or kvm-amd, "
                      "or enable virtualization in the firmware)",
                      kvm_dev);
        else if (rc == -EACCES || rc == -EPERM)
            log_error("no permission to open %s: add yourself to the 'kvm' group "
                      "(sudo usermod -aG kvm $USER) and log in again",
                      kvm_dev);
        else
            log_error("cannot open %s: %s", kvm_dev, strerror(-rc));
        return rc;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        log_error("%s is not a usable KVM device (API version %d, need %d)", kvm_dev, version,
                  KVM_API_VERSION);
        close(fd);
        return -ENODEV;
    }
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
            log_error("this KVM lacks %s; kvmini needs Linux 4.11 or newer", needed[i].what);
            close(fd);
            return -ENOTSUP;
        }
    }
    *kvm_fd = fd;
    return 0;
}

unsigned int kvm_max_vcpus(int kvm_fd)
{
    int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

    if (n <= 0)
        n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    return n > 0 ? (unsigned int)n : 4; /* the documented default when neither is reported */
}

static int set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                    uint32_t flags)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .flags = flags,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };

    return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/*
 * Memslots follow the gmem regions, except that the legacy ROM window of the first region is cut
 * out into a read-only slot: the guest can read the firmware tables there but not change them.
 */
static int setup_memslots(struct vm *vm)
{
    const struct gmem_region *low = &vm->mem.regions[0];
    uint32_t slot = 0;
    int rc;

    if (vm->readonly_mem && low->size >= LAYOUT_ROM_END) {
        if ((rc = set_slot(vm, slot++, 0, LAYOUT_ROM_START, low->host, 0)) ||
            (rc = set_slot(vm, slot++, LAYOUT_ROM_START, LAYOUT_ROM_END - LAYOUT_ROM_START,
                           low->host + LAYOUT_ROM_START, KVM_MEM_READONLY)))
            return rc;
        if (low->size > LAYOUT_ROM_END &&
            (rc = set_slot(vm, slot++, LAYOUT_ROM_END, low->size - LAYOUT_ROM_END,
                           low->host + LAYOUT_ROM_END, 0)))
            return rc;
    } else if ((rc = set_slot(vm, slot++, 0, low->size, low->host, 0))) {
        return rc;
    }
    for (unsigned int i = 1; i < vm->mem.nr; i++) {
        const struct gmem_region *r = &vm->mem.regions[i];

        if ((rc = set_slot(vm, slot++, r->gpa, r->size, r->host, 0)))
            return rc;
    }
    return 0;
}

static int kernel_irq_line(void *ctx, uint32_t gsi, bool level)
{
    struct vm *vm = ctx;
    struct kvm_irq_level irq = { .irq = gsi, .level = level };

    return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static int kernel_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct vm *vm = ctx;
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = (uint32_t)(addr >> 32),
        .data = data,
    };

    return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

/*
 * A split irqchip (LAPICs in KVM, IOAPIC in kvmini) costs nothing at VM teardown, where the
 * in-kernel IOAPIC+PIC+PIT cost 15-22 ms on every run (docs/architecture.md). Fall back to the
 * full in-kernel irqchip on a KVM without split support.
 */
static int setup_irqchip(struct vm *vm)
{
    struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_NUM_PINS } };

    vm->msi = (struct msi_sender){ .send = kernel_send_msi, .ctx = vm };
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) > 0 &&
        ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0) {
        vm->split_irqchip = true;
        return 0; /* the machine installs its IOAPIC as vm->irq */
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return -errno;
    vm->irq = (struct irq_sink){ .set_level = kernel_irq_line, .ctx = vm };
    return 0;
}

static void vm_stopper(void *ctx, enum stop_cause cause, int status)
{
    vm_request_stop(ctx, cause, status);
}

int vm_create(struct vm *vm, int kvm_fd, uint64_t mem_size, unsigned int nr_vcpus)
{
    int rc;

    memset(vm, 0, sizeof(*vm));
    vm->kvm_fd = kvm_fd;
    vm->vm_fd = -1;
    vm->signal_fd = -1;
    vm->no_exit_timer_fd = -1;
    vm->loop.epfd = vm->loop.stop_fd = -1;
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_cond_init(&vm->stop_cond, NULL);
    threads_init(&vm->threads);
    vm->stopper = (struct stopper){ .request = vm_stopper, .ctx = vm };
    vm->unmapped_warnings = LOG_BUDGET(8, "further accesses to unmapped guest addresses are not "
                                          "reported (--stats counts them)");
    bus_init(&vm->pio, "pio");
    bus_init(&vm->mmio, "mmio");

    vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        rc = -errno;
        log_error("KVM_CREATE_VM failed: %s", strerror(-rc));
        return rc;
    }
    vm->run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    vm->readonly_mem = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    vm->tsc_deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;

    if ((rc = gmem_init(&vm->mem, mem_size))) {
        log_error("cannot reserve %llu MiB of guest memory: %s",
                  (unsigned long long)(mem_size >> 20), strerror(-rc));
        return rc;
    }
    if ((rc = setup_memslots(vm))) {
        log_error("KVM_SET_USER_MEMORY_REGION failed: %s", strerror(-rc));
        return rc;
    }
    /* Both are needed on Intel (real-mode emulation); harmless elsewhere. */
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS_ADDR) < 0) {
        rc = -errno;
        log_error("KVM_SET_TSS_ADDR failed: %s", strerror(-rc));
        return rc;
    }
    uint64_t identity = LAYOUT_IDENTITY_MAP;
    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
        ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
        rc = -errno;
        log_error("KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(-rc));
        return rc;
    }
    if ((rc = setup_irqchip(vm))) {
        log_error("cannot create the interrupt controller: %s", strerror(-rc));
        return rc;
    }
    if ((rc = irqroute_init(&vm->routes, vm->vm_fd, !vm->split_irqchip, NULL, NULL))) {
        log_error("cannot set up interrupt routing: %s", strerror(-rc));
        return rc;
    }
    vm->irq_routes = irqroute_ops(&vm->routes);
    vm->pin_routes = irqroute_pin_routes(&vm->routes);
    if ((rc = cpuid_init(vm)))
        return rc;

    vm->nr_vcpus_planned = nr_vcpus;
    vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
    if (!vm->vcpus)
        return -ENOMEM;
    for (unsigned int i = 0; i < nr_vcpus; i++) {
        rc = vcpu_create(vm, &vm->vcpus[i], i);
        /* A vCPU that failed half-way still holds an fd that vm_destroy() must close. */
        if (vm->vcpus[i].fd >= 0)
            vm->nr_vcpus++;
        if (rc)
            return rc;
    }
    if ((rc = evloop_init(&vm->loop))) {
        log_error("cannot create the event loop: %s", strerror(-rc));
        return rc;
    }
    vm->loop.threads = &vm->threads;
    return 0;
}

int vm_add_device(struct vm *vm, const char *name, void *dev, void (*destroy)(void *dev))
{
    if (vm->nr_devices == VM_MAX_DEVICES)
        return -ENOSPC;
    vm->devices[vm->nr_devices++] = (struct vm_device){ name, dev, destroy };
    return 0;
}

void vm_request_stop(struct vm *vm, enum stop_cause cause, int status)
{
    pthread_mutex_lock(&vm->stop_lock);
    if (vm->stop_cause == STOP_NONE) {
        vm->stop_cause = cause;
        vm->stop_status = status;
    }
    __atomic_store_n(&vm->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&vm->stop_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    stop_watch_arm(&vm->watch);
}

bool vm_wait_go(struct vm *vm)
{
    bool go;

    pthread_mutex_lock(&vm->stop_lock);
    while (!vm->go && vm->stop_cause == STOP_NONE)
        pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
    go = vm->go && vm->stop_cause == STOP_NONE;
    pthread_mutex_unlock(&vm->stop_lock);
    return go;
}

static void on_signal(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    struct signalfd_siginfo si;

    if (read(vm->signal_fd, &si, sizeof(si)) == sizeof(si))
        vm_request_stop(vm, STOP_SIGNAL, (int)si.ssi_signo);
}

static void kick_handler(int sig)
{
    (void)sig; /* only there so the signal interrupts KVM_RUN instead of killing us */
}

/*
 * SIGINT/SIGTERM/SIGHUP are blocked in every thread and read from a signalfd on the event loop,
 * so a stop always takes the same orderly path. SIGUSR1 kicks a vCPU thread out of KVM_RUN.
 */
static void stop_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

void vm_block_stop_signals(void)
{
    sigset_t set;

    stop_signal_set(&set);
    sigaddset(&set, SIGUSR1);
    /* Not a stop, but also read from a signalfd: by the console, for the terminal's size. */
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int setup_signals(struct vm *vm)
{
    struct sigaction sa = { .sa_handler = kick_handler };
    sigset_t stop_set;
    int rc;

    vm_block_stop_signals(); /* main() did already; a VM in another program may not have */
    sigaction(SIGUSR1, &sa, NULL);
    stop_signal_set(&stop_set);
    vm->signal_fd = signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (vm->signal_fd < 0)
        return -errno;
    if ((rc = evloop_add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm))) {
        close(vm->signal_fd);
        vm->signal_fd = -1;
    }
    return rc;
}

int vm_run(struct vm *vm, enum stop_cause *cause, int *status)
{
    const struct thread_id main_id = { .cls = THREAD_MAIN };
    unsigned int started = 0;
    int rc;

    bus_freeze(&vm->pio);
    bus_freeze(&vm->mmio);
    if ((rc = stop_watch_start(&vm->watch, &vm->threads, vm->stop_seconds))) {
        log_error("cannot start the stop watchdog: %s", strerror(-rc));
        goto out;
    }
    if ((rc = setup_signals(vm)) || (rc = pvm_watch_start(vm)) || (rc = evloop_start(&vm->loop))) {
        log_error("cannot start the event loop: %s", strerror(-rc));
        goto out;
    }
    for (; started < vm->nr_vcpus; started++) {
        if ((rc = vcpu_start(&vm->vcpus[started]))) {
            log_error("cannot start vCPU %u: %s", started, strerror(-rc));
            vm_request_stop(vm, STOP_VMM_ERROR, 0);
            break;
        }
    }
    /* Last: the main thread no longer creates threads or opens files for writing after this. */
    if (started == vm->nr_vcpus && threads_enter(&vm->threads, &main_id, NULL) < 0)
        vm_request_stop(vm, STOP_VMM_ERROR, 0);

    pthread_mutex_lock(&vm->stop_lock);
    vm->go = true;
    pthread_cond_broadcast(&vm->stop_cond);
    while (vm->stop_cause == STOP_NONE)
        pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
    pthread_mutex_unlock(&vm->stop_lock);

    for (unsigned int i = 0; i < started; i++)
        vcpu_kick(&vm->vcpus[i]);
    for (unsigned int i = 0; i < started; i++) {
        pthread_join(vm->vcpus[i].thread, NULL);
        vm->vcpus[i].started = false;
    }
    if (vm->stop_cause == STOP_NO_EXITS)
        pvm_report_no_exits(vm);
    rc = 0;
out:
    evloop_stop(&vm->loop);
    *cause = vm->stop_cause;
    *status = vm->stop_status;
    return rc;
}

void vm_destroy(struct vm *vm)
{
    evloop_stop(&vm->loop);
    while (vm->nr_devices) {
        struct vm_device *d = &vm->devices[--vm->nr_devices];

        if (d->destroy)
            d->destroy(d->dev);
    }
    for (unsigned int i = vm->nr_vcpus; i-- > 0;)
        vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    vm->vcpus = NULL;
    vm->nr_vcpus = 0;
    free(vm->cpuid);
    vm->cpuid = NULL;
    evloop_fini(&vm->loop);
    pvm_watch_fini(vm);
    irqroute_fini(&vm->routes);
    if (vm->signal_fd >= 0)
        close(vm->signal_fd);
    vm->signal_fd = -1;
    bus_fini(&vm->mmio);
    bus_fini(&vm->pio);
    /* Close the VM before unmapping: KVM may still reference the memory until then. */
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    vm->vm_fd = -1;
    gmem_fini(&vm->mem);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    vm->kvm_fd = -1;
    /* The stop completed: every thread but this one is gone. */
    stop_watch_end(&vm->watch);
    threads_fini(&vm->threads);
    pthread_cond_destroy(&vm->stop_cond);
    pthread_mutex_destroy(&vm->stop_lock);
}
