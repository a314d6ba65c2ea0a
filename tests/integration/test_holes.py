"""Split-brain holes (issue 11): an interface deleted and created again,
preemption on one-way evidence after a link heal, an ordinary restart taken
for a healed partition, a healed partition that cost the client packets,
a killed daemon's VIPs (failoverd --cleanup) and late heartbeats counted
as replays.

Every test that moves the VIPs records each node's addresses for its whole
length with `ip -ts monitor address` and computes, from the kernel's own
timestamps, how long both nodes held the VIP at once.
"""

import datetime
import os
import re
import subprocess
import time

import pytest

from helpers import (VIP4, counter, holders, only_holder, settled,
                     snapshot, start_pair, state_is, wait_for)
from test_core import client_learns, partition_both_active
from test_splitbrain import lab2, pair, reach_vips  # noqa: F401
import fodlab

# A make-before-break handover overlaps for about one heartbeat round trip;
# dead_ms (100 ms here) is far above that and far below the holes' figures
# (240-820 ms after a port heal; for ever after an interface re-creation).
HANDOVER_OVERLAP_S = 0.1
TS_RE = re.compile(r"^\[([0-9T:.-]+)\] (Deleted )?\d+: \S+\s+inet6? (\S+)/\d+ ")
ADDR_RE = re.compile(r"^\d+: \S+\s+inet6? (\S+)/\d+ ")


class Timeline:
    """`ip -ts -o monitor address` in each host: when each held VIP4."""

    def __init__(self, lab, hosts=("alpha", "beta")):
        self.lab, self.paths, self.seed = lab, {}, {}
        for h in hosts:
            path = os.path.join(lab.dir, "timeline-%s-%d" % (h, len(lab.procs)))
            with open(path, "wb") as out:
                lab.spawn(h, ["ip", "-ts", "-o", "monitor", "address"],
                          stdout=out, stderr=subprocess.STDOUT)
            self.paths[h] = path
        for h in hosts:
            self._ready(h)
        # what each already holds counts from now (the monitor saw no add)
        for h in hosts:
            t = time.time()
            out = lab.ns_exec(h, ["ip", "-o", "addr", "show"]).stdout
            self.seed[h] = [(t, "add", m.group(1)) for m in
                            map(ADDR_RE.match, out.splitlines()) if m]

    def _ready(self, host, timeout=5):
        mark = "192.0.2.250"
        deadline = time.monotonic() + timeout
        while not any(a == mark for _, _, a in self.events(host)):
            assert time.monotonic() < deadline, "ip monitor in %s is mute" % host
            self.lab.ns_exec(host, ["ip", "addr", "replace", mark + "/32",
                                    "dev", "lo"])
            time.sleep(0.05)
        self.lab.ns_exec(host, ["ip", "addr", "del", mark + "/32", "dev", "lo"])

    def events(self, host):
        out = list(self.seed.get(host, ()))
        with open(self.paths[host], errors="replace") as f:
            for line in f:
                m = TS_RE.match(line)
                if m:
                    t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
                    out.append((t, "del" if m.group(2) else "add", m.group(3)))
        return sorted(out, key=lambda e: e[0])

    def intervals(self, host, vip=VIP4, now=None):
        """[(start, end)] during which host held vip (end None: still)."""
        out, start = [], None
        for t, kind, addr in self.events(host):
            if addr != vip:
                continue
            if kind == "add" and start is None:
                start = t
            elif kind == "del" and start is not None:
                out.append((start, t))
                start = None
        if start is not None:
            out.append((start, now))
        return out

    def overlaps(self, vip=VIP4, since=0.0):
        """[(start, seconds)] of each time two nodes held vip after since."""
        now = time.time()
        hs = list(self.paths)
        got = []
        for i, h1 in enumerate(hs):
            for h2 in hs[i + 1:]:
                for s1, e1 in self.intervals(h1, vip, now):
                    for s2, e2 in self.intervals(h2, vip, now):
                        s, e = max(s1, s2, since), min(e1, e2)
                        if e > s:
                            got.append((s, e - s))
        return sorted(got)

    def describe(self, vip=VIP4, since=None):
        """Who held vip when, in seconds from since (default: the first
        event)."""
        t0 = since if since is not None else min(
            (e[0] for h in self.paths for e in self.events(h)), default=0)
        return "\n".join("%s: %s" % (h, ", ".join(
            "%.3f-%s" % (s - t0, "now" if e is None else "%.3f" % (e - t0))
            for s, e in self.intervals(h, vip))) for h in self.paths)

    def assert_overlap_within(self, limit, since=0.0, vip=VIP4):
        worst = max((d for _, d in self.overlaps(vip, since)), default=0.0)
        assert worst <= limit, (
            "both nodes held %s for %.3f s (limit %.3f s)\n%s"
            % (vip, worst, limit, self.describe(vip)))
        return worst


def transitions(st):
    return [(t["from"], t["to"], t["reason"]) for t in reversed(st["transitions"])]


# --- 1: an interface deleted and created again ------------------------------

def test_interface_recreated_links_follow_one_holder(lab):
    """alpha's eth0 is deleted (driver reload, VLAN rebuilt), beta takes
    over; eth0 comes back with a new ifindex and MAC. alpha's heartbeat
    socket follows the new interface: it hears beta, preempts through a
    handover, and from then on one node holds the VIPs."""
    a, b = pair(lab)
    tl = Timeline(lab)
    lab.unplug("alpha")
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over from alpha without eth0",
             describe=lambda: snapshot(lab))
    time.sleep(0.3)     # hold the fault: several heartbeats fail meanwhile
    healed = time.time()
    lab.replug("alpha")
    settled(lab, a, b, timeout=10)
    # ...and it stays so: a broken socket would let alpha claim again
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert only_holder(lab, "alpha"), snapshot(lab)
        time.sleep(0.05)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=healed)
    assert re.search(r"link 0: interface eth0 .*(back|reopening)", a.log()), \
        a.log_tail()
    reach_vips(lab)


def test_missing_link_interface_at_start_is_down_not_fatal(lab2):
    """One of two redundant links has no interface at start: the daemon
    runs on the other, and takes the second up when its interface appears."""
    lab = lab2
    lab.unplug("alpha", link=1)
    a, b = pair(lab)
    assert re.search(r"link 1: interface eth1 is missing", a.log()), a.log_tail()
    assert [l["up"] for l in a.status()["links"]] == [True, False]
    lab.replug("alpha", link=1)
    wait_for(lambda: [l["up"] for l in a.status()["links"]] == [True, True],
             5, msg="alpha's link 1 to come up on the new eth1",
             describe=lambda: "%r\n%s" % (a.status()["links"], a.log_tail()))
    assert only_holder(lab, "alpha"), snapshot(lab)


# --- 2, 9: preemption after a port heal; late heartbeats are late ---------

@pytest.mark.parametrize("cut_s", [2.0, 0.05])
def test_port_heal_preempts_on_two_way_evidence(lab, cut_s):
    """alpha's switch port is cut (2 s, or 50 ms: shorter than dead_ms).
    Its ARP entry for beta is gone with the carrier, so after the heal alpha
    may hear beta before beta hears alpha. It preempts only once beta echoes
    a heartbeat alpha sent after the carrier came back (an echo from before
    the cut proves nothing): the handover overlaps for a heartbeat at most
    (it was 240-820 ms). Heartbeats released late after the heal are
    `late`, not `replays`."""
    a, b = pair(lab)
    tl = Timeline(lab)
    for _ in range(3):
        lab.cut("alpha")
        if cut_s > 1:
            wait_for(lambda: only_holder(lab, "beta"), 5,
                     msg="beta to take over", describe=lambda: snapshot(lab))
        time.sleep(cut_s)
        healed = time.time()
        lab.heal("alpha")
        settled(lab, a, b, timeout=10)
        tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=healed)
    if cut_s > 1:
        assert transitions(b.status())[-1][1:] == ("standby", "preempt")
    for d in (a, b):
        assert counter(d, "replays") == 0, snapshot(lab)
        assert counter(d, "dual_active") == 0, snapshot(lab)
    reach_vips(lab)


# --- 10: an ordinary restart is no healed partition -------------------------

def test_restart_and_preempt_is_not_dual_active(lab):
    """With the default timers (100 ms heartbeats): the restarted alpha used
    to preempt on the first message that echoed it, before beta had heard
    it, and beta logged a healed partition."""
    a, b = start_pair(lab, lab.config("alpha", fast=False),
                      lab.config("beta", fast=False))
    tl = Timeline(lab)
    for _ in range(3):
        a.stop()
        wait_for(lambda: only_holder(lab, "beta"), 5, msg="beta to take over",
                 describe=lambda: snapshot(lab))
        started = time.time()
        a.start()
        settled(lab, a, b, timeout=10)
        tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=started)
        assert transitions(b.status())[-1] == ("active", "standby",
                                                "preempt"), snapshot(lab)
    for d in (a, b):
        assert counter(d, "dual_active") == 0, snapshot(lab)
        assert not re.search(r"both nodes (were )?active", d.log()), d.log_tail()


# --- 11: a healed partition costs the client nothing ---------------------

def test_partition_heal_is_make_before_break(lab):
    """Heartbeats partitioned (carrier up, the client reaches both): both
    active, the client follows beta's announcements. The heal reaches beta,
    the loser, first (as it may in a real heal): it keeps its copy until
    alpha has heard it active and announced, so the client loses no 1 ms
    probe. (It used to release at once: the client lost the packets sent
    until alpha heard beta and announced.)"""
    a, b = pair(lab, dead_ms=400)
    reach_vips(lab)
    for attempt in range(2):
        partition_both_active(lab, a, b)
        client_learns(lab, "beta")      # it follows beta's announcements
        p = lab.prober("client", VIP4, interval_ms=1)
        p.wait_ready()
        time.sleep(0.2)
        lab.partition("alpha", "in")    # beta hears alpha, not yet back
        time.sleep(0.1)
        lab.unpartition("alpha")
        settled(lab, a, b, timeout=5)
        time.sleep(0.3)
        p.stop()
        r = p.result()
        assert r["lost"] == 0, "heal %d: client lost %r\n%s" % (
            attempt, r, snapshot(lab))
        assert transitions(b.status())[-1] == ("active", "standby",
                                                "dual-active"), snapshot(lab)


# --- 4: failoverd --cleanup --------------------------------------------------

def cleanup(lab, d):
    return lab.ns_exec(d.host, [fodlab.FAILOVERD, "--cleanup", "-f", d.conf],
                       check=False)


def test_cleanup_removes_a_dead_daemons_vips_only(lab):
    a, b = pair(lab, vip_lease_s=30)
    # a running daemon's VIPs are not touched
    p = cleanup(lab, a)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "running" in p.stderr, p.stderr
    assert only_holder(lab, "alpha"), snapshot(lab)
    # nor a frozen one's
    os.kill(a.pid, 19)      # SIGSTOP
    try:
        p = cleanup(lab, a)
        assert p.returncode == 1, (p.returncode, p.stderr)
        assert all("alpha" in h for h in holders(lab).values()), snapshot(lab)
    finally:
        os.kill(a.pid, 18)  # SIGCONT
    settled(lab, a, b, timeout=10)
    # killed: its copies would stay for the 30 s lease; --cleanup removes them
    a.kill()
    wait_for(lambda: a.exited(), 5, msg="alpha to die")
    assert all("alpha" in h for h in holders(lab).values()), snapshot(lab)
    p = cleanup(lab, a)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert all("alpha" not in h for h in holders(lab).values()), snapshot(lab)
    # nothing left to do is no error
    p = cleanup(lab, a)
    assert p.returncode == 0, (p.returncode, p.stderr)
    wait_for(lambda: only_holder(lab, "beta"), 5, msg="beta to hold the VIPs")
