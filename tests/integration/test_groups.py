"""VIP groups (design 9, issue 12): an active-active pair. "web" prefers
alpha, "db" prefers beta; each group has its own state, election,
preemption, faults and hooks, and one group's transition never moves
another's VIPs. Every test records both nodes' addresses for its whole
length (ip monitor) and checks who held each VIP when.
"""

import json
import os
import time

import helpers
from helpers import wait_for
from test_holes import HANDOVER_OVERLAP_S, Timeline
from test_splitbrain import record_hook, runs

WEB4, WEB6 = "192.0.2.10", "2001:db8::10"
DB4, DB6 = "192.0.2.20", "2001:db8::20"
GROUP_VIPS = {"web": (WEB4, WEB6), "db": (DB4, DB6)}
PRIO = {"alpha": {"web": 150, "db": 50}, "beta": {"web": 100, "db": 200}}


def groups_conf(lab, host, db_check=False, prio=PRIO, **cluster):
    """web and db with host's priorities in prio; cluster: lab.config()'s
    keyword arguments (peer=[...] for more nodes)."""
    c = lab.config(host, **cluster)
    del c["vips"]
    c["groups"] = [
        {"name": name, "priority": prio[host][name],
         "vips": [{"address": v4 + "/24", "interface": "eth0"},
                  {"address": v6 + "/64", "interface": "eth0"}]}
        for name, (v4, v6) in GROUP_VIPS.items()]
    if db_check:    # fails while the file <lab>/<host>-db-down exists
        c["checks"] = [{"name": "pg", "command": "/bin/sh -c 'test ! -e %s'"
                        % db_down(lab, host), "interval_ms": 100,
                        "timeout_ms": 1000, "rise": 1, "fall": 1}]
        c["groups"][0]["checks"] = []
        c["groups"][1]["checks"] = ["pg"]
    return c


def db_down(lab, host):
    return os.path.join(lab.dir, "%s-db-down" % host)


def holders(lab, group):
    return [lab.vip_holders(v) for v in GROUP_VIPS[group]]


def held_by(lab, group, host):
    return all(h == [host] for h in holders(lab, group))


def group_states(d):
    st = d.try_status()
    if st is None:
        return None
    return {g["name"]: g["state"] for g in st["groups"]}


def settled(lab, a, b, web="alpha", db="beta", timeout=10):
    """web and db each held by one node, and both statuses say so."""
    want = {"alpha": {"web": "active" if web == "alpha" else "standby",
                      "db": "active" if db == "alpha" else "standby"},
            "beta": {"web": "active" if web == "beta" else "standby",
                     "db": "active" if db == "beta" else "standby"}}
    return wait_for(lambda: held_by(lab, "web", web) and
                    held_by(lab, "db", db) and
                    group_states(a) == want["alpha"] and
                    group_states(b) == want["beta"], timeout,
                    msg="web on %s, db on %s" % (web, db),
                    describe=lambda: "holders web %r db %r\nalpha %s\nbeta %s"
                    % (holders(lab, "web"), holders(lab, "db"),
                       json.dumps(a.try_status()), json.dumps(b.try_status())))


def start(lab, **kw):
    a = lab.daemon("alpha", groups_conf(lab, "alpha", **kw))
    b = lab.daemon("beta", groups_conf(lab, "beta", **kw))
    settled(lab, a, b)
    return a, b


def never_held(tl, host, vip, since=0.0):
    return not [iv for iv in tl.intervals(host, vip, time.time())
                if iv[1] is None or iv[1] > since]


def probers(lab, vips):
    ps = [lab.prober("client", v, interval_ms=1) for v in vips]
    for p in ps:
        p.wait_ready()
    return ps


def results(ps):
    for p in ps:
        p.stop()
    return [p.result() for p in ps]


def test_active_active_status_and_hooks(lab):
    """Each node holds its own group; status shows both groups; hooks run
    per group transition with FAILOVERD_GROUP and that group's VIPs."""
    rec = {h: record_hook(lab, h, "promote") for h in ("alpha", "beta")}
    a, b = start(lab)
    st = a.status()
    assert [g["name"] for g in st["groups"]] == ["web", "db"]
    web, db = st["groups"]
    assert (web["state"], web["priority"], web["peer"]["state"]) == \
        ("active", 150, "standby"), st
    assert (db["state"], db["priority"], db["peer"]["state"]) == \
        ("standby", 50, "active"), st
    assert web["peer"]["configured"] and db["peer"]["configured"]
    # the top-level vips list every group's VIPs
    assert [v["address"] for v in st["vips"]] == [
        WEB4 + "/24", WEB6 + "/64", DB4 + "/24", DB6 + "/64"]
    for host, group in (("alpha", "web"), ("beta", "db")):
        got = wait_for(lambda: runs(rec[host]), 5,
                       msg="%s's promote hook" % host)
        assert len(got) == 1, got
        env = got[0]
        assert env["FAILOVERD_GROUP"] == group, env
        assert env["FAILOVERD_VIPS"] == "%s/24 %s/64" % GROUP_VIPS[group], env
    text = a.ctl("status").stdout
    assert "group     web: active" in text and "group     db: standby" in text


def test_cut_alpha_then_heal_only_web_returns(lab):
    """Cut alpha: beta holds both groups. Heal: only web goes back, make-
    before-break (0 lost 1 ms probes on either VIP), and db never moves."""
    a, b = start(lab)
    tl = Timeline(lab)
    t0 = time.time()
    lab.cut("alpha")
    wait_for(lambda: held_by(lab, "web", "beta") and
             held_by(lab, "db", "beta"), 5, msg="beta to hold both groups")
    ps = probers(lab, (WEB4, DB4))
    time.sleep(0.3)
    healed = time.time()
    lab.heal("alpha")
    settled(lab, a, b)
    time.sleep(0.3)
    web, db = results(ps)
    assert web["lost"] == 0 and db["lost"] == 0, (web, db)
    assert never_held(tl, "alpha", DB4, t0), tl.describe(DB4)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=healed, vip=WEB4)
    # db's state machines saw no transition on beta since the start
    db_b = [g for g in b.status()["groups"] if g["name"] == "db"][0]
    assert [t["to"] for t in db_b["transitions"]][0] == "active", db_b


def test_sigterm_moves_its_groups_without_loss(lab):
    """A graceful stop of beta hands db to alpha make-before-break; web
    stays where it is."""
    a, b = start(lab)
    tl = Timeline(lab)
    ps = probers(lab, (WEB4, DB4))
    t0 = time.time()
    assert b.stop() == 0
    wait_for(lambda: held_by(lab, "db", "alpha") and
             held_by(lab, "web", "alpha"), 5, msg="alpha to hold both")
    time.sleep(0.2)
    web, db = results(ps)
    assert web["lost"] == 0 and db["lost"] == 0, (web, db)
    assert never_held(tl, "beta", WEB4, t0)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=DB4)


def test_switchover_of_one_group(lab):
    a, b = start(lab)
    tl = Timeline(lab)
    t0 = time.time()
    p = a.ctl("switchover", "db")
    assert p.returncode != 0 and "not active" in (p.stdout + p.stderr), p
    p = a.ctl("switchover", "nosuch")
    assert p.returncode != 0 and "no group named nosuch" in \
        (p.stdout + p.stderr), p
    p = a.ctl("switchover", "web")
    assert p.returncode == 0, p
    settled(lab, a, b, web="beta", db="beta")
    assert never_held(tl, "alpha", DB4, t0)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=WEB4)
    # no GROUP: every group this node holds
    p = b.ctl("switchover")
    assert p.returncode == 0, p
    settled(lab, a, b, web="alpha", db="alpha")


def test_a_check_faults_only_the_groups_that_list_it(lab):
    """A failing check that only db lists moves db, never web."""
    a, b = start(lab, db_check=True)
    tl = Timeline(lab)
    t0 = time.time()
    with open(db_down(lab, "beta"), "w"):
        pass
    wait_for(lambda: held_by(lab, "db", "alpha") and
             (group_states(b) or {}).get("db") == "fault" and
             (group_states(a) or {}).get("db") == "active", 5,
             msg="db to move to alpha")
    gs_b = {g["name"]: g for g in b.status()["groups"]}
    assert gs_b["db"]["faults"] == ["check-failed:pg"], gs_b
    assert gs_b["web"]["state"] == "standby" and gs_b["web"]["faults"] == []
    os.unlink(db_down(lab, "beta"))
    settled(lab, a, b)
    assert never_held(tl, "beta", WEB4, t0)
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0, vip=WEB4)


def test_group_only_one_node_configures(lab):
    """alpha has a third group beta does not know: alpha holds it alone,
    both say so, and the other groups run as ever."""
    ca = groups_conf(lab, "alpha")
    ca["groups"].append({"name": "solo", "priority": 100, "vips": [
        {"address": "192.0.2.30/24", "interface": "eth0"}]})
    a = lab.daemon("alpha", ca)
    b = lab.daemon("beta", groups_conf(lab, "beta"))
    wait_for(lambda: lab.vip_holders("192.0.2.30") == ["alpha"] and
             held_by(lab, "web", "alpha") and held_by(lab, "db", "beta"),
             10, msg="solo on alpha, web on alpha, db on beta")
    solo = [g for g in a.status()["groups"] if g["name"] == "solo"][0]
    assert solo["state"] == "active" and not solo["peer"]["configured"], solo
    assert "does not configure it" in a.log()
    assert "configures it, this node does not" in b.log()


# --- issue 12: a standby that sends rarely -----------------------------------

SPARSE_MS = 500     # standby_interval_ms: five times dead_ms (100 ms here)


def test_sparse_standby_alive_fails_over_and_preempts(lab):
    """standby_interval_ms far above dead_ms, top-level vips (the two nodes
    agree on protocol version 2): the active node sees the standby alive
    throughout, a killed active node is taken over from in about dead_ms,
    and a preemption loses no probe."""
    counter, snapshot = helpers.counter, helpers.snapshot
    a, b = helpers.start_pair(lab, *(lab.config(h, standby_interval_ms=SPARSE_MS)
                             for h in ("alpha", "beta")))
    tl = Timeline(lab)
    sent0, t0 = counter(b, "sent"), time.monotonic()
    seen = []

    def alive_for(seconds):
        st = a.status()
        assert st["state"] == "active" and st["peer"]["alive"] and \
            all(link["up"] for link in st["links"]), snapshot(lab)
        seen.append(time.monotonic())
        return seen[-1] - t0 >= seconds
    wait_for(lambda: alive_for(3), 6, interval=0.02,
             msg="3 s of status polls", describe=lambda: snapshot(lab))
    rate = (counter(b, "sent") - sent0) / (time.monotonic() - t0)
    assert rate < 2 * 1000 / SPARSE_MS, "standby sends %.1f/s" % rate
    assert b.status()["state"] == "standby"

    # the standby watches the active node's heartbeats: dead_ms, not the hold
    killed = time.monotonic()
    a.kill()
    wait_for(lambda: helpers.holds(lab, "beta") and
             helpers.state_is(b, "active"), 5,
             interval=0.01, msg="beta to take over",
             describe=lambda: snapshot(lab))
    took = time.monotonic() - killed
    assert took < (3 * SPARSE_MS + 100) / 1000, "took over after %.3f s" % took
    assert b.status()["reason"] == "peer-dead"
    # alpha's copy expires by itself (vip_lease_s)
    wait_for(lambda: helpers.only_holder(lab, "beta"), 10,
             msg="alpha's stale copy to expire", describe=lambda: snapshot(lab))

    p = lab.prober("client", helpers.VIP4, interval_ms=1)
    p.wait_ready()
    started = time.time()
    a.start()
    helpers.settled(lab, a, b)
    p.stop()
    r = p.result()
    assert r["lost"] == 0, (r, snapshot(lab))
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=started)
    assert a.status()["reason"] == "preempt", snapshot(lab)
    for d in (a, b):
        assert counter(d, "dual_active") == 0, snapshot(lab)
        assert counter(d, "bad_version") == 0, snapshot(lab)
