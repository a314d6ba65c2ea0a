"""Core behaviour (issue 2): a pair of real daemons in namespaces moving the
VIPs, seen the way a user sees it: `ip addr` on each node, a client pinging
the VIPs, `failoverctl status --json` on each node.

Timers are short (interval 20 ms, dead 100 ms, init_dead 300 ms) except
where a test says otherwise; every wait is a poll with a deadline.
"""

import os
import re
import secrets
import signal
import subprocess
import time

import pytest

from helpers import (HOSTS, PY, VIPS, agree, capture, counter,
                     finish, hbtool, hbtool_bg, holders, holds, only_holder,
                     settled, snapshot, snmp, start_pair, state_is, wait_for)
import fodlab

A4, B4 = HOSTS["alpha"]["v4"], HOSTS["beta"]["v4"]


def reach_vips(lab):
    for v in VIPS:
        lab.reach("client", v)


def became_active_because(st, reason):
    return any(t["to"] == "active" and t["reason"] == reason
               for t in st["transitions"])


# --- 1 -------------------------------------------------------------------

def test_start_pair_higher_priority_holds_vip(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    # It stays that way: beta keeps hearing alpha and does not take over.
    wait_for(lambda: (counter(b, "received") or 0) >= 20, 10,
             msg="beta to receive 20 heartbeats")
    assert only_holder(lab, "alpha"), holders(lab)
    sa, sb = agree(a, b) or (None, None)
    assert sa and sb, snapshot(lab)
    assert sa["_exit"] == 0 and sb["_exit"] == 0       # both healthy
    assert (sa["priority"], sb["priority"]) == (150, 100)
    assert sa["cluster_id"] == sb["cluster_id"] == 1
    assert [v["present"] for v in sa["vips"]] == [True, True]
    assert [v["present"] for v in sb["vips"]] == [False, False]
    for st, peer in ((sa, B4), (sb, A4)):
        assert st["links"][0]["peer"] == peer and st["links"][0]["up"]
    assert sb["counters"]["auth_failures"] == 0
    assert sb["counters"]["replays"] == 0


# --- 2 -------------------------------------------------------------------

def test_cut_active_link_standby_takes_over(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    lab.cut("alpha")
    # alpha, cut off, may keep its copy; what matters is that beta has one
    # and that the client reaches the VIPs (only beta is reachable).
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to hold the VIPs", describe=lambda: snapshot(lab))
    reach_vips(lab)
    st = b.status()
    assert became_active_because(st, "peer-dead"), st["transitions"]
    assert st["reason"] == "peer-dead", st


# --- 3 -------------------------------------------------------------------

def test_sigterm_active_hands_over_without_loss(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    probers = [lab.prober("client", v, interval_ms=10, count=400)
               for v in VIPS]
    for p in probers:
        p.wait_ready()
    t0 = time.monotonic()
    assert a.stop(signal.SIGTERM) == 0, a.log_tail()
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to be the only holder", describe=lambda: snapshot(lab))
    handed_over = time.monotonic() - t0
    results = [p.result(timeout=15) for p in probers]
    # The probes ran 4 s: make sure a good part of them came after.
    assert handed_over < 2.5, "handover took %.1fs" % handed_over
    for v, r in zip(VIPS, results):
        assert r["sent"] == 400 and r["lost"] == 0, (v, r)
    assert not any("alpha" in h for h in holders(lab).values())


def test_sigterm_standby_just_leaves(lab):
    a, b = start_pair(lab)
    assert b.stop(signal.SIGTERM) == 0, b.log_tail()

    def alpha_unmoved():
        assert only_holder(lab, "alpha"), snapshot(lab)
        st = state_is(a, "active")
        assert st, snapshot(lab)
        return st["peer"]["heard_ms_ago"] > 300
    wait_for(alpha_unmoved, 5, msg="beta silent for 300 ms")
    reach_vips(lab)


# --- 4 -------------------------------------------------------------------

def test_old_active_returns_with_preempt(lab):
    a, b = start_pair(lab)
    assert a.stop() == 0
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over", describe=lambda: snapshot(lab))
    a.start()
    settled(lab, a, b)
    reach_vips(lab)


def test_old_active_returns_without_preempt(lab):
    a, b = start_pair(lab, lab.config("alpha", preempt=False),
                      lab.config("beta", preempt=False))
    assert a.stop() == 0
    wait_for(lambda: only_holder(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over", describe=lambda: snapshot(lab))
    a.start()
    settled(lab, b, a)

    # And it stays so while alpha hears beta (not a sleep: every poll checks).
    def still_beta():
        assert only_holder(lab, "beta"), snapshot(lab)
        st = agree(b, a)
        assert st, snapshot(lab)
        return st[1]["counters"]["received"] >= 25
    wait_for(still_beta, 10, msg="alpha to hear 25 heartbeats as standby")
    reach_vips(lab)


# --- 5 -------------------------------------------------------------------

def test_forged_heartbeats_with_wrong_key_change_nothing(lab):
    lab.add_host("mallory")
    a, b = start_pair(lab)
    # mallory claims to be alpha, active, priority 254, every interval.
    forger = hbtool_bg(lab, "mallory", "forge", "--random-key", "--src", A4,
                       "--dst", B4, "--name", "alpha", "--state", "active",
                       "--priority", 254, "--interval-ms", 20, "--count", 200,
                       "--port", lab.port)
    a.kill()
    lab.cut("alpha")
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over despite forged heartbeats",
             describe=lambda: snapshot(lab))
    base = counter(b, "auth_failures")
    assert base > 0, snapshot(lab)
    reach_vips(lab)

    # Forgeries keep arriving and beta stays active.
    def more_rejected():
        assert state_is(b, "active"), snapshot(lab)
        return counter(b, "auth_failures") >= base + 20
    wait_for(more_rejected, 5, msg="20 more rejected forgeries")
    assert forger.poll() is None, "the forger stopped too early"
    forger.kill()


def test_replayed_heartbeats_change_nothing(lab):
    lab.add_host("mallory")
    a, b = start_pair(lab)
    path = os.path.join(lab.dir, "alpha-heartbeats.jsonl")
    got = finish(capture(lab, "beta", A4, 1000, path))
    assert got["captured"] >= 20, got
    a.kill()
    lab.cut("alpha")
    replay = hbtool_bg(lab, "mallory", "replay", "--src", A4, "--dst", B4,
                       "--file", path, "--loops", 3, "--port", lab.port)
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
             msg="beta to take over despite replayed heartbeats",
             describe=lambda: snapshot(lab))
    assert replay.poll() is None, "took over only after the replay ended"
    wait_for(lambda: counter(b, "replays") > 0, 5, msg="replays counted",
             describe=lambda: snapshot(lab))
    reach_vips(lab)
    finish(replay)
    assert state_is(b, "active"), snapshot(lab)


def test_replay_after_receiver_restart_changes_nothing(lab):
    """Replay protection survives a restart of the receiver: heartbeats of
    alpha captured earlier do not keep a restarted beta in standby."""
    lab.add_host("mallory")
    a, b = start_pair(lab)
    path = os.path.join(lab.dir, "alpha-heartbeats.jsonl")
    got = finish(capture(lab, "beta", A4, 1000, path))
    assert got["captured"] >= 20, got
    a.kill()
    lab.cut("alpha")
    wait_for(lambda: state_is(b, "active"), 5, msg="beta to take over")
    replay = hbtool_bg(lab, "mallory", "replay", "--src", A4, "--dst", B4,
                       "--file", path, "--loops", 4, "--port", lab.port)
    b.kill()
    b.start()
    wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 3,
             msg="restarted beta to become active during the replay",
             describe=lambda: snapshot(lab))
    assert replay.poll() is None, "became active only after the replay"
    reach_vips(lab)
    replay.kill()


def test_malformed_foreign_and_wrong_source_are_counted(lab):
    lab.add_host("mallory")
    a, b = start_pair(lab)
    M4 = HOSTS["mallory"]["v4"]
    key = lab.key_file
    common = ["--dst", B4, "--key-file", key, "--interval-ms", 5,
              "--count", 5, "--port", lab.port, "--name", "alpha",
              "--priority", 254]
    cases = [
        ("malformed", ["--src", A4, "--length", 100]),
        ("malformed", ["--src", A4, "--length", 200]),
        ("bad_version", ["--src", A4, "--version", 3]),
        ("foreign", ["--src", A4, "--cluster", 2]),
        ("wrong_source", ["--src", M4]),
    ]
    for name, args in cases:
        before = counter(b, name)
        assert hbtool(lab, "mallory", "forge", *(args + common))["sent"] == 5
        wait_for(lambda: counter(b, name) >= before + 5, 5,
                 msg="beta's counter %s to grow by 5" % name,
                 describe=lambda: snapshot(lab))
    settled(lab, a, b)
    assert counter(b, "auth_failures") == 0, snapshot(lab)


# Another socket binds alpha's heartbeat address and port, plain, with
# SO_REUSEADDR, with SO_REUSEPORT; prints each bind's outcome.
BIND_PROBE = r"""
import socket, sys
for opt in (None, socket.SO_REUSEADDR, socket.SO_REUSEPORT):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if opt:
        s.setsockopt(socket.SOL_SOCKET, opt, 1)
    try:
        s.bind((sys.argv[1], int(sys.argv[2])))
        print("bound")
    except OSError as e:
        print("refused" if e.errno == 98 else "error %d" % e.errno)
"""


def udp_sockets(lab, host):
    """(local, peer) of each UDP socket in host's namespace, from ss: the
    device a socket is bound to left out, no peer as "*"."""
    out = lab.ns_exec(host, ["ss", "-Hnua"]).stdout
    socks = []
    for line in out.splitlines():
        local, peer = line.split()[3:5]
        socks.append((re.sub(r"%[^:]+:", ":", local),
                      "*" if peer.endswith(":*") else peer))
    return socks


def test_heartbeat_port_is_the_daemons_alone(lab):
    """Beside the socket bound to its address and port, each link has one
    connected to the peer's (the kernel then skips a route lookup for every
    heartbeat sent and received). The two share the port only while the
    second binds: another socket on alpha's heartbeat address and port is
    refused, also with SO_REUSEADDR or SO_REUSEPORT, and the pair goes on."""
    a, b = start_pair(lab)
    port = str(lab.port)
    socks = udp_sockets(lab, "alpha")
    assert ("%s:%s" % (A4, port), "%s:%s" % (B4, port)) in socks, socks
    assert ("%s:%s" % (A4, port), "*") in socks, socks
    out = lab.ns_exec("alpha", [PY, "-c", BIND_PROBE, A4, port])
    assert out.stdout.split() == ["refused"] * 3, out.stdout + out.stderr
    before = counter(b, "received")
    wait_for(lambda: counter(b, "received") >= before + 20, 5,
             msg="beta to hear alpha 20 more times",
             describe=lambda: snapshot(lab))
    settled(lab, a, b)
    assert counter(a, "send_errors") == 0, snapshot(lab)


def test_stopped_peer_port_unreachable_is_no_error(lab):
    """beta stops: its kernel answers each of alpha's heartbeats with ICMP
    port unreachable, which a connected socket reports on its next send or
    receive. alpha neither counts nor logs that as an error, and every
    heartbeat still goes out."""
    a, b = start_pair(lab)
    icmp = snmp(lab, "beta", "Icmp", "OutDestUnreachs")
    b.stop()
    sent = counter(a, "sent")
    wait_for(lambda: counter(a, "sent") >= sent + 100 and
             snmp(lab, "beta", "Icmp", "OutDestUnreachs") >= icmp + 2, 10,
             msg="alpha to send 100 heartbeats to a closed port, beta to "
             "answer 2 of them with ICMP", describe=lambda: snapshot(lab))
    st = a.status()
    assert st["counters"]["send_errors"] == 0, st["counters"]
    log = a.log()
    assert not re.search(r"link 0( \(\S+\))?: (send|receive)", log), log[-2000:]
    assert state_is(a, "active") and holds(lab, "alpha"), snapshot(lab)


# --- 6 -------------------------------------------------------------------

def partition_both_active(lab, a, b):
    """Cut alpha off; poll until both nodes are active and hold the VIPs."""
    lab.partition("alpha")
    wait_for(lambda: state_is(a, "active") and state_is(b, "active") and
             all(h == ["alpha", "beta"] for h in holders(lab).values()), 5,
             msg="both active during the partition",
             describe=lambda: snapshot(lab))


def client_learns(lab, host):
    """Poll until the client's neighbour entries of both VIPs are host's MAC."""
    mac = lab.mac(host)
    for v in VIPS:
        wait_for(lambda: (lab.neighbour("client", v) or ("",))[0] == mac, 3,
                 msg="client's neighbour entry of %s to be %s's" % (v, host),
                 describe=lambda: "client: %r, alpha %s, beta %s" % (
                     lab.neighbour("client", v), lab.mac("alpha"),
                     lab.mac("beta")))


def test_partition_then_heal_one_holder(lab):
    a, b = start_pair(lab)
    reach_vips(lab)
    partition_both_active(lab, a, b)
    lab.unpartition("alpha")
    settled(lab, a, b, timeout=5)
    # The winner announced again: the client's ARP/ND entries point at it.
    client_learns(lab, "alpha")
    reach_vips(lab)


def test_partition_heal_seen_first_by_loser(lab):
    """The same, when the heal is seen first by the loser: beta hears alpha
    (and releases) before alpha hears beta. alpha must still announce again,
    or the client keeps sending to beta's MAC address."""
    a, b = start_pair(lab)
    reach_vips(lab)
    partition_both_active(lab, a, b)
    # beta's announcements are out; then alpha's heartbeats reach beta only.
    client_learns(lab, "beta")
    lab.partition("alpha", "in")
    wait_for(lambda: state_is(b, "standby") and
             all(h == ["alpha"] for h in holders(lab).values()), 5,
             msg="beta to release on hearing alpha",
             describe=lambda: snapshot(lab))
    lab.unpartition("alpha")
    settled(lab, a, b, timeout=5)
    client_learns(lab, "alpha")
    reach_vips(lab)


# --- two links -----------------------------------------------------------

def test_second_link_keeps_pair_together(binaries):
    """The peer is dead only when every link is silent. (Heartbeats are
    dropped with nftables: cutting eth0 would take the VIPs' interface
    down, a local fault of its own.)"""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    with fodlab.Lab(link2=True) as lab:
        try:
            a, b = start_pair(lab)
            lab.partition("alpha", ifname="eth0")
            start = counter(b, "received")

            def still_alpha():
                assert only_holder(lab, "alpha"), snapshot(lab)
                assert state_is(b, "standby"), snapshot(lab)
                return counter(b, "received") >= start + 25
            wait_for(still_alpha, 10, msg="25 heartbeats over link 2")
            lab.partition("alpha")
            wait_for(lambda: holds(lab, "beta") and state_is(b, "active"), 5,
                     msg="beta to take over when both links are silent",
                     describe=lambda: snapshot(lab))
            assert b.status()["reason"] == "peer-dead", snapshot(lab)
        except BaseException:
            for d in lab.daemons:
                print("\n===== %s log =====\n%s" % (d.host, d.log_tail(80)))
            raise


# --- 7 -------------------------------------------------------------------

GOOD = """\
node: { name = "alpha"; priority = 150; };
cluster: {
  id = 1;
  key_file = "{key}";
  port = 694;
  interval_ms = 100;
  dead_ms = 500;
};
links = ( { interface = "eth0"; local = "192.0.2.1"; peer = "192.0.2.2"; } );
vips = ( { address = "192.0.2.10/24"; interface = "eth0"; } );
hooks: { dir = "{dir}/hooks"; };
runtime_dir = "{dir}/run";
state_dir = "{dir}/state";
"""

# (what, line number, replacement text for that line and maybe the next)
BAD = [
    ("unknown key", 5, 'port = 694; colour = "red";'),
    ("wrong type", 1, 'node: { name = "alpha"; priority = "high"; };'),
    ("priority out of range", 1, 'node: { name = "alpha"; priority = 255; };'),
    ("cluster id out of range", 3, "id = 70000;"),
    ("missing node name", 1, "node: { priority = 150; };"),
    ("VIP interface without a link", 10,
     'vips = ( { address = "192.0.2.10/24"; interface = "eth1"; } );'),
    ("dead_ms < 2 * interval_ms", 6,
     "interval_ms = 100; dead_ms = 150;\n# (dead_ms is on the line above)"),
    ("bad VIP address", 10,
     'vips = ( { address = "192.0.2.300/24"; interface = "eth0"; } );'),
    ("bad link address", 9,
     'links = ( { interface = "eth0"; local = "192.0.2.1"; peer = "nope"; } );'),
    ("syntax error", 3, "id = 1 2;"),
]


def write_case(tmp_path, lines, name):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def check(path):
    p = subprocess.run([fodlab.FAILOVERD, "-t", "-f", path],
                       capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout + p.stderr


def make_key(tmp_path, mode=0o600):
    key = tmp_path / "cluster.key"
    key.write_text(secrets.token_hex(32) + "\n")
    os.chmod(key, mode)
    return str(key)


def good_lines(tmp_path, key):
    for sub in ("hooks", "run", "state"):
        (tmp_path / sub).mkdir(exist_ok=True)
    return GOOD.replace("{key}", key).replace("{dir}", str(tmp_path)) \
        .splitlines()


def test_config_check_good(binaries, tmp_path):
    path = write_case(tmp_path, good_lines(tmp_path, make_key(tmp_path)),
                      "good.conf")
    rc, out = check(path)
    assert rc == 0, out


@pytest.mark.parametrize("what,line,text", BAD, ids=[b[0] for b in BAD])
def test_config_check_bad(binaries, tmp_path, what, line, text):
    lines = good_lines(tmp_path, make_key(tmp_path))
    new = text.split("\n")
    lines[line - 1:line - 1 + len(new)] = new
    path = write_case(tmp_path, lines, "bad.conf")
    rc, out = check(path)
    assert rc == 1, "%s: exit %d: %s" % (what, rc, out)
    assert "%s:%d: " % (path, line) in out, "%s: want %s:%d: in %r" % (
        what, path, line, out)


def test_config_check_missing_vips(binaries, tmp_path):
    lines = good_lines(tmp_path, make_key(tmp_path))
    del lines[9]
    path = write_case(tmp_path, lines, "novips.conf")
    rc, out = check(path)
    assert rc == 1, out
    assert re.search(re.escape(path) + r":\d+: .*vips", out), out


def key_error_prefix(path, lines):
    """FILE:LINE: of the key_file setting: a bad key file is its error."""
    n = next(i for i, l in enumerate(lines, 1) if "key_file" in l)
    return "%s:%d: " % (path, n)


# The example of design.md section 3, as written there (but for the key file).
DESIGN_EXAMPLE = """\
node:    { name = "alpha"; priority = 150; };         # name unique in the cluster; priority 1..254
cluster: {
  id = 1;                          # 1..65535; pairs sharing a network use different ids
  key_file = "/etc/failoverd/cluster.key";
  port = 694;                      # UDP (IANA ha-cluster)
  interval_ms = 100;               # heartbeat period, >= 1
  dead_ms = 500;                   # peer silent this long on every link => dead; >= 2 * interval_ms
  init_dead_ms = 1000;             # after start, wait this long to hear the peer before claiming
  preempt = true;                  # a higher-priority node takes the VIPs back when it returns
  preempt_delay_ms = 0;
};
links = (                          # one or more heartbeat paths; the peer is dead only when all are silent
  { interface = "eth0"; local = "192.0.2.1"; peer = "192.0.2.2"; }
);
vips = (
  { address = "192.0.2.10/24"; interface = "eth0"; },
  { address = "2001:db8::10/64"; interface = "eth0"; label = "eth0:vip"; }
);
announce: { count = 3; interval_ms = 100; refresh_ms = 0; };   # gratuitous ARP / unsolicited NA
hooks:   { dir = "/etc/failoverd/hooks"; timeout_ms = 30000; order = "vip-first"; };
checks = (                         # optional local health checks
  { name = "web"; command = "/usr/bin/curl -fsS http://127.0.0.1/"; interval_ms = 1000;
    timeout_ms = 500; rise = 2; fall = 3; on_fail = "fault"; recover = "systemctl restart nginx"; }
);
arbiter: { ping = [ "192.0.2.254" ]; interval_ms = 500; fail_after = 3; };   # optional
runtime_dir = "/run/failoverd";    # control socket
state_dir = "/var/lib/failoverd";  # small persistent state (e.g. the restart epoch)
"""


def test_design_example_config_is_accepted(binaries, tmp_path):
    """The contract's own example passes `failoverd -t`; its label on an
    IPv6 VIP (Linux has none) is accepted with a warning naming the line."""
    key = make_key(tmp_path)
    text = DESIGN_EXAMPLE.replace("/etc/failoverd/cluster.key", key)
    path = str(tmp_path / "design.conf")
    with open(path, "w") as f:
        f.write(text)
    rc, out = check(path)
    assert rc == 0, out
    n = next(i for i, l in enumerate(text.splitlines(), 1)
             if 'label = "eth0:vip"' in l)
    assert "%s:%d: vips[1].label ignored: Linux has no labels on IPv6 " \
        "addresses" % (path, n) in out, out
    assert "configuration OK" in out, out


# The example of design.md section 9, as written there.
DESIGN_GROUPS_EXAMPLE = """\
groups = (                         # up to 32; exclusive with top-level vips
  { name = "web"; priority = 150;
    vips = ( { address = "192.0.2.10/24"; interface = "eth0"; } ); },
  { name = "db";  priority = 50; preempt = false; preempt_delay_ms = 0;
    vips = ( { address = "192.0.2.20/24"; interface = "eth0"; } );
    checks = [ "pg" ];             # names from the top-level checks; default: all of them
    track_interfaces = [ "eth1" ]; # default: the top-level track_interfaces
  }
);
"""


def design_groups_text(key):
    """Section 3's example with section 9's groups in place of its vips,
    and a check "pg" (the db group names it) after section 3's "web"."""
    head, rest = DESIGN_EXAMPLE.split("vips = (", 1)
    tail = rest[rest.index("announce:"):]
    web_end = 'recover = "systemctl restart nginx"; }\n'
    assert web_end in tail
    tail = tail.replace(web_end, web_end[:-1] + ",\n"
                        '  { name = "pg"; command = "/usr/bin/pg_isready -q"; }\n')
    return (head + DESIGN_GROUPS_EXAMPLE + tail).replace(
        "/etc/failoverd/cluster.key", key)


def test_design_groups_example_config_is_accepted(binaries, tmp_path):
    """The contract's VIP groups example passes `failoverd -t`."""
    path = str(tmp_path / "design-groups.conf")
    with open(path, "w") as f:
        f.write(design_groups_text(make_key(tmp_path)))
    rc, out = check(path)
    assert rc == 0, out
    assert "configuration OK" in out, out


def test_key_file_readable_by_others_is_refused(binaries, tmp_path):
    key = make_key(tmp_path, 0o644)
    lines = good_lines(tmp_path, key)
    path = write_case(tmp_path, lines, "good.conf")
    rc, out = check(path)
    assert rc == 1, out
    assert out.startswith(key_error_prefix(path, lines)), out
    assert key in out, out
    assert re.search(r"mode|permission|readable|group|world|0644", out,
                     re.I), out
    os.chmod(key, 0o600)
    assert check(path)[0] == 0


def test_key_file_missing_or_short_is_refused(binaries, tmp_path):
    key = tmp_path / "cluster.key"
    lines = good_lines(tmp_path, str(key))
    path = write_case(tmp_path, lines, "good.conf")
    rc, out = check(path)
    assert rc == 1 and str(key) in out, out
    assert out.startswith(key_error_prefix(path, lines)), out
    key.write_text("00112233\n")
    os.chmod(key, 0o600)
    rc, out = check(path)
    assert rc == 1 and str(key) in out, out
    assert out.startswith(key_error_prefix(path, lines)), out


def test_keygen_writes_private_key(binaries, tmp_path):
    key = str(tmp_path / "new.key")
    p = subprocess.run([fodlab.FAILOVERCTL, "keygen", key],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert os.stat(key).st_mode & 0o777 == 0o600
    with open(key) as f:
        text = f.read().strip()
    assert len(text) >= 64, text
    path = write_case(tmp_path, good_lines(tmp_path, key), "good.conf")
    rc, out = check(path)
    assert rc == 0, out
