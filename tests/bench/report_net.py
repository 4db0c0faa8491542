# SPDX-License-Identifier: MIT
"""The virtio-net section of tests/bench/report: the network phase's numbers (from the `net`
samples of tests/bench/netrun and the settings netphase wrote to net.txt), its targets, its part
of the Markdown page and its console summary. Raises ValueError on missing or bad samples."""

import statistics

GIB = 1 << 30
TOOLS = (("kvmini-tap", "kvmini, `--net tap`"), ("qemu-tap", "QEMU virtio-net-pci, TAP"),
         ("kvmini-user", "kvmini, `--net user`"), ("qemu-user", "QEMU virtio-net-pci, `-netdev user`"),
         ("veth", "veth pair between two namespaces (the floor)"))
STREAMS = (("send", "guest → host"), ("recv", "host → guest"))


def _spread(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "runs": len(vals)}


def _one(r):
    """The figures of one operation's sample."""
    for k in ("us", "cpu_user_s", "cpu_sys_s", "cpu_guest_s", "srv_user_s", "srv_sys_s"):
        if not isinstance(r.get(k), (int, float)):
            raise ValueError(f"{r.get('vmm')}: a net sample lacks {k}: {r}")
    secs = r["us"] / 1e6
    if secs <= 0:
        raise ValueError(f"{r['vmm']}: a net sample took no time: {r}")
    cpu = r["cpu_user_s"] + r["cpu_sys_s"]
    out = {"cpu_s": cpu, "outside_s": cpu - r["cpu_guest_s"],
           "srv_s": r["srv_user_s"] + r["srv_sys_s"]}
    if r["op"] == "rr":
        for k in ("count", "p50_ns", "p99_ns"):
            if not isinstance(r.get(k), int):
                raise ValueError(f"{r['vmm']}: an rr sample lacks {k}: {r}")
        out.update({"p50_us": r["p50_ns"] / 1000, "p99_us": r["p99_ns"] / 1000,
                    "tps": r["count"] / secs})
    else:
        gib = r["bytes"] / GIB
        out.update({"mbps": r["bytes"] / secs / 1e6, "cpu_per_gib": cpu / gib,
                    "outside_per_gib": out["outside_s"] / gib, "srv_per_gib": out["srv_s"] / gib})
    return out


def net_section(settings, samples):
    """Medians per (tool, op) over the runs, and the ratios the targets compare."""
    net = {"settings": settings, "results": {}, "ratios": {}}
    for tool, _ in TOOLS:
        for op in ("send", "recv", "rr"):
            rows = [_one(r) for r in samples
                    if r["kind"] == "net" and r["vmm"] == tool and r["op"] == op]
            if not rows:
                raise ValueError(f"no net samples for {tool} {op}")
            net["results"][f"{tool}/{op}"] = {k: _spread([x[k] for x in rows]) for k in rows[0]}
    res, ratios = net["results"], net["ratios"]
    for a, b in (("kvmini-tap", "qemu-tap"), ("kvmini-user", "qemu-user"),
                 ("kvmini-tap", "veth"), ("kvmini-user", "veth")):
        for op, _ in STREAMS:
            ratios[f"{a}_vs_{b}_{op}"] = res[f"{a}/{op}"]["mbps"]["median"] / \
                res[f"{b}/{op}"]["mbps"]["median"]
        ratios[f"{a}_vs_{b}_rr_p50"] = res[f"{a}/rr"]["p50_us"]["median"] / \
            res[f"{b}/rr"]["p50_us"]["median"]
    return net


def net_targets(net):
    """The target rows of the network phase."""
    r, targets = net["ratios"], []
    for a, b, what in (("kvmini-tap", "qemu-tap", "TAP"), ("kvmini-user", "qemu-user", "user")):
        for op, label in STREAMS:
            x = r[f"{a}_vs_{b}_{op}"]
            targets.append({"name": f"virtio-net {what}, TCP {label}: kvmini's throughput at or "
                                    "above QEMU's",
                            "measured": f"{x:.2f}x QEMU's", "met": x >= 1.0})
    x = r["kvmini-tap_vs_qemu-tap_rr_p50"]
    targets.append({"name": "virtio-net TAP, request/response: kvmini's median round trip at or "
                            "below QEMU's",
                    "measured": f"{x:.2f}x QEMU's", "met": x <= 1.0})
    return targets


def _command(st, key):
    """A command of net.txt as a reader would type it: the sizes filled in (netphase writes MIB
    and RR for them), no shell escapes."""
    cmd = st[key].replace("\\,", ",").replace("\\ ", " ")
    return cmd.replace("MIBM", f"{st['mib']}M").replace("--rr RR", f"--rr {st['rr']}")


def net_section_md(w, net, in_rig):
    st, res, r = net["settings"], net["results"], net["ratios"]
    w("## virtio-net network")
    w("")
    w("One static workload at both ends, `netbench` (`guests/workloads/netbench.c`): the client "
      "runs in the Linux guest (`build/guest/`, one vCPU, 256 MiB, started by the init), or for "
      "the floor in a second network namespace; the server runs on the host side and times "
      "every operation with its own clock. **send** moves "
      f"{st['mib']} MiB guest → host and **recv** {st['mib']} MiB host → guest over one TCP "
      "connection each (time from the request to the last byte, acknowledged); **rr** is "
      f"{st['rr']} one-byte requests each answered by one byte (netperf's TCP_RR), the server "
      "timing each round trip. Each configuration ran "
      f"{st['runs']} times, all five alternating (the first rotating every run), after one "
      "unmeasured run each; the tables give medians. The whole phase runs in a network namespace "
      "of its own (`tests/bench/netphase`).")
    w("")
    w("- **TAP**: kvmini `--net tap=kvtap0` and QEMU `-netdev tap,vhost=off` on the same TAP "
      "(10.9.0.1 on the host, 10.9.0.2 in the guest); both are userspace virtio-net devices "
      "with the offloads the TAP accepts (`/dev/vhost-net` is absent where this runs).")
    w("- **user**: kvmini `--net user` and QEMU `-netdev user`, both libslirp; the guest takes a "
      "DHCP lease and reaches the server on the host's loopback through 10.0.2.2.")
    w("- **veth**: the same client in another network namespace over a veth pair, the path a "
      "container's traffic takes: the floor, with no VM at all.")
    w("- CPU time, per GiB moved: **VMM** is user plus system time of the whole VMM process "
      "(all threads, `/proc/PID/stat`) across the operation, the guest's own CPU included; the "
      "figure in brackets leaves out the kernel's guest time, so it is what the VMM and the host "
      "kernel spent outside the guest. **server** is the host end's. For veth, the client "
      "process stands where the VMM does.")
    w("")
    w("| path | guest → host | host → guest | round trip p50 | p99 | transactions/s "
      "| CPU s/GiB → host: VMM (outside guest) | server | CPU s/GiB ← host: VMM (outside guest) "
      "| server |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for tool, label in TOOLS:
        s, v, rr = res[f"{tool}/send"], res[f"{tool}/recv"], res[f"{tool}/rr"]
        w(f"| {label} | {s['mbps']['median']:,.1f} MB/s | {v['mbps']['median']:,.1f} MB/s | "
          f"{rr['p50_us']['median']:,.0f} µs | {rr['p99_us']['median']:,.0f} µs | "
          f"{rr['tps']['median']:,.0f} | {s['cpu_per_gib']['median']:.2f} "
          f"({s['outside_per_gib']['median']:.2f}) | {s['srv_per_gib']['median']:.2f} | "
          f"{v['cpu_per_gib']['median']:.2f} ({v['outside_per_gib']['median']:.2f}) | "
          f"{v['srv_per_gib']['median']:.2f} |")
    w("")
    w("Spread (min – max of the runs):")
    w("")
    w("| path | guest → host MB/s | host → guest MB/s | round trip p50 µs |")
    w("| --- | --- | --- | --- |")
    for tool, label in TOOLS:
        s, v, rr = (res[f"{tool}/{op}"] for op in ("send", "recv", "rr"))
        w(f"| {label} | {s['mbps']['min']:,.1f} – {s['mbps']['max']:,.1f} | "
          f"{v['mbps']['min']:,.1f} – {v['mbps']['max']:,.1f} | "
          f"{rr['p50_us']['min']:,.0f} – {rr['p50_us']['max']:,.0f} |")
    w("")
    for a, b, what in (("kvmini-tap", "qemu-tap", "TAP"), ("kvmini-user", "qemu-user", "user")):
        w(f"- {what}: kvmini moves {r[f'{a}_vs_{b}_send']:.2f}x QEMU's throughput guest → host "
          f"and {r[f'{a}_vs_{b}_recv']:.2f}x host → guest; its median round trip is "
          f"{r[f'{a}_vs_{b}_rr_p50']:.2f}x QEMU's. Against the veth floor: "
          f"{r[f'{a}_vs_veth_send']:.2f}x and {r[f'{a}_vs_veth_recv']:.2f}x the throughput, "
          f"{r[f'{a}_vs_veth_rr_p50']:.1f}x the round trip.")
    w("")
    w(f"Commands: `{_command(st, 'kvmini_cmd')}`; `{_command(st, 'qemu_cmd')}` (QEMU reports the "
      "guest's 0 as exit status 1; every run was checked to exit with exactly that, kvmini's with "
      f"0); the veth client: `{_command(st, 'veth_cmd')}`. The guest's command over TAP: "
      f"`{_command(st, 'guest_tap').rstrip(';')}`; over user networking it first runs `udhcpc`.")
    if in_rig:
        w("")
        w("In the rig every guest instruction is TCG-emulated and each queue notification and "
          "interrupt is a VM exit costing tens of microseconds; L1 has one vCPU, so the guest, "
          "the VMM's threads, the host's TCP stack and the server take turns on it, and the VMM's "
          "CPU time is close to the wall time. The veth floor runs at L1's speed with no VM in "
          "the way, which is why it is so far ahead. The ratios between the VMMs compare; the "
          "MB/s and microseconds do not transfer to hardware.")
    w("")


def print_net_summary(net):
    """report's console summary of the network phase."""
    res = net["results"]
    for tool, _ in TOOLS:
        s, v, rr = (res[f"{tool}/{op}"] for op in ("send", "recv", "rr"))
        print(f"  net {tool:<11} -> host {s['mbps']['median']:,.1f} MB/s, <- host "
              f"{v['mbps']['median']:,.1f} MB/s, rr p50 {rr['p50_us']['median']:,.0f} us; "
              f"VMM CPU s/GiB {s['cpu_per_gib']['median']:.2f} / {v['cpu_per_gib']['median']:.2f}")
