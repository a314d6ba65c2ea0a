"""The etcd client (daemon/etcd.c, design 11) against a real three-member
etcd cluster in the lab's namespaces, through build/etcdtool: the module on
the daemon's loop, driven by commands on stdin, reporting JSON lines.

Nodes alpha and beta each run an etcdtool; etcd1..etcd3 run etcd. Times
in the tool's events ("now", "valid_until") are CLOCK_MONOTONIC ms, the
clock of time.monotonic(), so they compare across processes."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from helpers import wait_for
import fodlab

ETCDTOOL = os.path.join(fodlab.BUILD, "etcdtool")
TTL = 2
TIMEOUT_MS = TTL * 1000 // 4         # etcd_request_timeout_ms()


class Tool:
    """build/etcdtool in host's namespace; events collected by a thread."""

    def __init__(self, lab, host, urls, grace_ms=None):
        if not os.access(ETCDTOOL, os.X_OK):
            pytest.fail("%s is missing: run `make`" % ETCDTOOL,
                        pytrace=False)
        self.host = host
        self.state = os.path.join(lab.host_dir(host), "state")
        argv = [ETCDTOOL, "-n", host, "-t", str(TTL), "-s", self.state]
        if grace_ms is not None:
            argv += ["-g", str(grace_ms)]
        self.p = lab.spawn(host, argv + list(urls), stdin=subprocess.PIPE)
        self.events = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait(lambda e: e["ev"] == "ready", 5, "ready")

    def _read(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)

    def mark(self):
        with self.lock:
            return len(self.events)

    def find(self, pred, since=0):
        with self.lock:
            for e in self.events[since:]:
                if pred(e):
                    return e
        return None

    def all(self, pred, since=0):
        with self.lock:
            return [e for e in self.events[since:] if pred(e)]

    def wait(self, pred, timeout, msg, since=0):
        return wait_for(lambda: self.find(pred, since), timeout, 0.02,
                        "%s: %s" % (self.host, msg),
                        describe=lambda: self.describe())

    def describe(self):
        with self.lock:
            tail = self.events[-15:]
        err = ""
        if self.p.poll() is not None:
            err = self.p.stderr.read().decode(errors="replace")
        return "\n".join(json.dumps(e) for e in tail) + err

    def send(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def key(self, op, group, timeout=5, extra=""):
        """Run op on group; its key event."""
        m = self.mark()
        self.send(("%s %s %s" % (op, group, extra)).strip())
        ack = self.wait(lambda e: e["ev"] == "ack" and e["cmd"] == op, 5,
                        "ack of %s" % op, m)
        assert ack["rc"] == 0, "%s %s refused at once" % (op, group)
        return self.wait(lambda e: e["ev"] == "key" and e["group"] == group
                         and e["op"] == op, timeout, "%s %s" % (op, group), m)

    def status(self):
        m = self.mark()
        self.send("status")
        return self.wait(lambda e: e["ev"] == "status", 5, "status", m)

    def ticks(self):
        m = self.mark()
        self.send("ticks")
        return self.wait(lambda e: e["ev"] == "ticks", 5, "ticks", m)

    def lease(self, timeout=10, since=0):
        return self.wait(lambda e: e["ev"] == "lease" and e["valid"],
                         timeout, "a lease", since)

    def lost(self, since=0):
        return self.find(lambda e: e["ev"] == "lease" and not e["valid"],
                         since)

    def last_valid_until(self):
        evs = self.all(lambda e: e["ev"] in ("renewed", "lease")
                       and e.get("valid", True))
        return evs[-1]["valid_until"] if evs else 0

    def quit(self, sig=None):
        if sig is not None:
            self.p.send_signal(sig)
        else:
            self.send("quit")
        self.p.wait(10)


@pytest.fixture
def elab():
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    if not os.access(fodlab.ETCD, os.X_OK):
        pytest.skip("etcd-server is not installed (scripts/install-deps)")
    lab = fodlab.Lab(hosts=("alpha", "beta"))
    lab.up()
    try:
        lab.etcd = lab.etcd_cluster()
        yield lab
    finally:
        lab.down()


def member_status(lab, m):
    """etcd's /v3/maintenance/status of member m: (member_id, leader)."""
    p = lab.ns_exec(m, ["curl", "-sS", "-m", "2", "-X", "POST", "-d", "{}",
                        lab.etcd.url(m) + "/v3/maintenance/status"],
                    check=False, timeout=5)
    try:
        st = json.loads(p.stdout)
        return st["header"]["member_id"], st["leader"]
    except (ValueError, KeyError):
        return None


def a_follower(lab):
    """A member that is not the leader (polled: after start-up or a
    failure the cluster may still be electing)."""
    def find():
        for m in lab.etcd.members:
            st = member_status(lab, m)
            if st and st[1] != "0" and st[0] != st[1]:
                return m
        return None
    return wait_for(find, 10, 0.1, "a follower etcd member")


def urls_first(lab, m):
    """The cluster's URLs with member m's first: the tool asks it first."""
    return [lab.etcd.url(m)] + [lab.etcd.url(x) for x in lab.etcd.members
                                if x != m]


def test_acquire_refused_release_revoke(elab):
    lab = elab
    a = Tool(lab, "alpha", lab.etcd.urls)
    b = Tool(lab, "beta", lab.etcd.urls)
    la, lb = a.lease(), b.lease()
    assert la["ttl"] >= TTL and la["id"] != lb["id"]
    now = time.monotonic() * 1000
    assert now < la["valid_until"] <= la["now"] + la["ttl"] * 1000

    assert a.key("acquire", "web")["result"] == "held"
    e = b.key("acquire", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "alpha")
    assert e["holder_lease"] == la["id"]
    # held again (same lease): an acquire retried after a timeout is fine
    assert a.key("acquire", "web")["result"] == "held"
    # another group is independent
    assert b.key("acquire", "db")["result"] == "held"
    # a release by who does not hold it deletes nothing
    e = b.key("release", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "alpha")

    assert a.key("release", "web")["result"] == "free"
    assert b.key("holder", "web")["result"] == "free"
    assert b.key("acquire", "web")["result"] == "held"
    e = a.key("holder", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "beta")

    # status: every member reachable (probed), the lease, the groups
    st = wait_for(lambda: (lambda s: s if s["reachable"] == 3 else None)(
        b.status()), 10, 0.2, "3 reachable members")
    assert st["lease_id"] == lb["id"] and 0 < st["lease_ms_left"] <= 2000
    groups = {g["name"]: g for g in st["groups"]}
    assert groups["web"]["state"] == "held"
    assert groups["web"]["key"] == "/failoverd/1/web"

    # revoke (graceful stop): the keys go at once
    m = b.mark()
    b.send("revoke")
    b.wait(lambda e: e["ev"] == "lease" and not e["valid"], 5, "revoked", m)
    assert a.key("acquire", "web")["result"] == "held"
    assert a.key("acquire", "db")["result"] == "held"
    assert not os.path.exists(os.path.join(b.state, "etcd-lease"))


def test_frozen_holder_frees_key_after_lease_not_before(elab):
    lab = elab
    a = Tool(lab, "alpha", lab.etcd.urls)
    b = Tool(lab, "beta", lab.etcd.urls)
    a.lease()
    b.lease()
    assert a.key("acquire", "web")["result"] == "held"
    a.wait(lambda e: e["ev"] == "renewed", 5, "a renewal")
    os.kill(a.p.pid, signal.SIGSTOP)    # ip netns exec has exec'd the tool
    stopped = time.monotonic() * 1000
    try:
        # beta asks until the key is free and it is beta's
        def take():
            e = b.key("acquire", "web")
            return e if e["result"] == "held" else None
        got = wait_for(take, TTL * 3 + 5, 0.05, "beta takes web")
        bound = a.last_valid_until()
        assert bound > 0
        # never before alpha's safe bound; about a TTL after the freeze
        assert got["now"] >= bound, (got["now"], bound)
        assert got["now"] - stopped <= TTL * 1000 + 2500
    finally:
        os.kill(a.p.pid, signal.SIGCONT)
    # alpha learns its lease is gone, gets a new one, sees beta's key
    m = a.mark()
    a.wait(lambda e: e["ev"] == "lease" and not e["valid"], 5,
           "lease lost", 0)
    a.lease(10, m)
    e = a.key("acquire", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "beta")


def test_killed_member_lease_survives(elab):
    lab = elab
    m0 = a_follower(lab)
    a = Tool(lab, "alpha", urls_first(lab, m0))
    la = a.lease()
    assert a.key("acquire", "web")["result"] == "held"
    mark = a.mark()
    lab.etcd.kill(m0)
    killed = time.monotonic()
    # renewals go on through the others for two TTLs and more
    wait_for(lambda: time.monotonic() - killed > 2.5 * TTL and
             a.find(lambda e: e["ev"] == "renewed" and
                    e["now"] > (killed + 2 * TTL) * 1000, mark),
             4 * TTL + 5, 0.1, "renewals after the kill",
             describe=a.describe)
    assert a.lost() is None, "lease lost with one member of three killed"
    assert a.key("acquire", "web")["result"] == "held"
    st = wait_for(lambda: (lambda s: s if s["reachable"] == 2 else None)(
        a.status()), 10, 0.2, "2 reachable members")
    assert st["lease_id"] == la["id"]
    first = st["members"][0]
    assert not first["reachable"] and first["error"]


def test_blackholed_member_never_blocks_the_loop(elab):
    lab = elab
    m0 = a_follower(lab)
    a = Tool(lab, "alpha", urls_first(lab, m0))
    a.lease()
    assert a.key("acquire", "web")["result"] == "held"
    a.ticks()                           # reset the worst late tick
    lab.etcd.blackhole(m0)
    t0 = time.monotonic()
    # requests keep working (after at most a timeout on the dead member)
    for i in range(4):
        e = a.key("holder", "web", timeout=TIMEOUT_MS / 1000 * 3 + 2)
        assert e["result"] == "held", e
    wait_for(lambda: time.monotonic() - t0 > 2 * TTL, 3 * TTL, 0.1,
             "two TTLs with the blackholed member")
    t = a.ticks()
    assert t["count"] > 100
    # a blocking request would show up as a tick late by ~TIMEOUT_MS
    assert t["worst_late_ms"] < TIMEOUT_MS / 3, t
    assert a.lost() is None
    st = a.status()
    assert not st["members"][0]["reachable"]
    assert st["lease_ms_left"] > 0
    lab.etcd.unblackhole(m0)


def test_restart_adopts_lease_and_drops_unclaimed_keys(elab):
    lab = elab
    grace = 1500
    a = Tool(lab, "alpha", lab.etcd.urls, grace_ms=grace)
    b = Tool(lab, "beta", lab.etcd.urls)
    la = a.lease()
    b.lease()
    assert a.key("acquire", "web")["result"] == "held"
    assert a.key("acquire", "db")["result"] == "held"
    assert os.path.exists(os.path.join(a.state, "etcd-lease"))
    a.quit(signal.SIGKILL)

    # restart within the TTL: the same lease, the keys still alpha's
    a = Tool(lab, "alpha", lab.etcd.urls, grace_ms=grace)
    l2 = a.lease()
    assert l2["adopted"] and l2["id"] == la["id"]
    e = b.key("acquire", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "alpha")
    # it claims web (held at once) but not db
    t0 = time.monotonic()
    assert a.key("acquire", "web")["result"] == "held"
    # db is given up after the grace, web is kept
    e = wait_for(lambda: (lambda x: x if x["result"] == "held" else None)(
        b.key("acquire", "db")), grace / 1000 + 5, 0.1, "beta takes db")
    assert time.monotonic() - t0 >= grace / 1000 - 0.3
    e = b.key("acquire", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "alpha")
    assert a.lost() is None

    # restart after the lease is gone: a new lease, nothing adopted
    a.quit(signal.SIGKILL)
    wait_for(lambda: (lambda x: x if x["result"] == "held" else None)(
        b.key("acquire", "web")), TTL * 3 + 5, 0.1, "beta takes web")
    a = Tool(lab, "alpha", lab.etcd.urls, grace_ms=grace)
    l3 = a.lease()
    assert not l3["adopted"] and l3["id"] != la["id"]
    e = a.key("acquire", "web")
    assert (e["result"], e["holder"]) == ("held-by-other", "beta")
