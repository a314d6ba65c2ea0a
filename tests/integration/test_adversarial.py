"""Adversarial tests (issue 7): hostile peers, floods, hostile config and
files. What test_core.py already covers is not repeated here: forged
heartbeats with a wrong key not suppressing a takeover, replays not
suppressing a takeover (also across a restart of the receiver), and the
basic truncated (100 B), oversized (200 B), bad version, foreign cluster
and non-peer source cases.

A hostile input must change nothing: the same transitions in both nodes'
status, the same VIP holder, and it is counted in its own counter
(daemon/link.c decides which):

    wrong_source   not from the configured peer address (checked first)
    malformed      truncated, oversized, bad magic, bad fields, our own name
    bad_version    another protocol version
    foreign        another cluster id
    auth_failures  the HMAC does not match
    replays        (epoch, seq) seen before or older than the replay window
    late           unseen but made too long ago to prove the peer alive
                   (withheld on the path, or released late after ARP)
    unconfirmed    authentic and fresh but not echoing our current epoch

Beyond those: wrong-key forgeries that would move the VIPs if believed,
replays after the sender restarted, replays to a restarted receiver
(counted), relayed and reflected heartbeats, odd sizes and random bytes,
heartbeats withheld on the path and delivered after the active died, a
100,000 datagrams/s flood, hostile configs and key files, symlinks and
squatters in runtime_dir, a second instance, a world-writable hook.

The flood needs tests/tools/flood.c (build/flood, or compiled here into
the test's temporary directory); run with -s to see its figures (rate,
datagrams counted, kernel drops, the daemon's CPU, log lines).
FOD_ADV_ASAN=1 builds an ASan+UBSan failoverd for the hostile config and
file tests (takes a while); FOD_ADV_ASAN=/path uses that binary.
"""

import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

from helpers import (HOSTS, PY, capture, counter, finish, hbtool, hbtool_bg,
                     holders, holds, only_holder, settled, snapshot, snmp,
                     start_pair, state_is, wait_for)
import fodlab

A4, B4, M4 = HOSTS["alpha"]["v4"], HOSTS["beta"]["v4"], HOSTS["mallory"]["v4"]
ELSEWHERE4 = "192.0.2.77"        # in the subnet, but nobody's address
REPO = fodlab.REPO
FLOOD_SRC = os.path.join(REPO, "tests", "tools", "flood.c")
FLOOD_BUILT = os.path.join(fodlab.BUILD, "flood")
ST_HANDOVER, ST_HOLDS = 0x04, 0x08
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                          r"UndefinedBehaviorSanitizer")


# --- helpers ---------------------------------------------------------------

def transitions(d):
    """(from, to, reason) of every transition in d's status, newest first."""
    return [(t["from"], t["to"], t["reason"])
            for t in d.status()["transitions"]]


class Calm:
    """What must not change while a node is attacked: both nodes' list of
    transitions and the VIP holders."""

    def __init__(self, lab, *daemons):
        self.lab, self.daemons = lab, daemons
        self.before = {d.host: transitions(d) for d in daemons}
        self.holders = holders(lab)

    def check(self, what):
        for d in self.daemons:
            now = transitions(d)
            assert now == self.before[d.host], (
                "%s changed %s's transitions:\nbefore %r\nafter  %r\n%s"
                % (what, d.host, self.before[d.host], now,
                   snapshot(self.lab)))
        assert holders(self.lab) == self.holders, (
            "%s moved the VIPs\n%s" % (what, snapshot(self.lab)))


def counters(d):
    return d.status()["counters"]


def grew(d, before, name, by, timeout=5, what=""):
    """Wait until d's counter name is before[name] + by, then check that it
    went no further (every datagram was counted once, in this counter)."""
    want = before[name] + by
    wait_for(lambda: counter(d, name) >= want, timeout,
             msg="%s: %s's %s to reach %d" % (what, d.host, name, want),
             describe=lambda: json.dumps(counters(d)))
    got = counters(d)
    assert got[name] == want, "%s: %s %s is %d, want %d: %r" % (
        what, d.host, name, got[name], want, got)
    return got


HOSTILE = ("auth_failures", "replays", "late", "unconfirmed", "malformed",
           "bad_version", "foreign", "wrong_source")


def only_changed(before, after, allowed):
    """Counters of hostile input that moved, besides those allowed."""
    return {k: after[k] - before[k] for k in HOSTILE
            if k not in allowed and after[k] != before[k]}


def replay_counted(lab, d, path, name, what, src=A4, before=None):
    """mallory replays the captured heartbeats in path at d (beta) from
    src: every datagram is counted in d's counter name, and in no other
    counter of hostile input. Returns (datagrams sent, counters after)."""
    if before is None:
        before = counters(d)
    sent = hbtool(lab, "mallory", "replay", "--src", src, "--dst", B4,
                  "--file", path, "--port", lab.port)["sent"]
    after = grew(d, before, name, sent, what=what)
    assert not only_changed(before, after, {name}), after
    return sent, after


def payload_fields(hexpayload):
    """The fields of a captured heartbeat that the tests look at."""
    b = bytes.fromhex(hexpayload)
    # version 2 (two new nodes speak it): the first group's record at 96
    at = (96 + 32, 96 + 34) if b[4] == 2 else (52, 54)
    return {"epoch": int.from_bytes(b[8:16], "big"),
            "seq": int.from_bytes(b[16:24], "big"),
            "state": b[at[0]], "flags": b[at[1]]}


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def flood_bin(tmp_path_factory):
    """build/flood if it is newer than its source, else compiled here."""
    if (os.access(FLOOD_BUILT, os.X_OK) and os.path.getmtime(FLOOD_BUILT)
            >= os.path.getmtime(FLOOD_SRC)):
        return FLOOD_BUILT
    out = str(tmp_path_factory.mktemp("tools") / "flood")
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.fail("no C compiler to build %s" % FLOOD_SRC, pytrace=False)
    subprocess.run([cc, "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-o",
                    out, FLOOD_SRC], check=True, timeout=120)
    return out


def flood(lab, flood_bin, host, *args, timeout=60):
    """Run flood in host's namespace; its JSON summary."""
    p = lab.ns_exec(host, [flood_bin] + [str(a) for a in args],
                    timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def hostile_pair(lab, realtime=False, **cluster):
    """mallory, and a settled pair (cluster: config overrides; realtime:
    both daemons SCHED_FIFO, as tight timers on a busy machine want)."""
    lab.add_host("mallory")
    cfgs = [lab.config(h, **cluster) for h in ("alpha", "beta")]
    for c in cfgs:
        if realtime:
            c["realtime"] = True
    return start_pair(lab, *cfgs)


# --- hostile peers ----------------------------------------------------------

def test_wrong_key_cannot_force_failover_or_release(lab):
    """Forgeries that would move the VIPs if they were believed: alpha
    resigning (fault, stopping, handover) towards beta, and a better active
    beta towards alpha. All fail the HMAC; nothing moves."""
    a, b = hostile_pair(lab)
    calm = Calm(lab, a, b)
    ca, cb = counters(a), counters(b)
    n = 10
    to_beta = [["--state", "fault"], ["--state", "stopping"],
               ["--state", "active", "--flags", ST_HANDOVER | ST_HOLDS],
               ["--state", "standby", "--priority", 1]]
    for extra in to_beta:
        hbtool(lab, "mallory", "forge", "--random-key", "--src", A4, "--dst",
               B4, "--name", "alpha", "--count", n, "--interval-ms", 2,
               "--port", lab.port, *extra)
    to_alpha = [["--name", "beta"], ["--name", "aaa"]]
    for extra in to_alpha:
        hbtool(lab, "mallory", "forge", "--random-key", "--src", B4, "--dst",
               A4, "--state", "active", "--priority", 254, "--flags",
               ST_HOLDS, "--count", n, "--interval-ms", 2, "--port",
               lab.port, *extra)
    after_b = grew(b, cb, "auth_failures", n * len(to_beta), what="wrong key")
    after_a = grew(a, ca, "auth_failures", n * len(to_alpha),
                   what="wrong key")
    assert not only_changed(cb, after_b, {"auth_failures"}), after_b
    assert not only_changed(ca, after_a, {"auth_failures"}), after_a
    # the real heartbeats still count, and the pair still agrees
    wait_for(lambda: counter(b, "received") > after_b["received"] + 10, 5,
             msg="beta to keep receiving alpha")
    settled(lab, a, b)
    calm.check("forgeries with a wrong key")


def test_replay_after_sender_restart(lab):
    """Heartbeats of alpha's previous life, including those of its graceful
    stop that asked beta to take over, replayed to beta after alpha
    restarted: all older than alpha's new epoch, all rejected."""
    a, b = hostile_pair(lab)
    old_epoch = a.status()["epoch"]
    path = os.path.join(lab.dir, "alpha-life1.jsonl")
    cap = capture(lab, "beta", A4, 2000, path)
    heard = counter(b, "received")
    wait_for(lambda: counter(b, "received") >= heard + 10, 5,
             msg="some ordinary heartbeats in the capture first")
    assert a.stop(signal.SIGTERM) == 0, a.log_tail()
    got = finish(cap)
    recs = records(path)
    assert got["captured"] >= 10, got
    fields = [payload_fields(r["payload"]) for r in recs]
    # the capture holds the resignation: a replay that worked would show
    assert any(f["flags"] & ST_HANDOVER or f["state"] in (3, 5)
               for f in fields), fields
    assert {f["epoch"] for f in fields} == {old_epoch}
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over", describe=lambda: snapshot(lab))
    a.start()
    settled(lab, a, b)          # preempt: alpha active again
    assert a.status()["epoch"] > old_epoch

    calm = Calm(lab, a, b)
    sent, _ = replay_counted(lab, b, path, "replays", "replay after restart")
    assert sent == len(recs)
    settled(lab, a, b)
    calm.check("the replay of alpha's previous life")


def test_replay_after_receiver_restart(lab):
    """Captured heartbeats of alpha replayed to a restarted beta. While
    alpha lives they are too old for the window (replays). With alpha gone
    and beta restarted once more, the window is empty and takes them, but
    they echo an epoch of beta's past: unconfirmed, never 'heard'."""
    a, b = hostile_pair(lab)
    path = os.path.join(lab.dir, "alpha.jsonl")
    got = finish(capture(lab, "beta", A4, 800, path))
    assert got["captured"] >= 10, got
    assert b.stop(signal.SIGTERM) == 0, b.log_tail()
    b.start()
    settled(lab, a, b)
    # alpha's sequence numbers moved past the 64-wide window
    wait_for(lambda: counter(b, "received") >= 70, 10,
             msg="70 heartbeats after beta's restart")

    calm = Calm(lab, a, b)
    replay_counted(lab, b, path, "replays", "replay, alpha alive")
    calm.check("a replay to the restarted beta")

    # alpha gone for good; beta restarts and is alone with the replay
    a.kill()
    lab.cut("alpha")
    assert b.stop(signal.SIGTERM) == 0, b.log_tail()
    b.start()
    wait_for(lambda: state_is(b, "active"), 5, msg="beta alone to be active",
             describe=lambda: snapshot(lab))
    epoch = b.status()["epoch"]
    _, after = replay_counted(lab, b, path, "unconfirmed", "replay, alpha dead")
    st = b.status()
    assert after["received"] == 0 and not st["peer"]["known"], st
    assert st["state"] == "active" and st["epoch"] == epoch, st
    assert [t[1] for t in transitions(b)] == ["active"], transitions(b)


def test_spoofed_source_and_reflection(lab):
    """Authentic heartbeats in the wrong place: alpha's own, relayed from an
    address that is not the peer (dropped before the HMAC is computed), and
    beta's own, reflected back at beta from alpha's address."""
    a, b = hostile_pair(lab)
    from_alpha = os.path.join(lab.dir, "from-alpha.jsonl")
    from_beta = os.path.join(lab.dir, "from-beta.jsonl")
    ca = capture(lab, "beta", A4, 500, from_alpha)
    cb = capture(lab, "alpha", B4, 500, from_beta)
    assert finish(ca)["captured"] >= 5 and finish(cb)["captured"] >= 5
    calm = Calm(lab, a, b)

    _, after = replay_counted(lab, b, from_alpha, "wrong_source",
                              "relayed heartbeats", src=ELSEWHERE4)
    replay_counted(lab, b, from_beta, "malformed", "reflected heartbeats",
                   before=after)
    settled(lab, a, b)
    calm.check("relayed and reflected heartbeats")


def test_withheld_heartbeats_cannot_delay_takeover(lab):
    """Someone on the path withholds every other heartbeat of alpha (beta
    still hears alpha every 40 ms, so nothing happens), alpha dies, and
    the withheld heartbeats are delivered late, one every 0.8 * dead_ms.
    They are authentic, unseen, inside the 64-wide replay window and echo
    beta's epoch; still they must not keep beta from taking over, nor make
    it release: they were sent before what they would prove."""
    dead, n = 1000, 8     # the late ones start before beta would take over
    a, b = hostile_pair(lab, interval_ms=20, dead_ms=dead, init_dead_ms=2000)
    # odd sequence numbers (last bit of the seq field, payload bytes 16..23)
    lab.ns_exec("beta", ["nft", "-f", "-"], input=(
        "table inet withhold {\n chain input {\n"
        "  type filter hook input priority -20\n"
        "  ip saddr %s udp dport %d @th,255,1 1 drop\n }\n}\n"
        % (A4, lab.port)))
    path = os.path.join(lab.dir, "all.jsonl")
    cap = capture(lab, "beta", A4, 1000, path)   # sees what nft drops
    heard = counter(b, "received")
    wait_for(lambda: counter(b, "received") >= heard + 12, 5,
             msg="beta to hear the even heartbeats")
    assert state_is(b, "standby"), snapshot(lab)
    old = transitions(b)
    a.kill()
    t_kill = time.monotonic()
    lab.cut("alpha")
    finish(cap)
    lab.ns_exec("beta", ["nft", "delete", "table", "inet", "withhold"])
    withheld = [r for r in records(path)
                if payload_fields(r["payload"])["seq"] % 2 == 1][-n:]
    assert len(withheld) == n, withheld
    late = os.path.join(lab.dir, "withheld.jsonl")
    with open(late, "w") as f:
        for k, r in enumerate(withheld):
            f.write(json.dumps({"t": k * dead * 0.8 / 1000,
                                "payload": r["payload"]}) + "\n")
    before = counters(b)
    injector = hbtool_bg(lab, "mallory", "replay", "--src", A4, "--dst", B4,
                         "--file", late, "--port", lab.port)
    t0 = time.monotonic()
    # (alpha, killed, keeps its copy until the kernel lifetime runs out)
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"),
             dead / 1000 + 2, msg="beta to take over in spite of the late "
             "heartbeats", describe=lambda: snapshot(lab))
    took = time.monotonic() - t_kill
    while injector.poll() is None and time.monotonic() - t0 < 30:
        assert holds(lab, "beta") and state_is(b, "active"), (
            "beta gave up the VIPs for a late heartbeat\n%s" % snapshot(lab))
        time.sleep(0.1)
    assert finish(injector)["sent"] == n
    after = counters(b)
    assert after["received"] == before["received"], (before, after)
    assert sum(after[k] - before[k] for k in HOSTILE) == n, (before, after)
    # late, not replays: alerting on replays must not fire after a link flap
    assert after["late"] - before["late"] == n, (before, after)
    now = transitions(b)
    assert now[len(now) - len(old):] == old, (old, now)
    assert now[:len(now) - len(old)] == [("standby", "active",
                                          "peer-dead")], now
    print("\nbeta seen active %.2f s after the kill (dead_ms %d); late "
          "heartbeats from %.2f s" % (took, dead, t0 - t_kill))


# (name, flood arguments, counter): every datagram spoofed from alpha; the
# big ones slowly, so that neither reassembly nor the socket buffer drops one
ODD_DATAGRAMS = [
    ("empty", ["-l", 0, "-L", 0], "malformed"),
    ("1 byte", ["-l", 1, "-L", 1], "malformed"),
    ("header only", ["-m", "header", "-l", 8, "-L", 8], "malformed"),
    ("MAC cut off", ["-m", "header", "-l", 96, "-L", 96], "malformed"),
    ("one byte short", ["-m", "header", "-l", 127, "-L", 127], "malformed"),
    ("one byte long", ["-m", "header", "-l", 129, "-L", 129], "malformed"),
    ("receive buffer size", ["-m", "header", "-l", 2048, "-L", 2048, "-r",
                             50], "malformed"),
    ("fragmented 9000", ["-m", "header", "-l", 9000, "-L", 9000, "-r", 50],
     "malformed"),
    ("largest UDP", ["-m", "header", "-l", 65507, "-L", 65507, "-r", 20],
     "malformed"),
    ("random bytes", ["-m", "random", "-l", 1, "-L", 1500], "malformed"),
    ("zeros", ["-m", "zero", "-l", 128, "-L", 128], "malformed"),
    ("random after a good header", ["-m", "header", "-l", 128, "-L", 128],
     "auth_failures"),
]


def test_odd_sizes_and_random_bytes(lab, flood_bin):
    a, b = hostile_pair(lab)
    calm = Calm(lab, a, b)
    for what, args, name in ODD_DATAGRAMS:
        before = counters(b)
        r = flood(lab, flood_bin, "mallory", "-d", B4, "-p", lab.port, "-s",
                  A4, "-r", 1000, "-n", 20, "-t", 5, *args)    # args last
        assert r["sent"] == 20, (what, r)
        after = grew(b, before, name, 20, what=what)
        assert not only_changed(before, after, {name}), (what, after)
    settled(lab, a, b)
    calm.check("odd datagrams")


# --- flood -----------------------------------------------------------------

FLOOD_RATE = 100000
FLOOD_SECONDS = 10
FLOODS = [
    # (id, flood arguments, the counter that takes them)
    ("non-peer-garbage", ["-m", "random", "-l", 1, "-L", 512],
     "wrong_source"),
    ("spoofed-garbage", ["-s", A4, "-m", "random", "-l", 1, "-L", 512],
     "malformed"),
    ("spoofed-forgeries", ["-s", A4, "-m", "header", "-l", 128, "-L", 128],
     "auth_failures"),
]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Forged ICMP destination unreachable at argv[1] about its UDP datagrams from
# argv[1] to argv[2] (port argv[3]), every code that a connected socket
# reports as an error, one every 2 ms for argv[4] s; prints how many.
ICMP_FORGER = r"""
import socket, struct, sys, time
src, dst, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 164, 0, 0x4000, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
udp = struct.pack("!HHHH", port, port, 144, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
codes = [2, 3, 6, 7, 8, 9, 10, 13]
n, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    icmp = struct.pack("!BBHI", 3, codes[n % len(codes)], 0, 0) + ip + udp
    s.sendto(icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:], (src, 0))
    n += 1
    time.sleep(0.002)
print(n)
"""


def test_forged_icmp_errors_do_not_silence_heartbeats(lab):
    """mallory tells alpha, 500 times a second for 3 s, that its heartbeats
    to beta met every ICMP error a connected socket reports (port, protocol
    or host unreachable, prohibited, ...). Each would fail alpha's next send
    on its socket connected to beta; alpha sends again, so beta hears every
    heartbeat: nothing moves, no send error counted, nothing logged."""
    a, b = hostile_pair(lab)
    calm = Calm(lab, a, b)
    ca, cb = counters(a), counters(b)
    icmp = snmp(lab, "alpha", "Icmp", "InDestUnreachs")
    log_offset = len(a.log())
    t0 = time.monotonic()
    out = lab.ns_exec("mallory", [PY, "-c", ICMP_FORGER, A4, B4,
                                  str(lab.port), "3"], timeout=30)
    elapsed = time.monotonic() - t0
    forged = int(out.stdout.strip())
    assert forged >= 500, out.stdout + out.stderr
    assert snmp(lab, "alpha", "Icmp", "InDestUnreachs") - icmp >= forged * 0.9
    after_a, after_b = counters(a), counters(b)
    # alpha sends every 20 ms: beta heard (nearly) every one of them
    heard = after_b["received"] - cb["received"]
    assert heard >= elapsed * 1000 / 20 * 0.8, (heard, elapsed)
    assert after_a["send_errors"] == ca["send_errors"], after_a
    new_lines = a.log()[log_offset:]
    assert not re.search(r"link 0( \(\S+\))?: (send|receive)", new_lines), \
        new_lines[-2000:]
    calm.check("forged ICMP errors")


@pytest.mark.parametrize("args,name", [f[1:] for f in FLOODS],
                         ids=[f[0] for f in FLOODS])
def test_flood_no_false_failover(lab, flood_bin, args, name):
    """100,000 hostile datagrams per second at beta for 10 s, heartbeats
    every 10 ms, peer dead after 50 ms, both daemons realtime (the flood's
    sender shares the machine's two cores): no transition on either node,
    alpha the only holder, the daemon's CPU bounded, the log not one line per
    datagram."""
    a, b = hostile_pair(lab, realtime=True, interval_ms=10, dead_ms=50,
                        init_dead_ms=300)
    with open("/proc/%d/comm" % b.pid) as f:
        assert f.read().strip() == "failoverd"
    calm = Calm(lab, a, b)
    before = counters(b)
    log_offset = len(b.log())
    drops0 = snmp(lab, "beta", "Udp", "RcvbufErrors")
    cpu0, t0 = cpu_seconds(b.pid), time.monotonic()
    p = lab.spawn("mallory", [str(x) for x in [
        flood_bin, "-d", B4, "-p", lab.port, "-r", FLOOD_RATE, "-t",
        FLOOD_SECONDS, "-n", FLOOD_RATE * FLOOD_SECONDS] + args])

    # during the flood, poll what a user would look at
    polls = 0
    while p.poll() is None and time.monotonic() - t0 < FLOOD_SECONDS + 20:
        assert only_holder(lab, "alpha"), snapshot(lab)
        assert state_is(b, "standby") and state_is(a, "active"), \
            snapshot(lab)
        polls += 1
        time.sleep(0.5)
    out, err = p.communicate(timeout=30)
    cpu1, t1 = cpu_seconds(b.pid), time.monotonic()
    assert p.returncode == 0, err.decode()
    r = json.loads(out.decode().strip().splitlines()[-1])
    after = counters(b)
    drops = snmp(lab, "beta", "Udp", "RcvbufErrors") - drops0
    cpu = (cpu1 - cpu0) / (t1 - t0)
    new_lines = b.log()[log_offset:].splitlines()
    figures = {"flood": r, "counted": after[name] - before[name],
               "kernel_rcvbuf_drops": drops, "cpu_of_one_core": round(cpu, 3),
               "log_lines": len(new_lines), "polls": polls,
               "heartbeats_received": after["received"] - before["received"]}
    print("\nflood figures (%s): %s" % (name, json.dumps(figures)))

    assert r["sent"] >= FLOOD_RATE * FLOOD_SECONDS * 0.3, figures
    assert polls >= 5, figures
    calm.check("the flood")
    settled(lab, a, b)
    # the flood reached the daemon and was counted where it belongs
    assert figures["counted"] >= r["sent"] * 0.2, figures
    assert figures["counted"] <= r["sent"], figures
    assert not only_changed(before, after, {name}), after
    assert figures["heartbeats_received"] >= FLOOD_SECONDS * 50, figures
    assert cpu < 0.9, figures
    # a summary every 10 s, not a line per datagram
    assert len(new_lines) <= 10, new_lines
    assert len([x for x in new_lines if "dropped" in x]) <= 3, new_lines


# --- hostile config and files (no network, no root needed) -----------------

@pytest.fixture(scope="session")
def daemon_bin(tmp_path_factory):
    """build/failoverd, or with FOD_ADV_ASAN=1 one built here with
    ASan+UBSan (FOD_ADV_ASAN=/path/to/failoverd: that one)."""
    want = os.environ.get("FOD_ADV_ASAN")
    if not want:
        return fodlab.FAILOVERD
    if os.path.isabs(want) and os.access(want, os.X_OK):
        return want
    out = str(tmp_path_factory.mktemp("asan") / "failoverd")
    srcs = sorted(os.path.join(REPO, "daemon", f)
                  for f in os.listdir(os.path.join(REPO, "daemon"))
                  if f.endswith(".c") and f != "failoverctl.c")
    pkgs = ["libnl-route-3.0", "libconfig", "libcrypto"]
    cflags = subprocess.run(["pkg-config", "--cflags"] + pkgs, check=True,
                            capture_output=True, text=True).stdout.split()
    libs = subprocess.run(["pkg-config", "--libs"] + pkgs, check=True,
                          capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-DFOD_VERSION=\"asan\"",
                    "-O1", "-g", "-fsanitize=address,undefined",
                    "-fno-omit-frame-pointer", "-fno-sanitize-recover=all",
                    "-I" + os.path.join(REPO, "daemon"), "-o", out] + cflags
                   + srcs + libs, check=True, timeout=600)
    return out


def run_daemon(binary, args, timeout=20):
    p = subprocess.run([binary] + args, capture_output=True, text=True,
                       errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    return p.returncode, p.stdout + p.stderr


GOOD = """\
node: { name = "alpha"; priority = 150; };
cluster: { id = 1; key_file = "{key}"; interval_ms = 100; dead_ms = 500; };
links = ( { interface = "eth0"; local = "192.0.2.1"; peer = "192.0.2.2"; } );
vips = ( { address = "192.0.2.10/24"; interface = "eth0"; } );
hooks: { dir = "{dir}/hooks"; };
runtime_dir = "{dir}/run";
state_dir = "{dir}/state";
"""


def good_config(tmp_path, key=None):
    if key is None:
        key = tmp_path / "cluster.key"
        key.write_text(os.urandom(32).hex() + "\n")
        os.chmod(key, 0o600)
    for sub in ("hooks", "run", "state"):
        (tmp_path / sub).mkdir(exist_ok=True)
    return GOOD.replace("{key}", str(key)).replace("{dir}", str(tmp_path))


def clean_refusal(rc, out, path, what):
    """Exit 1, no sanitizer report, every line `PATH:LINE: message` (LINE
    0 for the file as a whole: cannot open, too large)."""
    assert rc == 1, "%s: exit %d (want 1): %s" % (what, rc, out[-2000:])
    assert not SANITIZER_RE.search(out), "%s: %s" % (what, out[-4000:])
    lines = out.rstrip("\n").split("\n")    # paths may hold a form feed
    assert lines != [""], what
    assert len(lines) <= 66, "%s: %d lines" % (what, len(lines))
    for line in lines:
        assert re.match(re.escape(path) + r":\d+: \S", line), (what, line)


def big_configs(good):
    """(name, bytes) of configs made to hurt a parser."""
    deep = 20000
    return [
        ("over 1 MiB", (good + "#" + "x" * (1 << 20) + "\n").encode()),
        ("100k lines", (good + "\n" * 100000).encode()),
        ("100k lines of settings", "".join("k%d = %d;\n" % (i, i)
                                         for i in range(100000)).encode()),
        ("deep lists", (good + "x = " + "(" * deep + ")" * deep +
                        ";\n").encode()),
        ("deep groups", (good + "x = " + "{ a = " * deep + "1;" +
                         " };" * deep + "\n").encode()),
        ("deep groups in node", good.replace(
            "node: {", "node: { x = " + "{ a = " * 2000 + "1;" + " };" *
            2000).encode()),
        ("900 kB string", good.replace('"alpha"', '"' + "a" * 900000 +
                                       '"').encode()),
        ("20000 VIPs", good.replace("vips = (", "vips = (" + (
            '{ address = "192.0.2.11/24"; interface = "eth0"; },' *
            20000)).encode()),
        ("NUL bytes", good.encode().replace(b"alpha", b"al\0ha")),
        ("@include", ('@include "/etc/shadow"\n' + good).encode()),
        ("huge integer", good.replace("id = 1;", "id = " + "9" * 5000 +
                                      ";").encode()),
        ("random bytes", random.Random(7).randbytes(64 * 1024)),
    ]


def test_hostile_configs_are_refused_cleanly(tmp_path, daemon_bin):
    good = good_config(tmp_path)
    path = str(tmp_path / "good.conf")
    with open(path, "w") as f:
        f.write(good)
    rc, out = run_daemon(daemon_bin, ["-t", "-f", path])
    assert rc == 0, out
    for name, data in big_configs(good):
        path = str(tmp_path / (re.sub(r"\W+", "-", name) + ".conf"))
        with open(path, "wb") as f:
            f.write(data)
        rc, out = run_daemon(daemon_bin, ["-t", "-f", path])  # deadline 20 s
        clean_refusal(rc, out, path, name)
    for dev in ("/dev/zero", "/dev/urandom", "/dev/null", str(tmp_path)):
        rc, out = run_daemon(daemon_bin, ["-t", "-f", dev])
        clean_refusal(rc, out, dev, dev)


def mutate(rng, text):
    """One fuzzed variant of text: a few byte-level and token-level edits."""
    b = bytearray(text.encode())
    tokens = [b"{", b"}", b"(", b")", b"[", b"]", b";", b"=", b":", b",",
              b'"', b"\\", b"0x", b"-", b"999999999999999999999", b"1e308",
              b"@include", b"/*", b"*/", b"#", b"\n", b"\xff", b"%n%s",
              b"L", b"true", b"\"\"", b"interface", b"::", b"/129"]
    for _ in range(rng.randint(1, 6)):
        op, pos = rng.randrange(4), rng.randrange(len(b) + 1)
        if op == 0 and b:
            del b[pos:pos + rng.randint(1, 16)]
        elif op == 1:
            b[pos:pos] = rng.choice(tokens)
        elif op == 2 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        else:
            start = rng.randrange(len(b) + 1)
            b[pos:pos] = b[start:start + rng.randint(1, 64)]
    return bytes(b)


def test_fuzzed_configs_never_crash(tmp_path, daemon_bin):
    """300 mutated configs: each accepted (exit 0) or refused with
    FILE:LINE lines (exit 1); never a signal, hang or sanitizer report."""
    good = good_config(tmp_path)
    rng = random.Random(20260607)
    path = str(tmp_path / "fuzzed.conf")
    outcomes = {0: 0, 1: 0}
    for i in range(300):
        data = mutate(rng, good)
        with open(path, "wb") as f:
            f.write(data)
        rc, out = run_daemon(daemon_bin, ["-t", "-f", path], timeout=10)
        assert rc in (0, 1), "case %d: exit %d: %r\n%r" % (i, rc, out, data)
        assert not SANITIZER_RE.search(out), (i, out, data)
        if rc == 1:
            clean_refusal(rc, out, path, "case %d %r" % (i, data))
        outcomes[rc] += 1
    print("\nfuzzed configs: %d accepted, %d refused" % (outcomes[0],
                                                        outcomes[1]))
    assert outcomes[1] > 100, outcomes


def key_cases(tmp_path):
    """(name, make(path)) of bad key files; make creates it at path."""
    def text(s, mode=0o600):
        def make(p):
            with open(p, "w") as f:
                f.write(s)
            os.chmod(p, mode)
        return make

    def fifo(p):
        os.mkfifo(p, 0o600)

    def directory(p):
        os.mkdir(p, 0o700)

    def symlink_to_readable(p):
        target = str(tmp_path / "readable.key")
        text(os.urandom(32).hex())(target)
        os.chmod(target, 0o644)
        os.symlink(target, p)

    def chardev(p):
        os.symlink("/dev/zero", p)

    return [
        ("missing", lambda p: None),
        ("empty", text("")),
        ("whitespace only", text(" \n\t\n")),
        ("short hex (31 bytes)", text(os.urandom(31).hex() + "\n")),
        ("short base64 (24 bytes)", text("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY\n")),
        ("neither hex nor base64", text("this is not a key, it is a sentence"
                                        " that is long enough\n")),
        ("odd hex digits", text(os.urandom(32).hex() + "a\n")),
        ("larger than 4 KiB", text("a" * 5000 + "\n")),
        ("world-readable", text(os.urandom(32).hex(), 0o644)),
        ("group-readable", text(os.urandom(32).hex(), 0o640)),
        ("other-writable only", text(os.urandom(32).hex(), 0o602)),
        ("a directory", directory),
        ("a FIFO", fifo),
        ("symlink to a world-readable key", symlink_to_readable),
        ("symlink to /dev/zero", chardev),
    ]


def test_bad_key_files_refused_with_one_line(tmp_path, daemon_bin):
    """For each bad key file: `failoverd -t` and a real start both exit 1
    with one line naming the file, before touching the network."""
    for i, (name, make) in enumerate(key_cases(tmp_path)):
        d = tmp_path / ("case%d" % i)
        d.mkdir()
        key = str(d / "cluster.key")
        make(key)
        conf = str(d / "failoverd.conf")
        with open(conf, "w") as f:
            f.write(good_config(d, key=key))
        for args in (["-t", "-f", conf], ["-f", conf]):
            rc, out = run_daemon(daemon_bin, args)
            assert rc == 1, "%s %s: exit %d: %s" % (name, args, rc, out)
            assert not SANITIZER_RE.search(out), (name, out)
            lines = out.strip().splitlines()
            assert len(lines) == 1 and key in lines[0], (name, args, out)
            # an error of the key_file line (line 2 of the config)
            assert conf + ":2: " in lines[0], (name, args, out)
        if name in ("world-readable", "group-readable",
                    "other-writable only"):
            assert re.search(r"chmod 600|mode 0", out), (name, out)


# --- hostile files in the daemon's own directories (root, namespaces) -----

def start_refused(lab, host, conf_text, binary, timeout=10):
    """Start failoverd in host with conf_text; it must exit by itself.
    Returns (exit status, output)."""
    d = lab.host_dir(host)
    conf = os.path.join(d, "hostile.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    out = os.path.join(d, "hostile.log")
    with open(out, "wb") as f:
        p = lab.spawn(host, [binary, "-f", conf], stdout=f,
                      stderr=subprocess.STDOUT)
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        with open(out) as f:
            pytest.fail("failoverd started in spite of the hostile files:"
                        "\n%s" % f.read())
    with open(out) as f:
        return rc, f.read()


def refused_cleanly(rc, text, *words):
    assert rc == 1, "exit %d (want 1): %s" % (rc, text)
    assert not SANITIZER_RE.search(text), text
    fatal = [x for x in text.splitlines() if ": fatal: " in x]
    assert len(fatal) == 1, text
    for w in words:
        assert w in text, "want %r in:\n%s" % (w, text)


def test_runtime_dir_symlink_refused(lab, daemon_bin):
    cfg = lab.config("alpha")
    real = os.path.join(lab.dir, "elsewhere")
    os.mkdir(real, 0o700)
    link = os.path.join(lab.host_dir("alpha"), "run-link")
    os.symlink(real, link)
    cfg["runtime_dir"] = link
    rc, text = start_refused(lab, "alpha", fodlab.render_config(cfg),
                             daemon_bin)
    refused_cleanly(rc, text, link, "symlink")
    assert os.listdir(real) == [] and os.path.islink(link)


def test_runtime_dir_writable_by_others_refused(lab, daemon_bin):
    cfg = lab.config("alpha")
    os.chmod(cfg["runtime_dir"], 0o777)
    rc, text = start_refused(lab, "alpha", fodlab.render_config(cfg),
                             daemon_bin)
    refused_cleanly(rc, text, cfg["runtime_dir"], "writable")
    assert os.listdir(cfg["runtime_dir"]) == []


@pytest.mark.parametrize("kind", ["regular file", "symlink"])
def test_control_sock_not_a_socket_refused_and_kept(lab, daemon_bin, kind):
    cfg = lab.config("alpha")
    sock = os.path.join(cfg["runtime_dir"], "control.sock")
    victim = os.path.join(lab.dir, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    if kind == "symlink":
        os.symlink(victim, sock)
    else:
        shutil.copy(victim, sock)
    rc, text = start_refused(lab, "alpha", fodlab.render_config(cfg),
                             daemon_bin)
    refused_cleanly(rc, text, sock, "not a socket")
    st = os.lstat(sock)
    assert (stat.S_ISLNK(st.st_mode) if kind == "symlink"
            else stat.S_ISREG(st.st_mode)), kind
    with open(sock) as f:
        assert f.read() == "precious\n"
    with open(victim) as f:
        assert f.read() == "precious\n"


def test_second_instance_leaves_the_first_alone(lab, daemon_bin):
    """Starting failoverd again with the same config while it runs (an
    operator's slip, a second unit): the newcomer must refuse; the running
    daemon keeps its VIPs, its control socket and its heartbeats."""
    a, b = start_pair(lab)
    calm = Calm(lab, a, b)
    out = os.path.join(lab.host_dir("alpha"), "second.log")
    with open(out, "wb") as f:
        p = lab.spawn("alpha", [daemon_bin, "-f", a.conf], stdout=f,
                      stderr=subprocess.STDOUT)
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    try:
        with open(out) as f:
            text = f.read()
        first = a.try_status()
        assert a.running and first is not None, (
            "the first daemon lost its control socket (second: %s)\n%s"
            % ("running" if rc is None else "exit %d" % rc, text))
        assert rc is not None, "the second daemon runs too:\n%s" % text
        refused_cleanly(rc, text)
        calm.check("a second instance")
        settled(lab, a, b)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_world_writable_promote_hook_refused(lab):
    """alpha's promote.d holds a hook of mode 0777. alpha refuses to run it
    and says why; a refused promote hook is a failed promote: alpha goes to
    fault and gives up the VIPs, beta takes over and keeps them, also when
    alpha leaves fault (30 s later, then without preempting)."""
    d = lab.host_dir("alpha")
    marker = os.path.join(lab.dir, "hook-ran")
    hook = os.path.join(d, "hooks", "promote.d", "10-writable")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho ran > %s\n" % marker)
    os.chmod(hook, 0o777)
    a = lab.daemon("alpha")
    b = lab.daemon("beta")
    reason = "hook-failed:10-writable"
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active") and
             (state_is(a, "fault") or {}).get("reason") == reason, 10,
             msg="alpha in fault (%s), beta active and sole holder" % reason,
             describe=lambda: snapshot(lab))
    log = a.log()
    assert re.search(r"hook \S*10-writable refused: file \S*10-writable is "
                     r"writable by group or others \(mode 0777\)", log), log
    assert not os.path.exists(marker), "the refused hook ran"

    # It stays so: alpha is kept out for a while, then standby, no flapping.
    calm_b = transitions(b)

    def back_to_standby():
        assert only_holder(lab, "beta"), snapshot(lab)
        assert state_is(b, "active"), snapshot(lab)
        st = a.try_status()
        # leaving fault passes through init (a fresh election) for about
        # one heartbeat; it holds no VIP there either
        assert st and st["state"] in ("fault", "init", "standby"), snapshot(lab)
        return st["state"] == "standby"
    wait_for(back_to_standby, 40, interval=0.2,
             msg="alpha back to standby after its hook fault")
    settled(lab, b, a)
    assert transitions(b) == calm_b, snapshot(lab)
    assert transitions(a)[:3] == [("init", "standby", "peer-active"),
                                  ("fault", "init", "fault-cleared"),
                                  ("active", "fault", reason)], snapshot(lab)
    print("\nalpha: %r\nbeta: %r" % (transitions(a), transitions(b)))
    assert not os.path.exists(marker), "the refused hook ran"
