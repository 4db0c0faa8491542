# SPDX-License-Identifier: MIT
"""The exit-only part of tests/bench/report's cold start: kvmini and kvm-floor running a guest that
exits at its first CPL3 instruction, against kvm-min, the smallest possible VMM; and where
kvmini's time goes (its --stats). report reads the hyperfine JSON; this module splits and formats."""

import statistics

EXIT_VS_MIN_MAX = 1.5  # the exit-only guest under kvmini: at most 1.5x kvm-min


def exit_section(cold, samples):
    """cold: report.cold_results() of cold-exit.json; samples: the split lines of --stats."""
    for name in ("kvmini-exit", "kvm-floor-exit", "kvm-min"):
        if name not in cold:
            raise ValueError(f"no cold-start results for {name}")
    rows = [r for r in samples if r["kind"] == "split" and r.get("vmm") == "kvmini"]
    if not rows:
        raise ValueError("no split samples (kvmini --stats with the exit-only guest)")
    first = statistics.median(r["first_insn_ms"] for r in rows)
    stop = statistics.median(r["stop_ms"] for r in rows)
    wall = cold["kvmini-exit"]["median_s"] * 1000
    return {"cold": cold, "runs": len(rows),
            "split_ms": {"to_first_insn": first, "guest": stop - first,
                         "outside_main": max(wall - stop, 0.0), "wall": wall},
            "kvmini_vs_min": cold["kvmini-exit"]["median_s"] / cold["kvm-min"]["median_s"],
            "floor_vs_min": cold["kvm-floor-exit"]["median_s"] / cold["kvm-min"]["median_s"]}


def exit_targets(ex):
    return [{"name": f"cold start, exit-only guest: kvmini at most {EXIT_VS_MIN_MAX:g}x kvm-min "
                     "(the smallest possible VMM)",
             "measured": f"{ex['kvmini_vs_min']:.2f}x kvm-min",
             "met": ex["kvmini_vs_min"] <= EXIT_VS_MIN_MAX}]


def exit_section_md(w, ex, fmt_time):
    cold, sp = ex["cold"], ex["split_ms"]
    w("### The VMM's own cost: the exit-only guest")
    w("")
    w("`exitonly.elf` writes 0 to the debug-exit port at its first CPL3 instruction, so what is "
      "left is the VMM's own work and the tiny runtime's way in. **kvm-min** "
      "(`tests/bench/kvm_min.c`) is the smallest possible VMM: it opens `/dev/kvm`, makes a VM "
      "with 2 MiB and one vCPU, and runs a 4-byte CPL3 guest (`out; jmp .`) to its exit, with no "
      "ELF, no threads and no devices.")
    w("")
    w("| VMM | median | mean ± sd | min | max | runs | median vs kvm-min |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for name, label in (("kvm-min", "kvm-min"), ("kvm-floor-exit", "kvm-floor + exitonly.elf"),
                        ("kvmini-exit", "kvmini + exitonly.elf")):
        c = cold[name]
        w(f"| {label} | {fmt_time(c['median_s'])} | {fmt_time(c['mean_s'])} ± "
          f"{fmt_time(c['stddev_s'])} | {fmt_time(c['min_s'])} | {fmt_time(c['max_s'])} | "
          f"{c['runs']} | {c['median_s'] / cold['kvm-min']['median_s']:.2f}x |")
    w("")
    w(f"Where kvmini's {sp['wall']:.1f} ms go (medians of {ex['runs']} runs of `kvmini run "
      "--stats --kernel exitonly.elf`, which times from `main()`):")
    w("")
    w("| part | ms |")
    w("| --- | --- |")
    w(f"| `main()` to the first guest instruction: parsing, the ELF, the VM, devices, "
      f"filters, threads | {sp['to_first_insn']:.1f} |")
    w(f"| the guest: the runtime's way to CPL3 and its exit, until kvmini has stopped | "
      f"{sp['guest']:.1f} |")
    w(f"| outside `main()`: exec, the dynamic loader, and the teardown (closing the VM, "
      f"unmapping its memory) | {sp['outside_main']:.1f} |")
    w("")
    w("What the cold start cost before and what cut it (2026-12-06, in the rig): linking libslirp "
      "brought glib and pcre2 into every start, and the dynamic loader's work on them and on "
      "libseccomp, liburing and libelf took about 60 ms of a 250 ms start; libslirp is now "
      "loaded only for `--net user` and the others are linked static. Compiling the five "
      "seccomp filters with libseccomp and resolving about 450 system call names took another "
      "30 ms; both are now done at build time. The rest of kvmini's lead over kvm-min is the "
      "ELF it reads and parses, its threads (event loop, vCPU, stop watchdog) and devices, "
      "and the 128 MiB VM it tears down.")
    w("")
