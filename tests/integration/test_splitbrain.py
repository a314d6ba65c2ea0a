"""Split-brain defence (issue 4): the self-fencing VIP lease, repair of a
deleted VIP, redundant links, the arbiter, fencing hooks and partition heal,
seen the way an operator sees them: `ip addr` on each node (and `ip monitor
address` where a brief VIP must not be missed), a client pinging the VIPs,
`failoverctl status --json`, the daemons' logs and what the hooks recorded.

Timers are short (interval 20 ms, dead 100 ms, VIP lease 2 s) except where
a test says why not; every wait is a poll with a deadline.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from helpers import (HOSTS, VIP4, VIP6, VIPS, agree, assert_secure, counter, holders, holds,
                     only_holder, settled, snapshot, start_pair, state_is,
                     wait_for)
import fodlab

LEASE_S = 2
CLIENT4 = HOSTS["client"]["v4"]
MARGIN_S = 2.0      # the kernel checks IPv4 lifetimes on whole seconds


def conf(lab, host, **cluster):
    """lab.config with the short lease of these tests."""
    cluster.setdefault("vip_lease_s", LEASE_S)
    return lab.config(host, **cluster)


def pair(lab, **cluster):
    return start_pair(lab, conf(lab, "alpha", **cluster),
                      conf(lab, "beta", **cluster))


def reach_vips(lab):
    for v in VIPS:
        lab.reach("client", v)


def client_points_at(lab, host):
    """The client's ARP and ND entries of both VIPs name host's MAC."""
    mac = lab.mac(host)
    return all((lab.neighbour("client", v) or ("",))[0] == mac for v in VIPS)


def history(st):
    """Transitions, oldest first, without their ages."""
    return [(t["from"], t["to"], t["reason"])
            for t in reversed(st["transitions"])]


def log_has(d, pattern):
    return re.search(pattern, d.log())


# --- hooks ---------------------------------------------------------------

def record_hook(lab, host, kind, name="10-record", status=0):
    """A hook in host's <kind>.d that records each run (its environment and
    the addresses the node had at that moment) and exits with status.
    Returns the directory of the records, read with runs()."""
    d = os.path.join(lab.host_dir(host), "hooks", kind + ".d")
    os.makedirs(d, 0o755, exist_ok=True)
    os.chmod(d, 0o755)
    rec = os.path.join(lab.dir, "%s-%s-runs" % (host, kind))
    os.makedirs(rec, 0o755, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "f=%s/run.$(date +%%s%%N).$$\n"
                "{ env | grep '^FAILOVERD_'; echo \"PATH=$PATH\";\n"
                "  echo \"HOOK_ADDRS=$(ip -o addr show | awk '{print $4}' "
                "| tr '\\n' ' ')\"; } > \"$f.tmp\"\n"
                "mv \"$f.tmp\" \"$f\"\n"
                "exit %d\n" % (rec, status))
    os.chmod(path, 0o755)
    assert_secure(path)
    return rec


def runs(rec):
    """The recorded runs of a record_hook, oldest first, as dicts."""
    out = []
    for name in sorted(n for n in os.listdir(rec) if not n.endswith(".tmp")):
        with open(os.path.join(rec, name)) as f:
            out.append(dict(line.split("=", 1) for line in
                            f.read().splitlines() if "=" in line))
    return out


def vip_absent_in(addrs):
    """HOOK_ADDRS (e.g. '192.0.2.2/24 ...') holds neither VIP."""
    have = {a.split("/")[0] for a in addrs.split()}
    return not have & {VIP4, VIP6}


# --- address monitor -----------------------------------------------------

MON_RE = re.compile(r"^(Deleted )?\d+: \S+\s+inet6? (\S+)/\d+ ")


class AddrMonitor:
    """`ip -o monitor address` in host's namespace, written to a file: the
    kernel's own account of every address added, refreshed or deleted,
    which no polling of `ip addr` can miss."""

    def __init__(self, lab, host):
        self.lab, self.host = lab, host
        self.path = os.path.join(lab.dir, "monitor-%s-%d"
                                 % (host, len(lab.procs)))
        with open(self.path, "wb") as out:
            self.proc = lab.spawn(host, ["ip", "-o", "monitor", "address"],
                                  stdout=out, stderr=subprocess.STDOUT)

    def lines(self):
        with open(self.path, errors="replace") as f:
            return f.read().splitlines()

    def events(self, vip, start=0):
        """["add" | "del", ...] for vip, from line start on (an "add" is
        also a refresh of the lifetime)."""
        want = str(fodlab.addr_only(vip))
        out = []
        for line in self.lines()[start:]:
            m = MON_RE.match(line)
            if m and m.group(2) == want:
                out.append("del" if m.group(1) else "add")
        return out

    def ready(self, timeout=5):
        """Wait until the monitor listens: a marker address on lo, put
        (again) until it shows up, then removed."""
        mark = "192.0.2.250"
        deadline = time.monotonic() + timeout
        while not self.events(mark):
            assert time.monotonic() < deadline, \
                "ip monitor in %s reports nothing" % self.host
            self.lab.ns_exec(self.host, ["ip", "addr", "replace",
                                         mark + "/32", "dev", "lo"])
            time.sleep(0.05)
        self.lab.ns_exec(self.host, ["ip", "addr", "del", mark + "/32",
                                     "dev", "lo"])

    def mark(self):
        return len(self.lines())


# --- fixtures ------------------------------------------------------------

@pytest.fixture
def lab2(request):
    """A lab whose nodes also have a second heartbeat link (eth1, br1)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    for path in (fodlab.FAILOVERD, fodlab.FAILOVERCTL, fodlab.PROBER):
        if not os.access(path, os.X_OK):
            pytest.fail("%s is missing: run `make` first" % path,
                        pytrace=False)
    lab = fodlab.Lab(link2=True)
    lab.up()
    try:
        yield lab
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            for d in lab.daemons:
                print("\n===== %s (%s) log =====\n%s"
                      % (d.host, lab.ns(d.host), d.log_tail(80)))
        lab.down()


def nft(lab, host, text):
    lab.ns_exec(host, ["nft", "-f", "-"], input=text)


# --- 1: SIGKILL ----------------------------------------------------------

def test_sigkill_active_copy_expires_within_lease(lab):
    a, b = pair(lab)
    reach_vips(lab)
    t0 = time.monotonic()
    a.kill()
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over from the killed alpha",
             describe=lambda: snapshot(lab))
    assert b.status()["reason"] == "peer-dead", snapshot(lab)
    # Nobody removes alpha's copy: its lifetime runs out in the kernel.
    wait_for(lambda: only_holder(lab, "beta"),
             LEASE_S + MARGIN_S - (time.monotonic() - t0),
             msg="alpha's copies to expire within the %d s lease" % LEASE_S,
             describe=lambda: snapshot(lab))
    wait_for(lambda: client_points_at(lab, "beta"), 3,
             msg="client's neighbour entries to name beta",
             describe=lambda: "%r" % [lab.neighbour("client", v)
                                      for v in VIPS])
    reach_vips(lab)


# --- 2: SIGSTOP / SIGCONT ------------------------------------------------

def test_sigstop_active_then_sigcont_hands_back_without_loss(lab):
    a, b = pair(lab)
    reach_vips(lab)
    before = history(a.status())
    mon = AddrMonitor(lab, "alpha")
    # The running daemon refreshes its lease: that shows up in the monitor.
    wait_for(lambda: all(mon.events(v) for v in VIPS), LEASE_S + 1,
             msg="alpha to refresh its VIPs' lifetime",
             describe=lambda: "\n".join(mon.lines()))

    probers = []
    t0 = time.monotonic()
    os.kill(a.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
                 msg="beta to take over from the frozen alpha",
                 describe=lambda: snapshot(lab))
        start = mon.mark()
        wait_for(lambda: only_holder(lab, "beta"),
                 LEASE_S + MARGIN_S - (time.monotonic() - t0),
                 msg="frozen alpha's copies to expire within the lease",
                 describe=lambda: snapshot(lab))
        # The kernel deleted them, nobody else ran in alpha.
        assert all(mon.events(v, start) == ["del"] for v in VIPS), \
            mon.lines()[start:]
        wait_for(lambda: client_points_at(lab, "beta"), 3,
                 msg="client's neighbour entries to name beta")
        reach_vips(lab)

        probers += [lab.prober("client", v, interval_ms=1,
                               duration_ms=20000) for v in VIPS]
        for p in probers:
            p.wait_ready()
        resumed = mon.mark()
    finally:
        os.kill(a.pid, signal.SIGCONT)
    try:
        settled(lab, a, b, timeout=5)
        wait_for(lambda: client_points_at(lab, "alpha"), 3,
                 msg="client's neighbour entries to name alpha again")
    finally:
        for p in probers:
            p.stop()
    results = [p.result() for p in probers]

    # alpha read what it missed before touching its VIPs: no VIP added or
    # refreshed and then removed again (by its own late yield, or back and
    # forth over the backlog); it took them back once, by preempt, after
    # yielding (not by a fight it wins: see the history).
    for v in VIPS:
        ev = mon.events(v, resumed)
        assert ev and ev[0] == "add" and "del" not in ev, (v, ev)
    assert log_has(a, r"event loop stalled"), a.log_tail()
    assert log_has(a, r"state active -> standby \(stalled\)"), a.log_tail()
    after = history(a.status())
    assert after[-2:] == [("active", "standby", "stalled"),
                          ("standby", "active", "preempt")], after
    assert after[:-2] == before, (before, after)
    # The hand-back was a handover: no probe lost in either family.
    for v, r in zip(VIPS, results):
        assert r["sent"] > 0 and r["lost"] == 0, (v, r)
    assert history(b.status())[-1][:2] == ("active", "standby")


# --- 3: repair -----------------------------------------------------------

@pytest.mark.parametrize("vip", VIPS, ids=["ipv4", "ipv6"])
def test_deleted_vip_is_restored_and_announced(lab, vip):
    # A long lease: a refresh cannot put the address back during the test,
    # only the repair from the netlink notification can.
    a, b = pair(lab, vip_lease_s=30)
    reach_vips(lab)
    before = history(a.status())
    addr = vip + ("/24" if vip == VIP4 else "/64")
    # The client has been told (wrongly) that beta has the VIP.
    lab.ns_exec("client", ["ip", "neigh", "replace", vip, "lladdr",
                           lab.mac("beta"), "dev", "eth0", "nud", "stale"])
    lab.ns_exec("alpha", ["ip", "addr", "del", addr, "dev", "eth0"])
    wait_for(lambda: lab.vip_holders(vip) == ["alpha"], 1.0,
             msg="alpha to restore %s at once" % vip,
             describe=lambda: snapshot(lab))
    wait_for(lambda: (counter(a, "vip_repairs") or 0) >= 1, 2,
             msg="the repair to be counted", describe=lambda: snapshot(lab))
    assert log_has(a, r"VIP %s was removed from eth0 by someone else: "
                   r"restoring it" % re.escape(addr)), a.log_tail()
    # Restored with a lease, not forever: self-fencing still holds.
    out = json.loads(lab.ns_exec("alpha", ["ip", "-j", "addr", "show",
                                           "dev", "eth0"]).stdout)
    lft = [ai["valid_life_time"] for ai in out[0]["addr_info"]
           if ai.get("local") == vip]
    assert lft and lft[0] <= 30, out
    # Announced again: the client's entry names alpha once more.
    mac = lab.mac("alpha")
    wait_for(lambda: (lab.neighbour("client", vip) or ("",))[0] == mac, 3,
             msg="the client to learn alpha's MAC for %s again" % vip,
             describe=lambda: repr(lab.neighbour("client", vip)))
    reach_vips(lab)
    st = agree(a, b)
    assert st, snapshot(lab)
    assert history(st[0]) == before, (before, history(st[0]))
    assert only_holder(lab, "alpha"), holders(lab)


# --- 4: two links --------------------------------------------------------

def test_one_of_two_links_lost_no_failover_both_lost_failover(lab2):
    lab = lab2
    a, b = pair(lab)
    sa, sb = agree(a, b)
    assert [l["up"] for l in sa["links"]] == [True, True], sa["links"]
    ha, hb = history(sa), history(sb)

    lab.partition("alpha", ifname="eth0")

    def link0_down(d):
        st = d.try_status()
        return st and [l["up"] for l in st["links"]] == [False, True]
    for d in (a, b):
        wait_for(lambda: link0_down(d), 3,
                 msg="%s's status to show link 0 down, link 1 up" % d.host,
                 describe=lambda: snapshot(lab))
        wait_for(lambda: log_has(d, r"link 0 \(eth0\): peer silent; 1 "
                                 r"other link\(s\) still up, no failover"),
                 3, msg="%s to log the lost link" % d.host)
    base = counter(b, "received")

    def still_alpha():
        assert only_holder(lab, "alpha"), snapshot(lab)
        st = agree(a, b)
        assert st, snapshot(lab)
        assert history(st[0]) == ha and history(st[1]) == hb, snapshot(lab)
        assert [l["up"] for l in st[1]["links"]] == [False, True], \
            st[1]["links"]
        return st[1]["counters"]["received"] >= base + 25
    wait_for(still_alpha, 10, msg="25 heartbeats over link 1 alone")
    reach_vips(lab)

    lab.partition("alpha")
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over when both links are silent",
             describe=lambda: snapshot(lab))
    st = b.status()
    assert st["reason"] == "peer-dead", st
    assert [l["up"] for l in st["links"]] == [False, False], st["links"]
    assert log_has(b, r"link 1 \(eth1\): peer silent"), b.log_tail()


# --- 5: arbiter ----------------------------------------------------------

ARBITER = {"ping": [CLIENT4], "interval_ms": 50, "fail_after": 3}


def arbiter_conf(lab, host, **cluster):
    c = conf(lab, host, **cluster)
    c["arbiter"] = dict(ARBITER)
    return c


def test_isolated_node_does_not_take_vip(lab):
    """beta loses the peer and the arbiter at the same moment. The arbiter
    has its default timing (3 rounds of 500 ms), far longer than dead_ms:
    beta, finding the peer dead, asks the targets at once and claims
    nothing without an answer; 1.5 s later it knows it is cut off."""
    arb = {"ping": [CLIENT4], "interval_ms": 500, "fail_after": 3}
    ca, cb = conf(lab, "alpha"), conf(lab, "beta")
    ca["arbiter"], cb["arbiter"] = dict(arb), dict(arb)
    a, b = start_pair(lab, ca, cb)
    reach_vips(lab)
    mon = AddrMonitor(lab, "beta")
    mon.ready()
    start = mon.mark()
    nft(lab, "beta", """table inet sb_isolate {
 chain input { type filter hook input priority -10;
  udp dport %d drop; udp sport %d drop;
  ip saddr %s icmp type echo-reply drop; }
 chain output { type filter hook output priority -10;
  udp dport %d drop; udp sport %d drop; }
}
""" % (lab.port, lab.port, CLIENT4, lab.port, lab.port))
    wait_for(lambda: state_is(b, "fault"), 5,
             msg="beta to see it is isolated", describe=lambda: snapshot(lab))
    assert b.status()["reason"] == "arbiter-unreachable", snapshot(lab)
    assert log_has(b, r"peer alpha silent: taking over once an arbiter "
                   r"target answers"), b.log_tail()

    def beta_out_long_enough():
        assert not state_is(b, "active"), snapshot(lab)
        assert only_holder(lab, "alpha"), snapshot(lab)
        assert state_is(a, "active"), snapshot(lab)
        st = b.status()
        return st["peer"]["heard_ms_ago"] > 1500
    wait_for(beta_out_long_enough, 10, msg="beta to miss alpha for 1.5 s")
    assert all(mon.events(v, start) == [] for v in VIPS), mon.lines()[start:]
    st = b.status()
    assert st["_exit"] != 0, st         # fault: status says unhealthy
    assert not any(t[1] == "active" for t in history(st)[1:]), history(st)
    assert log_has(b, r"fault: arbiter-unreachable"), b.log_tail()
    reach_vips(lab)

    # Back on the network: beta is a standby again.
    nft(lab, "beta", "delete table inet sb_isolate\n")
    settled(lab, a, b, timeout=5)
    assert log_has(b, r"fault cleared: arbiter-unreachable"), b.log_tail()

    # alpha dies: beta, reaching the arbiter, takes over.
    a.kill()
    lab.cut("alpha")
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over once the arbiter answers",
             describe=lambda: snapshot(lab))
    assert b.status()["reason"] == "peer-dead", snapshot(lab)
    reach_vips(lab)


def test_active_node_losing_arbiter_releases(lab):
    a, b = start_pair(lab, arbiter_conf(lab, "alpha"),
                      arbiter_conf(lab, "beta"))
    reach_vips(lab)
    nft(lab, "alpha", """table inet sb_arbiter {
 chain input { type filter hook input priority -10;
  ip saddr %s icmp type echo-reply drop; }
}
""" % CLIENT4)
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active") and
             state_is(a, "fault"), 3,
             msg="alpha to release and beta to take over",
             describe=lambda: snapshot(lab))
    sa, sb = a.status(), b.status()
    assert sa["reason"] == "arbiter-unreachable", sa
    assert [v["present"] for v in sa["vips"]] == [False, False], sa["vips"]
    assert sb["reason"] == "peer-fault", sb
    assert log_has(a, r"arbiter: .*(no target|none of)"), a.log_tail()
    reach_vips(lab)

    nft(lab, "alpha", "delete table inet sb_arbiter\n")
    settled(lab, a, b, timeout=5)       # preempt: alpha is back
    reach_vips(lab)


# --- 6: fencing ----------------------------------------------------------

def fence_pair(lab, status, fence="required"):
    rec = record_hook(lab, "beta", "fence", "10-fence", status)
    a, b = pair(lab, fence=fence)
    return a, b, rec


def test_required_fencing_that_fails_blocks_takeover(lab):
    a, b, rec = fence_pair(lab, 1)
    mon = AddrMonitor(lab, "beta")
    mon.ready()
    start = mon.mark()
    a.kill()
    lab.cut("alpha")
    wait_for(lambda: log_has(b, r"FENCING FAILED"), 3,
             msg="beta to say loudly that fencing failed",
             describe=lambda: snapshot(lab))
    assert log_has(b, r"hook 10-fence failed: exit status 1"), b.log_tail()
    assert len(runs(rec)) == 1, runs(rec)

    def waited_long_enough():
        st = state_is(b, "standby")
        assert st, snapshot(lab)
        assert "beta" not in lab.vip_holders(VIP4), snapshot(lab)
        return st["peer"]["heard_ms_ago"] > 1500 and st
    st = wait_for(waited_long_enough, 10, msg="1.5 s without alpha")
    assert st["reason"] == "fence-failed", st
    assert [v["present"] for v in st["vips"]] == [False, False], st["vips"]
    assert all(mon.events(v, start) == [] for v in VIPS), mon.lines()[start:]
    assert len(runs(rec)) == 1, runs(rec)   # not retried behind our back


def fenced_takeover(lab, status, fence):
    """alpha dies; beta runs its fence hook (which exits with status) and
    takes over. Returns beta and the hook's one recorded run."""
    a, b, rec = fence_pair(lab, status, fence)
    a.kill()
    lab.cut("alpha")
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over after its fence hook",
             describe=lambda: snapshot(lab))
    assert b.status()["reason"] == "peer-dead"
    got = runs(rec)
    assert len(got) == 1, got
    # Run before the takeover: beta did not hold the VIPs yet.
    assert vip_absent_in(got[0]["HOOK_ADDRS"]), got[0]
    reach_vips(lab)
    return b, got[0]


def test_required_fencing_runs_before_takeover(lab):
    b, env = fenced_takeover(lab, 0, "required")
    assert env.get("FAILOVERD_EVENT") == "fence", env
    assert env.get("FAILOVERD_NODE") == "beta", env
    assert env.get("FAILOVERD_PEER") == "alpha", env
    assert env.get("FAILOVERD_CLUSTER_ID") == "1", env
    assert env.get("FAILOVERD_VIPS") == "%s/24 %s/64" % (VIP4, VIP6), env
    assert env.get("FAILOVERD_STATE") == "standby", env
    for k in ("FAILOVERD_PREV_STATE", "FAILOVERD_REASON"):
        assert k in env, env
    assert "/usr/bin" in env.get("PATH", ""), env
    assert log_has(b, r"fencing of alpha done"), b.log_tail()


def test_optional_fencing_runs_first_and_a_failure_does_not_block(lab):
    """fence = "optional" (the default): the fence hook runs before the
    takeover too; that it fails is said, and the takeover follows."""
    b, env = fenced_takeover(lab, 1, "optional")
    assert env.get("FAILOVERD_EVENT") == "fence", env
    assert log_has(b, r"FENCING FAILED: fence hook 10-fence failed; taking "
                   r"over anyway \(cluster.fence = \"optional\"\)"), \
        b.log_tail()


def test_required_fencing_not_run_for_a_peer_that_resigns(lab):
    a, b, rec = fence_pair(lab, 0)
    assert a.stop(signal.SIGTERM) == 0, a.log_tail()
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over from the resigning alpha",
             describe=lambda: snapshot(lab))
    assert b.status()["reason"] == "peer-resigned", snapshot(lab)
    # alpha is gone for good now: no fencing afterwards either.
    wait_for(lambda: b.status()["peer"]["heard_ms_ago"] > 500, 5,
             msg="alpha silent for 500 ms")
    assert state_is(b, "active"), snapshot(lab)
    assert runs(rec) == [], runs(rec)
    assert not log_has(b, r"10-fence|FENCING|fencing of"), b.log_tail()
    reach_vips(lab)


# --- 7: partition and heal -----------------------------------------------

@pytest.mark.parametrize("first", ["winner", "loser"])
def test_partition_heal_loser_demotes_both_log_episode(lab, first):
    """Partition, then heal. Which node hears the other first is a race
    in a real heal; each order is made deterministic here by opening one
    direction before the other: "winner" (alpha hears beta first, beta
    keeps the VIPs until it hears alpha) or "loser" (beta hears alpha and
    releases before alpha ever hears beta active)."""
    demoted = {h: record_hook(lab, h, "demote") for h in ("alpha", "beta")}
    a, b = pair(lab)
    reach_vips(lab)
    before = history(a.status())
    lab.partition("alpha")
    wait_for(lambda: state_is(a, "active") and state_is(b, "active") and
             all(h == ["alpha", "beta"] for h in holders(lab).values()), 5,
             msg="both active during the partition",
             describe=lambda: snapshot(lab))
    wait_for(lambda: client_points_at(lab, "beta"), 3,
             msg="the client to follow beta's announcements")
    if first == "winner":
        lab.partition("alpha", "out")       # alpha hears beta again
        wait_for(lambda: log_has(a, r"both nodes active"), 3,
                 msg="alpha to see two active nodes",
                 describe=lambda: snapshot(lab))
        assert state_is(b, "active"), snapshot(lab)
    else:
        lab.partition("alpha", "in")        # beta hears alpha again
        wait_for(lambda: state_is(b, "standby") and
                 only_holder(lab, "alpha"), 3,
                 msg="beta to release on hearing alpha",
                 describe=lambda: snapshot(lab))
    lab.unpartition("alpha")
    settled(lab, a, b, timeout=5)
    # The winner announced again: the client's entries name alpha.
    wait_for(lambda: client_points_at(lab, "alpha"), 3,
             msg="client's neighbour entries to name alpha",
             describe=lambda: "client %r, alpha %s, beta %s" % (
                 [lab.neighbour("client", v) for v in VIPS],
                 lab.mac("alpha"), lab.mac("beta")))
    reach_vips(lab)
    # The loser ran its demote hooks, after its VIPs were gone.
    got = wait_for(lambda: runs(demoted["beta"]), 5,
                   msg="beta's demote hook to run")
    assert len(got) == 1, got
    env = got[0]
    assert (env.get("FAILOVERD_EVENT"), env.get("FAILOVERD_STATE"),
            env.get("FAILOVERD_PREV_STATE")) == ("demote", "standby",
                                                  "active"), env
    assert env.get("FAILOVERD_REASON") == "dual-active", env
    assert vip_absent_in(env["HOOK_ADDRS"]), env
    assert runs(demoted["alpha"]) == [], runs(demoted["alpha"])
    assert history(a.status()) == before
    # Both say there were two active nodes, and for how long.
    for d in (a, b):
        m = wait_for(lambda: log_has(d, r"dual-active episode over after "
                                     r"(\d+) ms"), 3,
                     msg="%s to log the end of the dual-active episode"
                     % d.host, describe=lambda: "\n".join(
                         l for l in d.log().splitlines()
                         if re.search(r"state |both nodes|dual", l)))
        assert int(m.group(1)) >= 0
        assert counter(d, "dual_active") >= 1, snapshot(lab)
