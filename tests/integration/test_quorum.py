"""Quorum from etcd (design 11, issue 14): three failoverd nodes, two
groups, and a three-member etcd cluster (Debian's etcd-server) in
namespaces of the lab. A node holds a group's VIPs only while it holds the
group's key under its own lease. Every test records every node's addresses
(ip monitor) for its whole length and checks that no two nodes ever held
a VIP at once, beyond the overlap of a make-before-break handover.
"""

import json
import signal
import subprocess
import time

import pytest

import fodlab
from helpers import wait_for, without_library
from test_holes import HANDOVER_OVERLAP_S, Timeline
from test_nodes import DB4, NODES, WEB4, conf, group_states, holders, \
    never_held, probers, results, settled

TTL = 2


@pytest.fixture
def etcd(lab):
    import os
    if not os.access(fodlab.ETCD, os.X_OK):
        pytest.skip("etcd-server is not installed (scripts/install-deps)")
    return lab.etcd_cluster()


def qconf(lab, etcd, host, on_loss="keep-while-peers", ttl_s=TTL,
          realtime=False, **cluster):
    """realtime: for a test that counts lost probes while nodes keep their
    VIPs on hearing each other every 20 ms (a busy host must not starve
    them)."""
    c = conf(lab, host, **cluster)
    c["quorum"] = {"etcd": etcd.urls, "ttl_s": ttl_s, "prefix": "/failoverd",
                   "on_quorum_loss": on_loss}
    if realtime:
        c["realtime"] = True
    return c


def start(lab, etcd, **kw):
    lab.add_host("gamma")
    ds = {h: lab.daemon(h, qconf(lab, etcd, h, **kw)) for h in NODES}
    settled(lab, ds, "alpha", "beta", timeout=15)
    wait_for(lambda: key_holders(ds["gamma"]) ==
             {"web": "alpha", "db": "beta"}, 10, msg="keys held",
             describe=lambda: json.dumps(ds["gamma"].try_status()))
    return ds


def key_holders(d):
    st = d.try_status()
    if st is None or not st["quorum"]["enabled"]:
        return None
    return {k["group"]: k["holder"] for k in st["quorum"]["keys"]}


def cut_etcd(lab, host):
    """Drop host's traffic to and from the etcd members (and nothing else)."""
    lab._nft(host, "table inet fodtest_etcd {}\n"
             "delete table inet fodtest_etcd\n"
             "table inet fodtest_etcd {\n"
             " chain output { type filter hook output priority -10;"
             " tcp dport 2379 drop; }\n"
             " chain input { type filter hook input priority -10;"
             " tcp sport 2379 drop; }\n}\n")


def heal_etcd(lab, host):
    lab._nft(host, "delete table inet fodtest_etcd\n")


def no_two_holders(tl, since=0.0):
    for v in (WEB4, DB4):
        assert tl.overlaps(v, since) == [], tl.describe(v)


def etcd_leader(lab, etcd):
    for m in etcd.members:
        p = lab.ns_exec(m, ["curl", "-sS", "-m", "1", "-X", "POST",
                            etcd.url(m) + "/v3/maintenance/status",
                            "-d", "{}"], check=False, timeout=5)
        try:
            st = json.loads(p.stdout)
        except ValueError:
            continue
        if st.get("leader") and st["leader"] == st["header"]["member_id"]:
            return m
    return None


def test_keys_follow_the_holders_and_status_shows_quorum(lab, etcd):
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    st = ds["alpha"].status()
    q = st["quorum"]
    assert q["enabled"] and q["reachable"] == 3 and q["lease_ok"], q
    assert int(q["lease_id"], 16) != 0 and q["ttl_s"] >= TTL, q
    assert {k["group"]: k["key"] for k in q["keys"]} == \
        {"web": "/failoverd/1/web", "db": "/failoverd/1/db"}, q
    # a switchover hands the key over with the VIPs, no lost probe
    ps = probers(lab, (WEB4,))
    t0 = time.time()
    p = ds["alpha"].ctl("switchover", "web", "gamma")
    assert p.returncode == 0, p
    settled(lab, ds, "gamma", "beta")
    wait_for(lambda: key_holders(ds["beta"])["web"] == "gamma", 5,
             msg="web's key with gamma")
    time.sleep(0.2)
    [r] = results(ps)
    assert r["lost"] == 0, r
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=WEB4)
    assert tl.overlaps(DB4) == [], tl.describe(DB4)


def test_killed_holder_fails_over_once_its_lease_expired(lab, etcd):
    """SIGKILL alpha (web's holder), no cleanup: gamma takes web only once
    alpha's lease expired, by which time alpha's copy has expired too."""
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    t0 = time.monotonic()
    ds["alpha"].kill()
    settled(lab, ds, "gamma", "beta", timeout=TTL + 8)
    took = time.monotonic() - t0
    assert took >= TTL * 0.5, took      # it waited for the lease
    no_two_holders(tl)
    assert never_held(tl, "beta", WEB4, 0)
    # alpha returns and takes web back make-before-break
    ps = probers(lab, (WEB4,))
    back = time.time()
    ds["alpha"].start()
    settled(lab, ds, "alpha", "beta", timeout=15)
    time.sleep(0.2)
    [r] = results(ps)
    assert r["lost"] == 0, r
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=back, vip=WEB4)


@pytest.mark.parametrize("freeze_s", [TTL * 0.5, TTL * 2.5])
def test_frozen_holder(lab, etcd, freeze_s):
    """SIGSTOP alpha below and above the TTL: below, nobody else gets the
    key (the lease lives) and alpha goes on; above, gamma takes web after
    the lease expired and alpha's copy is gone by then."""
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    ds["alpha"].proc.send_signal(signal.SIGSTOP)
    time.sleep(freeze_s)
    if freeze_s > TTL:
        wait_for(lambda: holders(lab, "web") == ["gamma"], 10,
                 msg="gamma to hold web", describe=lambda: tl.describe(WEB4))
    else:
        assert never_held(tl, "gamma", WEB4, 0) and \
            never_held(tl, "beta", WEB4, 0), tl.describe(WEB4)
    ds["alpha"].proc.send_signal(signal.SIGCONT)
    settled(lab, ds, "alpha", "beta", timeout=15)
    no_two_holders(tl) if freeze_s <= TTL else \
        tl.assert_overlap_within(HANDOVER_OVERLAP_S, vip=WEB4)
    assert tl.overlaps(DB4) == [], tl.describe(DB4)


def test_holder_cut_from_etcd_only_keeps_its_vips(lab, etcd):
    ds = start(lab, etcd, realtime=True)
    tl = Timeline(lab, NODES)
    ps = probers(lab, (WEB4,))
    cut_etcd(lab, "alpha")
    wait_for(lambda: ds["alpha"].status()["quorum"]["keeping"], TTL + 5,
             msg="alpha keeping without etcd")
    time.sleep(TTL * 1.5)
    assert holders(lab, "web") == ["alpha"]
    assert group_states(ds["alpha"])["web"] == "active"
    heal_etcd(lab, "alpha")
    wait_for(lambda: key_holders(ds["beta"])["web"] == "alpha" and
             ds["alpha"].status()["quorum"]["lease_ok"], 10,
             msg="alpha holds web's key again",
             describe=lambda: json.dumps(ds["alpha"].try_status()))
    [r] = results(ps)
    assert r["lost"] == 0, r
    no_two_holders(tl)


def test_holder_cut_from_peers_only_keeps_the_group(lab, etcd):
    """Heartbeats cut, etcd reachable: the others want web but cannot get
    its key while alpha renews its lease."""
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    lab.partition("alpha")
    time.sleep(TTL * 2)
    assert holders(lab, "web") == ["alpha"], tl.describe(WEB4)
    assert key_holders(ds["gamma"])["web"] == "alpha"
    lab.unpartition("alpha")
    settled(lab, ds, "alpha", "beta", timeout=10)
    no_two_holders(tl)


def test_one_way_cut_of_the_holder_moves_nothing(lab, etcd):
    """alpha's heartbeats stop leaving (it still hears the others): they
    think it dead and want web, but its key lives with its lease; alpha
    keeps serving, nobody else ever holds web."""
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    ps = probers(lab, (WEB4,))
    lab.partition("alpha", direction="out")
    wait_for(lambda: group_states(ds["gamma"])["web"] == "active", 5,
             msg="gamma to want web")
    time.sleep(TTL * 2)
    assert holders(lab, "web") == ["alpha"], tl.describe(WEB4)
    assert key_holders(ds["beta"])["web"] == "alpha"
    lab.unpartition("alpha")
    settled(lab, ds, "alpha", "beta", timeout=10)
    [r] = results(ps)
    assert r["lost"] == 0, r
    no_two_holders(tl)


def test_holder_cut_from_everything_releases_before_its_lease_ends(lab, etcd):
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    lab.cut("alpha")
    wait_for(lambda: holders(lab, "web") == ["gamma"], TTL + 8,
             msg="gamma to hold web", describe=lambda: tl.describe(WEB4))
    no_two_holders(tl)
    st = ds["alpha"].status()
    assert group_states(ds["alpha"]) == {"web": "fault", "db": "fault"}, st
    lab.heal("alpha")
    settled(lab, ds, "alpha", "beta", timeout=15)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, vip=WEB4)


def test_etcd_leader_killed_changes_nothing(lab, etcd):
    ds = start(lab, etcd)
    tl = Timeline(lab, NODES)
    leader = wait_for(lambda: etcd_leader(lab, etcd), 5, msg="etcd leader")
    etcd.kill(leader)
    time.sleep(TTL * 2)
    settled(lab, ds, "alpha", "beta", timeout=1)
    for h in NODES:
        assert ds[h].status()["quorum"]["lease_ok"], h
    no_two_holders(tl)


def test_etcd_majority_lost_no_vip_lost_then_a_cut_holder_releases(lab, etcd):
    """Two etcd members killed: the nodes still hear each other and keep
    what they hold (no lost probe). Then alpha is cut off: it releases web
    (nobody can take it without etcd). etcd back: web returns to alpha."""
    ds = start(lab, etcd, realtime=True)
    tl = Timeline(lab, NODES)
    ps = probers(lab, (WEB4, DB4))
    etcd.kill("etcd1")
    etcd.kill("etcd2")
    wait_for(lambda: all(ds[h].status()["quorum"]["keeping"]
                         for h in ("alpha", "beta")), TTL + 5,
             msg="holders keeping without quorum")
    time.sleep(TTL)
    web, db = results(ps)
    assert web["lost"] == 0 and db["lost"] == 0, (web, db)
    assert holders(lab, "web") == ["alpha"] and holders(lab, "db") == ["beta"]
    # now alpha is cut off as well: it must let web go
    lab.cut("alpha")
    wait_for(lambda: holders(lab, "web") == [], TTL + 2,
             msg="alpha to release web", describe=lambda: tl.describe(WEB4))
    time.sleep(TTL)
    assert holders(lab, "web") == [], tl.describe(WEB4)
    no_two_holders(tl)
    healed = time.time()
    lab.heal("alpha")
    etcd.start("etcd1")
    etcd.start("etcd2")
    etcd.wait_healthy()
    # gamma may get a key first (beta let db go too: it no longer heard
    # alpha); alpha and beta then preempt, make-before-break
    settled(lab, ds, "alpha", "beta", timeout=20)
    for v in (WEB4, DB4):
        tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=healed, vip=v)


def echoed_since(d, node, t):
    """node echoed a heartbeat of d's sent after t (wall clock)."""
    before = time.time()    # the status is no older: conservative
    st = d.status()
    return any(link["node"] == node and link["echoed_ms_ago"] is not None and
               before - link["echoed_ms_ago"] / 1000 > t
               for link in st["links"])


def test_a_peer_paused_while_etcd_is_down_costs_no_vip(lab, etcd):
    """etcd's majority lost, alpha and beta keep web and db. gamma then
    stops now and then for 80 ms (a busy host, a VM pause): late beyond
    dead_ms (100 ms with its 33 ms period and the echo's way back), but it
    had seen them keyless, so it would wait 2 s more before taking over:
    they keep serving and log no change."""
    ds = start(lab, etcd, realtime=True)
    tl = Timeline(lab, NODES)
    etcd.kill("etcd1")
    etcd.kill("etcd2")
    wait_for(lambda: all(ds[h].status()["quorum"]["keeping"]
                         for h in ("alpha", "beta")), TTL + 5,
             msg="holders keeping without quorum")
    # gamma has echoed a heartbeat of theirs sent since: one that said so
    seen = time.time()
    wait_for(lambda: all(echoed_since(ds[h], "gamma", seen)
                         for h in ("alpha", "beta")), 5,
             msg="gamma to echo a keyless heartbeat")
    ps = probers(lab, (WEB4, DB4))
    for _ in range(6):
        ds["gamma"].proc.send_signal(signal.SIGSTOP)
        time.sleep(0.08)
        ds["gamma"].proc.send_signal(signal.SIGCONT)
        time.sleep(0.3)
    web, db = results(ps)
    assert web["lost"] == 0 and db["lost"] == 0, (web, db)
    for h in ("alpha", "beta"):
        assert "keeping no more" not in ds[h].log(), ds[h].log_tail()
        assert ds[h].status()["quorum"]["keeping"], h
    assert holders(lab, "web") == ["alpha"] and holders(lab, "db") == ["beta"]
    no_two_holders(tl)


@pytest.mark.parametrize("gamma_waits", [False, True],
                         ids=["at-once", "gamma-waits-for-the-key"])
def test_restarted_holder_adopts_its_lease_and_nobody_takes_over(
        lab, etcd, gamma_waits):
    """SIGKILL and restart of alpha within the TTL: it adopts its lease
    (state_dir/etcd-lease) and takes web's key again at once; gamma never
    gets it (the lease never expired), also when it had found alpha dead
    and waits for the key (alpha restarted after dead_ms: an election, not
    a deference to a node that holds nothing). A SIGTERM then hands web over
    with its key, 0 lost probes; the stopped node's lease is revoked."""
    ds = start(lab, etcd, ttl_s=5)
    tl = Timeline(lab, NODES)
    lease = ds["alpha"].status()["quorum"]["lease_id"]
    ds["alpha"].kill()
    if gamma_waits:
        wait_for(lambda: (group_states(ds["gamma"]) or {}).get("web") ==
                 "active", 3, msg="gamma active for web, waiting for the key")
    ds["alpha"].start()
    settled(lab, ds, "alpha", "beta", timeout=10)
    assert ds["alpha"].status()["quorum"]["lease_id"] == lease
    assert never_held(tl, "gamma", WEB4, 0) and \
        never_held(tl, "beta", WEB4, 0), tl.describe(WEB4)
    ps = probers(lab, (WEB4,))
    t0 = time.time()
    assert ds["alpha"].stop(signal.SIGTERM) == 0
    wait_for(lambda: holders(lab, "web") == ["gamma"] and
             key_holders(ds["beta"])["web"] == "gamma", 5,
             msg="web and its key with gamma")
    time.sleep(0.2)
    [r] = results(ps)
    assert r["lost"] == 0, r
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=WEB4)
    assert tl.overlaps(DB4) == [], tl.describe(DB4)


def test_missing_libcurl_refused(lab):
    """Without libcurl, `failoverd -t` and the start name the quorum line
    and the package; the node exits holding nothing."""
    binary = without_library(lab, "libcurl.so.4")
    c = lab.config("alpha")
    c["quorum"] = {"etcd": ["http://192.0.2.250:2379"], "ttl_s": TTL}
    a = lab.daemon("alpha", c, start=False)
    with open(a.conf) as f:
        line = [n for n, t in enumerate(f, 1) if t.startswith("quorum")][0]
    want = "%s:%d: quorum needs libcurl (libcurl.so.4): " % (a.conf, line)
    p = subprocess.run([binary, "-t", "-f", a.conf], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1, p
    assert want in p.stderr and "; install it (Debian: libcurl4" in p.stderr, \
        p.stderr
    assert "configuration OK" not in p.stdout
    a.binary = binary
    a.start()
    wait_for(lambda: a.exited() is not None, 10, msg="alpha exits")
    assert a.exited() == 1
    assert "fatal: " + want in a.log(), a.log_tail()
    assert lab.vip_holders(fodlab.VIP4) == []
