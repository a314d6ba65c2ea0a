"""Operations (issue 5): what an operator does with a running pair, checked
the way they would check it: `failoverctl status` against `ip addr`, a
client probing every millisecond through a switchover, maintenance holding
back a failover, live reloads that move nothing, a refused non-root user,
garbage on the control socket, the sd_notify messages systemd would see,
and realtime = true.

Timers are short (interval 20 ms, dead 100 ms, init_dead 300 ms) except
where a test says otherwise; every wait is a poll with a deadline. The
control socket protocol and the status object are documented in
docs/status-json.md.
"""

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import threading
import time

from helpers import (HOSTS, VIPS, agree, counter, holds, only_holder,
                     settled, snapshot, start_pair, state_is, wait_for)
import fodlab
from test_holes import HANDOVER_OVERLAP_S, Timeline

A4, B4 = HOSTS["alpha"]["v4"], HOSTS["beta"]["v4"]
EXTRA4, EXTRA6 = "192.0.2.11", "2001:db8::11"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PROTO = b"failoverd/1"


def reach_vips(lab, vips=VIPS):
    for v in vips:
        lab.reach("client", v)


def sock_path(d):
    return os.path.join(d.dir, "run", "control.sock")


def ctl_sock(d, *args, prefix=(), timeout=10):
    """failoverctl -s SOCKET (needs no readable, valid config)."""
    return fodlab.run(list(prefix) + [fodlab.FAILOVERCTL, "-s", sock_path(d)]
                      + list(args), check=False, timeout=timeout)


def out(p):
    return p.stdout + p.stderr


def history(st):
    """The transitions of a status without their ages (for comparing)."""
    return [(t["from"], t["to"], t["reason"]) for t in st["transitions"]]


def config_with(lab, host, extra_vips=(), **cluster):
    """lab.config(host, **cluster) plus VIPs on eth0 ("addr/len")."""
    cfg = lab.config(host, **cluster)
    cfg["vips"] = cfg["vips"] + [{"address": a, "interface": "eth0"}
                                 for a in extra_vips]
    return cfg


def reload_ok(d):
    p = d.ctl("reload")
    assert p.returncode == 0, "%s: reload: exit %d: %s" % (
        d.host, p.returncode, out(p))
    assert "reloaded" in p.stdout, out(p)


def notify_logger(lab, host):
    """A notify.d hook of host appending "STATE PREV REASON" to a file;
    the file's path."""
    path = os.path.join(lab.dir, "%s-notify.log" % host)
    hook = os.path.join(lab.host_dir(host), "hooks", "notify.d", "50-log")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\necho "$FAILOVERD_STATE $FAILOVERD_PREV_STATE '
                '$FAILOVERD_REASON" >> %s\n' % path)
    os.chmod(hook, 0o755)
    return path


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f.read().splitlines()]
    except FileNotFoundError:
        return []


# --- 1: status -----------------------------------------------------------

def links_measured(d):
    """Status of d once every link is up with a round-trip time."""
    st = d.try_status()
    if st and all(ln["up"] and isinstance(ln["rtt_us"], int)
                  for ln in st["links"]):
        return st
    return None


def check_vips_match_ip(lab, host, st):
    """Each VIP's "present" in the status is what `ip addr` shows."""
    have = lab.addresses(host)
    for v in st["vips"]:
        assert v["present"] == (fodlab.addr_only(v["address"]) in have), (
            host, v, have)


def test_status_agrees_with_ip_addr(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    sa = wait_for(lambda: links_measured(a), 5, msg="alpha's link rtt")
    sb = wait_for(lambda: links_measured(b), 5, msg="beta's link rtt")
    assert agree(a, b), snapshot(lab)
    for d, st, state, peer, peer_state, prio, peer_prio, local, remote in (
            (a, sa, "active", "beta", "standby", 150, 100, A4, B4),
            (b, sb, "standby", "alpha", "active", 100, 150, B4, A4)):
        assert st["_exit"] == 0, st
        assert st["version"] == 1 and st["node"] == d.host, st
        assert st["state"] == state and st["maintenance"] is False, st
        assert st["priority"] == st["effective_priority"] == prio, st
        assert isinstance(st["since_ms_ago"], int) and st["reason"], st
        p = st["peer"]
        assert (p["name"], p["state"], p["known"], p["alive"],
                p["priority"]) == (peer, peer_state, True, True,
                                   peer_prio), p
        assert 0 <= p["heard_ms_ago"] < 100, p
        ln = st["links"][0]
        assert (ln["interface"], ln["local"], ln["peer"], ln["up"]) == (
            "eth0", local, remote, True), ln
        assert 0 <= ln["heard_ms_ago"] < 100, ln
        assert 0 < ln["rtt_us"] < 100000, ln
        assert [v["address"] for v in st["vips"]] == [
            fodlab.VIP4 + "/24", fodlab.VIP6 + "/64"], st["vips"]
        assert all(v["expected"] == (state == "active")
                   for v in st["vips"]), st["vips"]
        check_vips_match_ip(lab, d.host, st)
        assert st["counters"]["sent"] > 0, st["counters"]
        assert st["counters"]["received"] > 0, st["counters"]
        assert st["transitions"][0]["to"] == state, st["transitions"]

        # The human view says the same.
        p = d.ctl("status")
        assert p.returncode == 0, out(p)
        text = p.stdout
        assert re.search(r"^node +%s \(cluster 1\), priority %d "
                         r"\(effective %d\)$" % (d.host, prio, prio), text,
                         re.M), text
        assert re.search(r"^state +%s since \d+ (ms|s) ago" % state, text,
                         re.M), text
        assert re.search(r"^peer +%s: %s, priority %d, heard \d+ ms ago$"
                         % (peer, peer_state, peer_prio), text, re.M), text
        assert re.search(r"^link 0 +eth0 %s -> %s: up, heard \d+ ms ago, "
                         r"rtt \d+ us$" % (re.escape(local),
                                           re.escape(remote)), text,
                         re.M), text
        want = "present" if state == "active" else "absent"
        for v in ("192.0.2.10/24", "2001:db8::10/64"):
            assert re.search(r"^vip +%s on eth0: %s$" % (re.escape(v), want),
                             text, re.M), text
        assert re.search(r"^counters +sent \d+, received \d+", text,
                         re.M), text

    # alpha loses its link: fault, not healthy (exit 3), holds no VIP.
    lab.cut("alpha")
    st = wait_for(lambda: state_is(a, "fault"), 5, msg="alpha in fault",
                  describe=lambda: snapshot(lab))
    assert st["reason"] == "interface-down:eth0", st
    assert st["_exit"] == 3, st
    p = a.ctl("status")
    assert p.returncode == 3, out(p)
    assert re.search(r"^state +fault since .*\(interface-down:eth0\)$",
                     p.stdout, re.M), p.stdout
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over", describe=lambda: snapshot(lab))
    wait_for(lambda: "alpha" not in lab.vip_holders(fodlab.VIP4), 5,
             msg="alpha, in fault, to drop its VIPs")
    for d in (a, b):
        st = d.status()
        check_vips_match_ip(lab, d.host, st)
    assert b.status()["_exit"] == 0


# --- 2: switchover -------------------------------------------------------

def lost_spans(prober, t0, since):
    """Runs of lost probes (the prober started at t0, wall clock), in
    seconds from since."""
    spans, run = [], None
    for send_ms, rtt in prober.probes():
        t = t0 + send_ms / 1000 - since
        if rtt is None:
            run = (run[0] if run else t, t)
        elif run:
            spans.append(run)
            run = None
    if run:
        spans.append(run)
    return ", ".join("%.3f-%.3f" % r for r in spans)


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def switchover_without_loss(lab, old, new):
    """Switch from old to new under 1 ms probes of both VIPs: none lost,
    and the two held them at once only for the make-before-break overlap.
    The probes run from before the request until the client has reached
    both VIPs at the new holder. On a loss it tells when, beside the
    nodes' addresses and the client's neighbour entries."""
    tl = Timeline(lab)
    neigh = os.path.join(lab.dir, "client-neigh-%d" % len(lab.procs))
    with open(neigh, "wb") as f:
        lab.spawn("client", ["ip", "-ts", "monitor", "neigh"], stdout=f,
                  stderr=subprocess.STDOUT)
    csvs = [os.path.join(lab.dir, "probes-%d-%d" % (len(lab.procs), i))
            for i in range(len(VIPS))]
    probers, t0 = [], []
    for v, c in zip(VIPS, csvs):
        probers.append(lab.prober("client", v, interval_ms=1, csv=c))
        probers[-1].wait_ready()
        t0.append(time.time())
    asked = time.time()
    p = old.ctl("switchover")
    assert p.returncode == 0, out(p)
    assert "switchover to %s" % new.host in p.stdout, out(p)
    sn, so = settled(lab, new, old, timeout=5)
    reach_vips(lab)
    for pr in probers:
        pr.stop()
    results = [pr.result(timeout=15) for pr in probers]
    for v, r, pr, t in zip(VIPS, results, probers, t0):
        # the whole story, not a repr pytest cuts short
        assert r["sent"] > 0 and r["lost"] == 0, "\n".join((
            "%s: %r" % (v, r), "seconds from the request (%.3f): lost %s"
            % (asked, lost_spans(pr, t, asked)), "held %s:" % fodlab.VIP4,
            tl.describe(since=asked), "client neighbours:", read_text(neigh)))
    tl.assert_overlap_within(HANDOVER_OVERLAP_S)
    assert sn["transitions"][0]["to"] == "active", sn["transitions"]
    assert sn["transitions"][0]["reason"] == "switchover", sn["transitions"]
    assert (so["transitions"][0]["from"], so["transitions"][0]["to"],
            so["transitions"][0]["reason"]) == ("active", "standby",
                                                "switchover"), so
    return sn, so


def test_switchover_both_ways_without_loss(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    switchover_without_loss(lab, a, b)
    reach_vips(lab)

    # alpha (preempt = true, higher priority) does not take it straight back.
    base = counter(a, "received")

    def beta_keeps_it():
        assert only_holder(lab, "beta"), snapshot(lab)
        assert agree(b, a), snapshot(lab)
        return counter(a, "received") >= base + 50
    wait_for(beta_keeps_it, 10, msg="alpha to hear 50 heartbeats as standby")

    # A switchover asked of the standby node is refused.
    p = a.ctl("switchover")
    assert p.returncode == 1, out(p)
    assert "switchover refused: this node is not active" in p.stderr, out(p)

    switchover_without_loss(lab, b, a)
    reach_vips(lab)
    # Once more each way: a race at the takeover shows only now and then.
    switchover_without_loss(lab, a, b)
    switchover_without_loss(lab, b, a)

    # Peer dead: refused, and alpha keeps the VIPs.
    b.kill()
    wait_for(lambda: (a.status()["peer"]["alive"] is False), 5,
             msg="alpha to see beta dead", describe=lambda: snapshot(lab))
    p = a.ctl("switchover")
    assert p.returncode == 1, out(p)
    assert "switchover refused: the peer is not heard" in p.stderr, out(p)
    assert only_holder(lab, "alpha") and state_is(a, "active"), snapshot(lab)


# --- 3: maintenance ------------------------------------------------------

def test_maintenance_stops_failover(lab):
    log = notify_logger(lab, "beta")
    a, b = start_pair(lab)
    p = b.ctl("maintenance", "on")
    assert p.returncode == 0, out(p)
    st = wait_for(lambda: state_is(b, "maintenance"), 5,
                  msg="beta in maintenance")
    assert st["maintenance"] is True and st["reason"] == "maintenance", st
    assert st["_exit"] == 0, st          # maintenance is a healthy state
    assert re.search(r"^state +maintenance ", b.ctl("status").stdout, re.M)
    wait_for(lambda: a.status()["peer"]["state"] == "maintenance", 5,
             msg="alpha to see beta in maintenance")
    # Nothing to switch over to.
    p = a.ctl("switchover")
    assert p.returncode == 1, out(p)
    assert "switchover refused: the peer is not standby" in p.stderr, out(p)

    a.kill()
    lab.cut("alpha")

    def frozen():
        assert "beta" not in lab.vip_holders(fodlab.VIP4), snapshot(lab)
        assert "beta" not in lab.vip_holders(fodlab.VIP6), snapshot(lab)
        st = state_is(b, "maintenance")
        assert st, snapshot(lab)
        return st["peer"]["heard_ms_ago"] > 5 * 100     # 5 * dead_ms
    wait_for(frozen, 5, msg="alpha silent for 5 * dead_ms")
    assert "beta" not in lab.vip_holders(fodlab.VIP4), snapshot(lab)

    p = b.ctl("maintenance", "off")
    assert p.returncode == 0, out(p)
    st = wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
                  msg="beta to take over after maintenance",
                  describe=lambda: snapshot(lab))
    reach_vips(lab)
    assert history(st)[:3] == [("standby", "active", "peer-dead"),
                               ("maintenance", "standby", "maintenance-off"),
                               ("standby", "maintenance", "maintenance")], st

    # notify.d saw every step (STATE PREV REASON).
    want = [["maintenance", "standby", "maintenance"],
            ["standby", "maintenance", "maintenance-off"],
            ["active", "standby", "peer-dead"]]
    seen = wait_for(lambda: (lambda ls: ls if ls[-3:] == want else None)(
        read_lines(log)), 10, msg="notify hooks to log the takeover",
        describe=lambda: repr(read_lines(log)))
    assert seen[0][0] == "standby", seen     # init -> standby at start


def test_maintenance_on_the_active_node_is_not_preempted(lab):
    """beta holds the VIPs in maintenance; alpha (higher priority, preempt
    = true) restarts: it comes up standby and stays so, beta alone holds
    the VIPs. Maintenance off: alpha preempts through a handover."""
    a, b = start_pair(lab)
    switchover_without_loss(lab, a, b)
    assert b.ctl("maintenance", "on").returncode == 0
    wait_for(lambda: state_is(b, "maintenance"), 5, msg="beta in maintenance")
    a.stop()
    a.start()
    st = wait_for(lambda: state_is(a, "standby"), 5, msg="alpha standby",
                  describe=lambda: snapshot(lab))
    assert st["peer"]["state"] == "maintenance", st
    base = counter(a, "received")

    def beta_keeps_it():
        assert only_holder(lab, "beta"), snapshot(lab)
        assert state_is(a, "standby"), snapshot(lab)
        assert state_is(b, "maintenance"), snapshot(lab)
        return counter(a, "received") >= base + 50
    wait_for(beta_keeps_it, 10, msg="alpha to hear 50 heartbeats as standby")
    reach_vips(lab)

    assert b.ctl("maintenance", "off").returncode == 0
    sa, sb = settled(lab, a, b)
    assert history(sa)[0] == ("standby", "active", "preempt"), sa
    assert history(sb)[:2] == [("active", "standby", "preempt"),
                               ("maintenance", "active",
                                "maintenance-off")], sb
    reach_vips(lab)


# --- 4: reload -----------------------------------------------------------

# An unknown key on line 1 of an otherwise valid config adding a VIP.
BAD_KEY = 'colour = "red";\n'


def test_reload_invalid_config_keeps_running_one(lab):
    a, b = start_pair(lab)
    before = history(a.status())
    bad = BAD_KEY + fodlab.render_config(config_with(lab, "alpha",
                                                     [EXTRA4 + "/24"]))
    a.write_config(bad)

    # failoverctl reload (it reads the config itself first).
    p = a.ctl("reload")
    assert p.returncode == 1, out(p)
    assert "%s:1: " % a.conf in out(p), out(p)
    # What the daemon says (failoverctl -s does not read the config).
    p = ctl_sock(a, "reload")
    assert p.returncode == 1, out(p)
    assert "%s:1: " % a.conf in p.stdout, out(p)
    assert "running configuration stays" in p.stderr, out(p)
    assert "reload refused" in a.log(), a.log_tail()

    # SIGHUP: the same, logged.
    refused = a.log().count("reload refused")
    os.kill(a.pid, signal.SIGHUP)
    wait_for(lambda: a.log().count("reload refused") > refused, 5,
             msg="alpha to log the refused SIGHUP reload",
             describe=lambda: a.log_tail())
    assert "%s:1: " % a.conf in a.log().rsplit("reload refused", 1)[1]

    assert a.running, a.log_tail()
    p = ctl_sock(a, "status", "--json")
    assert p.returncode == 0, out(p)
    assert '"state":"active"' in p.stdout, p.stdout
    assert EXTRA4 not in p.stdout, p.stdout     # the VIP was not added
    assert only_holder(lab, "alpha"), snapshot(lab)
    assert all(EXTRA4 not in h for h in map(str, lab.addresses("alpha")))
    reach_vips(lab)

    # A good file again: reload works, nothing moved meanwhile.
    a.write_config(lab.config("alpha"))
    reload_ok(a)
    st = a.status()
    assert history(st) == before, st["transitions"]
    settled(lab, a, b)


def test_reload_adds_and_removes_vip_without_transition(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    before = {d.host: history(d.status()) for d in (a, b)}
    # The VIPs still configured are never dropped: probe one throughout.
    prober = lab.prober("client", fodlab.VIP4, interval_ms=5)
    prober.wait_ready()

    for d in (b, a):
        d.write_config(config_with(lab, d.host,
                                   [EXTRA4 + "/24", EXTRA6 + "/64"]))
        reload_ok(d)
    for v in (EXTRA4, EXTRA6):
        wait_for(lambda: lab.vip_holders(v) == ["alpha"], 5,
                 msg="%s on alpha only" % v, describe=lambda: snapshot(lab))
        lab.reach("client", v)
    sa, sb = a.status(), b.status()
    assert [v["address"] for v in sa["vips"]][2:] == [EXTRA4 + "/24",
                                                      EXTRA6 + "/64"], sa
    assert [v["present"] for v in sa["vips"]] == [True] * 4, sa["vips"]
    assert [v["present"] for v in sb["vips"]] == [False] * 4, sb["vips"]

    for d in (b, a):
        d.write_config(lab.config(d.host))
        reload_ok(d)
    for v in (EXTRA4, EXTRA6):
        wait_for(lambda: lab.vip_holders(v) == [], 5,
                 msg="%s gone" % v, describe=lambda: snapshot(lab))
    assert only_holder(lab, "alpha"), snapshot(lab)
    assert len(a.status()["vips"]) == 2
    reach_vips(lab)

    prober.stop()
    r = prober.result()
    assert r["sent"] > 10 and r["lost"] == 0, r   # probed through all reloads
    for d in (a, b):
        assert history(d.status()) == before[d.host], snapshot(lab)
    assert agree(a, b), snapshot(lab)


def heartbeat_rate(d, name, count, timeout):
    """Counter name's rate (per second, on the daemon's clock) over the
    time it takes to grow by count."""
    s0 = d.status()
    s1 = wait_for(lambda: (lambda s: s if s["counters"][name] >=
                           s0["counters"][name] + count else None)(
        d.status()), timeout, msg="%s of %s to grow by %d" % (
            name, d.host, count))
    return ((s1["counters"][name] - s0["counters"][name]) * 1000.0 /
            (s1["uptime_ms"] - s0["uptime_ms"]))


def test_reload_interval_without_failover(lab):
    a, b = start_pair(lab)
    before = {d.host: history(d.status()) for d in (a, b)}
    rate = heartbeat_rate(a, "sent", 40, 5)
    assert 35 <= rate <= 52, "sent %.1f/s at interval 20 ms" % rate

    # 20 -> 50 ms (dead_ms 100 -> 300 so that one late heartbeat is not
    # a failover); the standby first, so that it tolerates the slower peer.
    for d in (b, a):
        d.write_config(lab.config(d.host, interval_ms=50, dead_ms=300))
        reload_ok(d)
    rate = heartbeat_rate(a, "sent", 30, 5)
    assert 15 <= rate <= 21, "sent %.1f/s at interval 50 ms" % rate
    rate = heartbeat_rate(b, "received", 30, 5)
    assert 15 <= rate <= 21, "received %.1f/s at interval 50 ms" % rate
    assert only_holder(lab, "alpha") and agree(a, b), snapshot(lab)
    for d in (a, b):
        assert history(d.status()) == before[d.host], snapshot(lab)


# --- 5: control socket security and robustness ---------------------------

@contextlib.contextmanager
def chmods(*pairs):
    """Temporarily chmod (path, mode) pairs; restored afterwards."""
    old = [(path, stat.S_IMODE(os.stat(path).st_mode)) for path, _ in pairs]
    try:
        for path, mode in pairs:
            os.chmod(path, mode)
        yield
    finally:
        for path, mode in old:
            os.chmod(path, mode)


def test_non_root_request_is_refused(lab):
    a, b = start_pair(lab)
    sock = sock_path(a)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    p = ctl_sock(a, "status", prefix=NOBODY)
    assert p.returncode == 1, out(p)
    assert re.search(r"cannot reach failoverd at .*: Permission denied",
                     p.stderr), out(p)
    assert p.stdout == "", p.stdout

    # Even if the socket were opened up by mistake, SO_PEERCRED refuses.
    with chmods((lab.dir, 0o711), (sock, 0o666)):
        for cmd in (["status"], ["maintenance", "on"], ["switchover"]):
            p = ctl_sock(a, *cmd, prefix=NOBODY)
            assert p.returncode == 1, (cmd, out(p))
            assert "permission denied" in p.stderr, (cmd, out(p))
            assert p.stdout == "", (cmd, p.stdout)
    wait_for(lambda: "refused a request from uid 65534" in a.log(), 5,
             msg="the refusal logged", describe=lambda: a.log_tail())
    # Nothing happened.
    settled(lab, a, b)
    assert a.status()["maintenance"] is False


def raw_request(path, data, timeout=5.0, eof=False):
    """Send data on a new control connection (then shut down our side if
    eof); what comes back until the daemon closes it (b"" if it just
    closes). AssertionError if it keeps the connection open longer than
    timeout."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        if data:
            try:
                s.sendall(data)
                if eof:
                    s.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass    # closed on us mid-way: read what it said
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError("no close after %ss for %r"
                                     % (timeout, data[:60]))
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def error_reply(got, what):
    assert got.startswith(PROTO + b" error: "), got
    assert what.encode() in got.split(b"\n")[0], got


def test_garbage_on_control_socket(lab):
    a, b = start_pair(lab)
    path = sock_path(a)
    before = history(a.status())

    # A silent client is dropped, and does not hold up anybody else.
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.settimeout(10)       # deadline; the daemon drops it after 2 s
    silent.connect(path)
    try:
        assert a.status()["state"] == "active"
        assert silent.recv(100) == b""
    finally:
        silent.close()

    error_reply(raw_request(path, b"failoverd/2 status\n"),
                "unsupported protocol")
    error_reply(raw_request(path, b"GET / HTTP/1.0\r\n\r\n"),
                "unsupported protocol")
    error_reply(raw_request(path, b"failoverd/1 frobnicate\n"),
                'unknown command "frobnicate"')
    error_reply(raw_request(path, b"failoverd/1 maintenance sideways\n"),
                "unknown command")
    error_reply(raw_request(path, b"failoverd/1 switchover now\n"),
                "no group named now")
    error_reply(raw_request(path, b"failoverd/1 \n"), "empty request")
    error_reply(raw_request(path, b"failoverd/1 status " + b"x" * 5000
                            + b"\n"), "request too long")
    error_reply(raw_request(path, b"x" * 100000), "request too long")
    error_reply(raw_request(path, b"failoverd/1 sta", eof=True),
                "request ends without a newline")
    error_reply(raw_request(path, b"failoverd/1 sta"),    # half, then waits
                "request incomplete after 2000 ms")
    error_reply(raw_request(path, b"failoverd/1 status\0\n"),
                "request contains a NUL byte")
    for _ in range(10):
        junk = secrets.token_bytes(secrets.choice((10, 200, 300, 4000)))
        got = raw_request(path, junk + b"\n")
        assert got.startswith(PROTO + b" error: "), (junk, got)

    assert a.running, a.log_tail()
    st = a.status()
    assert st["_exit"] == 0 and history(st) == before, snapshot(lab)
    assert st["maintenance"] is False
    settled(lab, a, b)
    reach_vips(lab)


# --- 6: sd_notify --------------------------------------------------------

class NotifySocket:
    """A datagram socket like systemd's NOTIFY_SOCKET, read by a thread
    (the daemon does not wait for a slow reader: datagrams would be lost)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages = []      # (monotonic time, text)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            with self.lock:
                self.messages.append((time.monotonic(),
                                      data.decode(errors="replace")))

    def close(self):
        self.done.set()
        self.thread.join(5)
        self.sock.close()

    def all(self):
        with self.lock:
            return list(self.messages)

    def texts(self, watchdog=False):
        """Messages as texts, without the WATCHDOG=1 pets unless asked."""
        return [m for _, m in self.all() if watchdog or m != "WATCHDOG=1"]

    def wait(self, pred, timeout, msg):
        """Until pred(non-watchdog texts) holds."""
        return wait_for(lambda: pred(self.texts()), timeout, msg=msg,
                        describe=lambda: repr(self.texts()))


@contextlib.contextmanager
def environ(**env):
    """Set environment variables for the processes started meanwhile
    (fodlab's Daemon passes its own environment on)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fields(text):
    return dict(line.split("=", 1) for line in text.splitlines()
                if "=" in line)


def test_sd_notify_messages_in_order(lab):
    ns = NotifySocket(os.path.join(lab.dir, "notify.sock"))
    try:
        a = lab.daemon("alpha", start=False)
        with environ(NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="200000"):
            a.start()
        ns.wait(lambda t: any("READY=1" in m for m in t), 5, "READY=1")
        first = ns.texts()[0]
        # READY=1 comes with the role: alone, alpha claims after init_dead.
        assert fields(first).get("READY") == "1", first
        assert fields(first)["STATUS"].startswith("active"), first
        assert state_is(a, "active")

        b = lab.daemon("beta")
        settled(lab, a, b)
        p = a.ctl("switchover")
        assert p.returncode == 0, out(p)
        settled(lab, b, a)
        ns.wait(lambda t: any(fields(m).get("STATUS", "").startswith(
            "standby") for m in t), 5, "STATUS=standby")

        reload_ok(a)
        ns.wait(lambda t: sum("READY=1" in m for m in t) == 2, 5,
                "READY=1 after the reload")
        os.kill(a.pid, signal.SIGHUP)
        ns.wait(lambda t: sum("READY=1" in m for m in t) == 3, 5,
                "READY=1 after SIGHUP")
        assert a.stop(signal.SIGTERM) == 0, a.log_tail()
        ns.wait(lambda t: any("STOPPING=1" in m for m in t), 5,
                "STOPPING=1")
        stopped = time.monotonic()
    finally:
        ns.close()

    texts = [fields(m) for m in ns.texts()]
    seq = []
    for f in texts:
        if "READY" in f:
            seq.append("READY")
        elif "RELOADING" in f:
            assert f["MONOTONIC_USEC"].isdigit(), f
            seq.append("RELOADING")
        elif "STOPPING" in f:
            # sent as the stop begins, with the state it is in
            assert f["STATUS"].startswith("stopping"), f
            seq.append("STOPPING")
        elif "STATUS" in f:
            seq.append("STATUS=" + f["STATUS"].split()[0])
        else:
            raise AssertionError("unexpected sd_notify message %r" % f)
    assert seq == ["READY", "STATUS=standby", "RELOADING", "READY",
                   "RELOADING", "READY", "STOPPING"], (
        seq, ns.texts())
    for f in [f for f in texts if "READY" in f][1:]:
        # READY=1 after a reload says the state too
        assert f["STATUS"].startswith("standby"), texts

    # WATCHDOG=1 every 100 ms (half of WATCHDOG_USEC) from start to stop.
    pets = [t for t, m in ns.all() if m == "WATCHDOG=1" and t < stopped]
    assert len(pets) >= 5, ns.all()
    # (the median: one late read of the socket by this test is no gap)
    gaps = sorted(y - x for x, y in zip(pets, pets[1:]))
    assert 0.05 < gaps[len(gaps) // 2] < 0.15, gaps


# --- 7: realtime ---------------------------------------------------------

def sched_policy(pid):
    with open("/proc/%d/sched" % pid) as f:
        for line in f:
            if line.startswith("policy"):
                return int(line.split(":")[1])
    return None


def locked_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    return 0


def test_realtime(lab):
    """realtime = true: the daemon runs SCHED_FIFO with locked memory; its
    hooks run as ordinary processes (SCHED_OTHER), so a busy hook cannot
    starve the host or the daemon."""
    cfgs = {}
    for h in ("alpha", "beta"):
        cfgs[h] = lab.config(h)
        cfgs[h]["realtime"] = True
    policy_file = os.path.join(lab.dir, "hook-policy")
    hook = os.path.join(lab.host_dir("beta"), "hooks", "promote.d", "10-chrt")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nchrt -p $$ > %s\n" % policy_file)
    os.chmod(hook, 0o755)
    a, b = start_pair(lab, cfgs["alpha"], cfgs["beta"])
    for d in (a, b):
        with open("/proc/%d/comm" % d.pid) as f:
            assert f.read().strip() == "failoverd"
        assert sched_policy(d.pid) == 1, "%s is not SCHED_FIFO" % d.host
        p = fodlab.run(["chrt", "-p", str(d.pid)])
        assert "SCHED_FIFO" in p.stdout, p.stdout
        assert locked_kb(d.pid) > 0, "%s: no locked memory" % d.host
        assert "realtime:" not in d.log(), d.log_tail()  # no warning
    reach_vips(lab)
    lab.cut("alpha")
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over", describe=lambda: snapshot(lab))
    reach_vips(lab)
    assert sched_policy(b.pid) == 1
    text = wait_for(lambda: os.path.exists(policy_file) and
                    open(policy_file).read(), 5, msg="the promote hook to run")
    assert "SCHED_OTHER" in text, text


def test_control_group_members_may_use_failoverctl(lab):
    """control_group: the socket is 0660 to that group; a member (here the
    unprivileged uid 65534 with group nogroup) may ask for status; a user
    outside the group still may not."""
    grp = "nogroup"
    gid = 65534
    cfg = lab.config("alpha")
    cfg["control_group"] = grp
    a, b = start_pair(lab, cfg)
    sock = sock_path(a)
    st = os.stat(sock)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid, st
    run = os.path.dirname(sock)
    assert stat.S_IMODE(os.stat(run).st_mode) == 0o750, oct(os.stat(run).st_mode)
    member = ["setpriv", "--reuid=65534", "--regid=%d" % gid, "--clear-groups"]
    outsider = ["setpriv", "--reuid=65534", "--regid=65533", "--clear-groups"]
    with chmods((lab.dir, 0o711), (a.dir, 0o711)):
        p = ctl_sock(a, "status", "--json", prefix=member)
        assert p.returncode == 0, out(p)
        assert json.loads(p.stdout)["state"] == "active", p.stdout
        p = ctl_sock(a, "status", prefix=outsider)
        assert p.returncode == 1, out(p)
        assert p.stdout == "", p.stdout
