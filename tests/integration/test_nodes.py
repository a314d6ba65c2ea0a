"""Three nodes, two groups (design 11, issue 14): per group the live node
with the highest priority holds the VIPs. "web" prefers alpha, then gamma,
then beta; "db" prefers beta, then gamma, then alpha. Every test records
all three nodes' addresses for its whole length (ip monitor) and checks
that no two ever held a VIP at once beyond a make-before-break handover.
"""

import json
import signal
import time

import fodlab
from helpers import wait_for
from test_groups import DB4, GROUP_VIPS, WEB4, group_states, groups_conf, \
    never_held, probers, results
from test_holes import HANDOVER_OVERLAP_S, Timeline

NODES = ("alpha", "beta", "gamma")
PRIO = {"alpha": {"web": 150, "db": 50}, "beta": {"web": 100, "db": 200},
        "gamma": {"web": 120, "db": 100}}


def conf(lab, host, **cluster):
    return groups_conf(lab, host, prio=PRIO, peer=[h for h in NODES
                                                   if h != host], **cluster)


def holders(lab, group):
    return sorted(set(h for v in GROUP_VIPS[group] for h in lab.vip_holders(v)))


def settled(lab, ds, web, db, timeout=10):
    """web held by node web, db by node db, and every running node's status
    says so (the holder active, the others standby)."""
    def ok():
        if holders(lab, "web") != [web] or holders(lab, "db") != [db]:
            return False
        for h, d in ds.items():
            if not d.running:
                continue
            want = {"web": "active" if h == web else "standby",
                    "db": "active" if h == db else "standby"}
            if group_states(d) != want:
                return False
        return True
    wait_for(ok, timeout, msg="web on %s, db on %s" % (web, db),
             describe=lambda: "holders web %r db %r\n%s" % (
                 holders(lab, "web"), holders(lab, "db"),
                 "\n".join("%s %s" % (h, json.dumps(d.try_status()))
                           for h, d in ds.items() if d.running)))


def start(lab, **cluster):
    lab.add_host("gamma")
    ds = {h: lab.daemon(h, conf(lab, h, **cluster)) for h in NODES}
    settled(lab, ds, "alpha", "beta")
    return ds


def test_three_nodes_elect_per_group_and_agree(lab):
    ds = start(lab)
    tl = Timeline(lab, NODES)
    for h, d in ds.items():
        st = d.status()
        assert sorted(p["name"] for p in st["peers"]) == \
            sorted(n for n in NODES if n != h), st
        assert all(p["alive"] for p in st["peers"]), st
        # every link knows which node it reaches
        assert sorted(l["node"] for l in st["links"]) == \
            sorted(n for n in NODES if n != h), st
    # the standbys' machines watch the holder of each group
    for h in ("beta", "gamma"):
        web = [g for g in ds[h].status()["groups"] if g["name"] == "web"][0]
        assert (web["peer"]["name"], web["peer"]["state"]) == \
            ("alpha", "active"), web
    time.sleep(0.5)     # a steady cluster stays as it is (ip monitor)
    for v in (WEB4, DB4):
        assert tl.overlaps(v) == [], tl.describe(v)
    assert never_held(tl, "gamma", WEB4, 0) and never_held(tl, "gamma", DB4, 0)


def test_killed_holder_goes_to_the_next_and_preempts_back(lab):
    """SIGKILL alpha (web): gamma, the next in web's order, takes web; db
    never moves. alpha returns: it takes web back make-before-break."""
    ds = start(lab)
    tl = Timeline(lab, NODES)
    t0 = time.time()
    ds["alpha"].kill()
    # what systemd's ExecStopPost does after a crash
    lab.ns_exec("alpha", [fodlab.FAILOVERD, "--cleanup", "-f",
                          ds["alpha"].conf])
    cleaned = time.time()
    settled(lab, ds, "gamma", "beta", timeout=5)
    st = ds["gamma"].status()
    web = [g for g in st["groups"] if g["name"] == "web"][0]
    assert web["reason"] == "peer-dead", web
    ps = probers(lab, (WEB4, DB4))
    ds["alpha"].start()
    settled(lab, ds, "alpha", "beta")
    time.sleep(0.3)
    web_r, db_r = results(ps)
    assert web_r["lost"] == 0 and db_r["lost"] == 0, (web_r, db_r)
    assert never_held(tl, "beta", WEB4, t0), tl.describe(WEB4)
    assert never_held(tl, "alpha", DB4, t0) and \
        never_held(tl, "gamma", DB4, t0), tl.describe(DB4)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=cleaned, vip=WEB4)
    st = ds["alpha"].status()
    web = [g for g in st["groups"] if g["name"] == "web"][0]
    assert web["reason"] == "preempt", web


def test_switchover_to_a_named_node_and_to_the_best(lab):
    ds = start(lab)
    tl = Timeline(lab, NODES)
    t0 = time.time()
    p = ds["alpha"].ctl("switchover", "web", "nosuch")
    assert p.returncode != 0 and "not a live standby" in \
        (p.stdout + p.stderr), p
    p = ds["alpha"].ctl("switchover", "web", "beta", "gamma")
    assert p.returncode != 0 and "GROUP NODE" in (p.stdout + p.stderr), p
    ps = probers(lab, (WEB4,))
    p = ds["alpha"].ctl("switchover", "web", "beta")
    assert p.returncode == 0 and "to beta" in p.stdout, p
    settled(lab, ds, "beta", "beta")
    # no NODE: the best standby, alpha (preempt is off after a switchover)
    p = ds["beta"].ctl("switchover", "web")
    assert p.returncode == 0 and "to alpha" in p.stdout, p
    settled(lab, ds, "alpha", "beta")
    time.sleep(0.2)
    [r] = results(ps)
    assert r["lost"] == 0, r
    assert never_held(tl, "gamma", WEB4, t0), tl.describe(WEB4)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=WEB4)


def test_sigterm_hands_over_to_the_best_standby_only(lab):
    """A graceful stop of beta hands db to gamma (100 > alpha's 50), make-
    before-break; alpha, which also hears the stop, never takes it."""
    ds = start(lab)
    tl = Timeline(lab, NODES)
    ps = probers(lab, (WEB4, DB4))
    t0 = time.time()
    assert ds["beta"].stop(signal.SIGTERM) == 0
    settled(lab, ds, "alpha", "gamma")
    time.sleep(0.2)
    web_r, db_r = results(ps)
    assert web_r["lost"] == 0 and db_r["lost"] == 0, (web_r, db_r)
    assert never_held(tl, "alpha", DB4, t0), tl.describe(DB4)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=DB4)
    assert tl.overlaps(WEB4) == [], tl.describe(WEB4)
