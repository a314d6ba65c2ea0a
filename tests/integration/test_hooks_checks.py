"""Hooks, health checks and interface tracking (issue 3), with real daemons,
real hook scripts and real namespaces, seen as an operator sees them: what
the hooks recorded, who holds the VIPs (`ip addr` in each node), whether the
client reaches them, what `failoverctl status --json` and the logs say.

Timers are short (interval 20 ms, dead 100 ms, init_dead 300 ms). Every
wait is a poll with a deadline; time bounds are dead_ms-scale, never tight.
"""

import os
import re
import signal
import threading
import time

import pytest

from helpers import (VIP4, VIP6, VIPS, assert_secure, holders, holds, only_holder, settled,
                     snapshot, start_pair, wait_for)

# The hook environment, one record per run, fields split by "|" (FAILOVERD_
# VIPS holds a space, and an unknown peer would be an empty field).
FIELDS = ("path", "event", "state", "prev", "reason", "node", "peer", "vips",
          "cluster", "PATH")
RECORD = ('printf "%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s\\n" "$0" '
          '"$FAILOVERD_EVENT" "$FAILOVERD_STATE" "$FAILOVERD_PREV_STATE" '
          '"$FAILOVERD_REASON" "$FAILOVERD_NODE" "$FAILOVERD_PEER" '
          '"$FAILOVERD_VIPS" "$FAILOVERD_CLUSTER_ID" "$PATH" >> %s\n')
VIPS_ENV = "%s/24 %s/64" % (VIP4, VIP6)
CANARY = "FOD_HOOKTEST_CANARY"


# --- hooks ---------------------------------------------------------------

def hook(lab, host, kind, name, body):
    """Install an executable /bin/sh hook HOOKS_DIR/<kind>.d/<name> of host
    with body, root-owned, mode 0755, on a path the daemon accepts (modes
    are set explicitly: a umask must not make the test depend on luck)."""
    top = lab.host_dir(host)
    d = os.path.join(top, "hooks", kind + ".d")
    os.makedirs(d, 0o755, exist_ok=True)
    for p in (top, os.path.join(top, "hooks"), d):
        os.chmod(p, 0o755)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    assert_secure(path)
    return path

# daemon/hooks.h HOOKS_NOTIFY_MAX: CFG_MAX_GROUPS + 8
NOTIFY_LANE = 32 + 8


def record_hook(lab, host, kind, name, out, status=0, extra=""):
    return hook(lab, host, kind, name, RECORD % out + extra +
                "exit %d\n" % status)


def records(path):
    """The records of RECORD hooks in path, oldest first, as dicts (with
    "name" and "kind" from the hook's path, which is $0)."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        r = dict(zip(FIELDS, line.split("|")))
        r["name"] = os.path.basename(r["path"])
        r["kind"] = os.path.basename(os.path.dirname(r["path"]))
        out.append(r)
    return out


def n_records(path, n):
    got = records(path)
    return got if len(got) >= n else None


def assert_sane_path(value):
    parts = value.split(":")
    assert all(p.startswith("/") for p in parts), value     # no "", no "."
    for want in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        assert want in parts, value


def assert_env(r, **want):
    """One record against the documented environment."""
    for k, v in want.items():
        assert r[k] == v, "%s: %s is %r, want %r (%r)" % (r["name"], k,
                                                         r[k], v, r)
    assert_sane_path(r["PATH"])


# --- what an operator looks at ---------------------------------------------

def log_has(d, pattern):
    return re.search(pattern, d.log(), re.M)


def wait_log(d, pattern, timeout=5, count=1):
    """Poll until d's log has count lines matching pattern."""
    return wait_for(lambda: log_count(d, pattern) >= count, timeout,
                    msg="%s's log to match %r %d times" % (d.host, pattern,
                                                          count),
                    describe=lambda: d.log_tail(30))


def log_count(d, pattern):
    return len(re.findall(pattern, d.log(), re.M))


def in_state(d, state, reason=None):
    st = d.try_status()
    if st is None or st["state"] != state:
        return None
    if reason is not None and st["reason"] != reason:
        return None
    return st


def wait_state(lab, d, state, reason=None, timeout=5):
    return wait_for(lambda: in_state(d, state, reason), timeout,
                    msg="%s to be %s (%s)" % (d.host, state, reason),
                    describe=lambda: snapshot(lab))


def has_vip(lab, host):
    """True if host has either VIP."""
    return any(host in h for h in holders(lab).values())


def reach_vips(lab):
    for v in VIPS:
        lab.reach("client", v)


def check_of(st, name):
    """The status entry of check name."""
    got = [c for c in st["checks"] if c["name"] == name]
    assert len(got) == 1, st["checks"]
    return got[0]


def transitions(st):
    """(from, to, reason), oldest first."""
    return [(t["from"], t["to"], t["reason"])
            for t in reversed(st["transitions"])]


def take_over(lab, d, reason=None, timeout=5):
    """Poll until d alone holds both VIPs and is active (for reason)."""
    return wait_for(lambda: only_holder(lab, d.host) and
                    in_state(d, "active", reason), timeout,
                    msg="%s to hold the VIPs alone (%s)" % (d.host, reason),
                    describe=lambda: snapshot(lab))


class Watcher:
    """Polls the VIP holders and both states in the background, so that a
    short excursion between two of the test's own polls is seen too."""

    def __init__(self, lab, daemons, max_s=30):
        self.lab, self.daemons, self.max_s = lab, daemons, max_s
        self.samples = []
        self.stop_ev = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        end = time.monotonic() + self.max_s
        try:
            while not self.stop_ev.is_set() and time.monotonic() < end:
                h = holders(self.lab)
                s = tuple(d.state() for d in self.daemons)
                self.samples.append((h[VIP4], h[VIP6], s))
                self.stop_ev.wait(0.02)
        except Exception as e:      # reported by stop()
            self.error = e

    def stop(self):
        self.stop_ev.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "watcher did not stop"
        assert self.error is None, "watcher failed: %r" % self.error
        return self.samples


# --- zombies ---------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid) of pid, None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[1])
    except (OSError, IndexError, ValueError):
        return None


def zombie_children(pid):
    """Pids of the <defunct> children of pid."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[0] == "Z" and st[1] == pid:
                found.append(int(name))
    return sorted(found)


def assert_no_zombies(lab, timeout=2):
    """Every running daemon of the lab is its real process (ip netns exec
    execs it), and none keeps a <defunct> child: a child is a zombie only
    between its exit and the loop reaping it, so a sample without any must
    come within the timeout."""
    ds = [d for d in lab.daemons if d.running]
    assert ds, "no daemon running to look at"
    for d in ds:
        exe = os.readlink("/proc/%d/exe" % d.pid)
        assert os.path.basename(exe).startswith("failoverd"), (d.pid, exe)
    wait_for(lambda: not any(zombie_children(d.pid) for d in ds), timeout,
             msg="no zombie children of failoverd",
             describe=lambda: "; ".join("%s (pid %d): zombies %r" % (
                 d.host, d.pid, zombie_children(d.pid)) for d in ds))


def pids_from(path, n=1):
    """The n pids a hook wrote into path, None until they are all there."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.endswith("\n") or len(text.split()) != n:
        return None
    return [int(x) for x in text.split()]


def gone(pid):
    """pid does not run any more (absent, or a zombie left to init)."""
    st = proc_stat(pid)
    return st is None or st[0] == "Z"


# --- 1 hook environment and order --------------------------------------------

def test_hook_environment_and_order_on_takeover_and_release(lab, monkeypatch):
    """beta's promote.d/10-a, 20-b and demote.d/10-c see the documented
    environment on the takeover (peer-dead, from standby) and on the
    release when alpha returns with preempt; notify.d sees every
    transition, in order; starting in standby runs no demote hook; hooks
    do not inherit the daemon's environment."""
    monkeypatch.setenv(CANARY, "leaked")    # in failoverd's environment
    rec = os.path.join(lab.dir, "beta-hooks.log")
    notes = os.path.join(lab.dir, "beta-notify.log")
    envdump = os.path.join(lab.dir, "beta-env")
    record_hook(lab, "beta", "promote", "10-a", rec)
    record_hook(lab, "beta", "promote", "20-b", rec,
                extra="env > %s\n" % envdump)
    record_hook(lab, "beta", "demote", "10-c", rec)
    record_hook(lab, "beta", "notify", "50-n", notes)
    # Not hooks: skipped like run-parts(8) does.
    hook(lab, "beta", "promote", "15-x.dpkg-old", "echo x >> %s\n" % rec)
    hook(lab, "beta", "promote", ".15-hidden", "echo x >> %s\n" % rec)

    a, b = start_pair(lab)
    # beta started as standby: its notify hook ran for init -> standby. A
    # demote job would have been queued before that notify job.
    first = wait_for(lambda: n_records(notes, 1), 5,
                     msg="beta's notify hook for its start")
    assert (first[0]["prev"], first[0]["state"]) == ("init", "standby"), first
    assert records(rec) == [], "beta, never active, ran: %r" % records(rec)

    lab.cut("alpha")
    take_over(lab, b, "peer-dead")
    reach_vips(lab)
    got = wait_for(lambda: n_records(rec, 2), 5,
                   msg="beta's two promote hooks")
    assert [r["name"] for r in got] == ["10-a", "20-b"], got
    for r in got:
        assert r["kind"] == "promote.d", r
        assert_env(r, event="promote", state="active", prev="standby",
                   reason="peer-dead", node="beta", peer="alpha",
                   vips=VIPS_ENV, cluster="1")
    with open(envdump) as f:
        env = dict(line.split("=", 1) for line in f.read().splitlines()
                   if "=" in line)
    assert CANARY not in env, "the daemon's environment leaks into hooks"
    for k in ("EVENT", "STATE", "PREV_STATE", "REASON", "NODE", "PEER",
              "VIPS", "CLUSTER_ID"):
        assert "FAILOVERD_" + k in env, env

    # alpha returns (its carrier was lost: fault, then cleared) and, with
    # preempt, takes the VIPs back: beta releases them and runs demote.d.
    lab.heal("alpha")
    settled(lab, a, b)
    reach_vips(lab)
    got = wait_for(lambda: n_records(rec, 3), 5, msg="beta's demote hook")
    assert len(got) == 3, got
    demote = got[2]
    sb = b.status()
    release = [t for t in transitions(sb) if t[:2] == ("active", "standby")]
    assert release, sb["transitions"]
    # What the hook was told is what status says; the daemon calls it
    # dual-active (alpha preempted: both were active for one heartbeat).
    assert demote["reason"] == release[-1][2], (demote, release)
    assert demote["reason"] in ("dual-active", "preempt"), demote
    assert demote["name"] == "10-c" and demote["kind"] == "demote.d", demote
    assert_env(demote, event="demote", state="standby", prev="active",
               node="beta", peer="alpha", vips=VIPS_ENV, cluster="1")
    assert not has_vip(lab, "beta"), holders(lab)   # removed before demote.d

    # notify.d saw every transition of beta, in order, as status lists them.
    want = transitions(sb)
    got = wait_for(lambda: n_records(notes, len(want)), 5,
                   msg="one notify record per transition")
    assert [(r["prev"], r["state"], r["reason"]) for r in got] == want, \
        (got, want)
    for r in got:
        assert_env(r, event="notify", node="beta", peer="alpha",
                   vips=VIPS_ENV, cluster="1")
    assert [t[:2] for t in want] == [("init", "standby"),
                                     ("standby", "active"),
                                     ("active", "standby")], want
    assert len(records(rec)) == 3, records(rec)     # nothing ran twice
    assert_no_zombies(lab)


@pytest.mark.parametrize("order", ["vip-first", "hooks-first"])
def test_promote_hook_order_and_vips(lab, order):
    """vip-first: the VIPs are on eth0 when the promote hook runs;
    hooks-first: they are not yet, and come up once the hook succeeded."""
    seen = os.path.join(lab.dir, "alpha-addrs")
    hook(lab, "alpha", "promote", "10-addrs",
         "ip -o addr show dev eth0 > %s.tmp\nmv %s.tmp %s\n"
         % (seen, seen, seen))
    cfg = lab.config("alpha")
    cfg["hooks"]["order"] = order
    a = lab.daemon("alpha", cfg)      # alone: active after init_dead_ms
    wait_for(lambda: os.path.exists(seen), 5, msg="the promote hook to run",
             describe=lambda: a.log_tail(20))
    with open(seen) as f:
        text = f.read()
    addrs = set(re.findall(r"inet6? ([0-9a-f.:]+)/", text))
    assert "192.0.2.1" in addrs, text            # it did look at eth0
    if order == "vip-first":
        assert {VIP4, VIP6} <= addrs, text
    else:
        assert not {VIP4, VIP6} & addrs, text
    take_over(lab, a, "startup")
    reach_vips(lab)
    assert_no_zombies(lab)


# --- 2 a slow promote hook ---------------------------------------------------

def test_slow_promote_hook_blocks_neither_takeover_nor_heartbeats(lab):
    """beta's promote hook sleeps 60 s: beta still takes over within a
    dead_ms-scale time, keeps sending heartbeats at its interval, and a
    restarted alpha never misses them."""
    pidfile = os.path.join(lab.dir, "slow-hook.pid")
    hook(lab, "beta", "promote", "10-slow",
         "echo $$ > %s\nexec sleep 60\n" % pidfile)
    cb = lab.config("beta")
    cb["hooks"]["timeout_ms"] = 120000      # the hook is slow, not failing
    a, b = start_pair(lab, beta=cb)
    interval = cb["cluster"]["interval_ms"]
    dead = cb["cluster"]["dead_ms"]
    hook_pid = None
    try:
        a.kill()
        # dead_ms is 0.1 s: 3 s is generous, yet far from the hook's 60 s.
        wait_for(lambda: holds(lab, "beta") and in_state(b, "active",
                                                         "peer-dead"),
                 3, msg="beta to take over while its promote hook sleeps",
                 describe=lambda: snapshot(lab))
        hook_pid, = wait_for(lambda: pids_from(pidfile), 3,
                             msg="the hook to start")
        assert proc_stat(hook_pid)[1] == b.pid, proc_stat(hook_pid)
        reach_vips(lab)

        # beta sends at its interval while the hook runs.
        s0, t0 = b.status()["counters"]["sent"], time.monotonic()

        def sent_enough():
            assert proc_stat(hook_pid) is not None, "the hook ended early"
            st = b.status()
            assert st["state"] == "active", snapshot(lab)
            dt = time.monotonic() - t0
            return dt >= 1.5 and st["counters"]["sent"] - s0 >= \
                0.5 * dt * 1000 / interval
        wait_for(sent_enough, 5, msg="beta to send at about 1/%d ms"
                 % interval, describe=lambda: snapshot(lab))

        # alpha comes back without preempt and hears beta with no gap.
        a.write_config(lab.config("alpha", preempt=False))
        a.start()
        settled(lab, b, a)
        worst = [0]
        t1 = time.monotonic()

        def no_gap():
            st = a.status()
            assert st["state"] == "standby", snapshot(lab)
            heard = st["links"][0]["heard_ms_ago"]
            assert heard is not None and heard < dead, \
                "alpha did not hear beta for %s ms" % heard
            worst[0] = max(worst[0], heard)
            return time.monotonic() - t1 >= 3
        wait_for(no_gap, 10, interval=0.01, msg="3 s of beta's heartbeats")
        print("slow hook: longest silence seen by alpha %d ms (dead_ms %d)"
              % (worst[0], dead))
        assert transitions(a.status()) == [("init", "standby",
                                            "peer-active")], snapshot(lab)
        assert proc_stat(hook_pid) is not None, "the hook ended early"
        assert_no_zombies(lab)
    finally:
        # The hook is ours: end it (beta then faults; the test is over),
        # or it would outlive the lab by a minute.
        hook_pid = hook_pid or (pids_from(pidfile) or [None])[0]
        st = hook_pid and proc_stat(hook_pid)
        if st and st[1] == b.pid:
            os.kill(hook_pid, signal.SIGKILL)


# --- 3 a failing promote hook ----------------------------------------------

def test_failing_promote_hook_faults_and_peer_takes_over(lab):
    """alpha preempts, its promote hook exits 1: alpha goes to fault
    (hook-failed:NAME), drops the VIPs, and beta takes them back."""
    hook(lab, "alpha", "promote", "10-fail",
         "echo 'failing on purpose'\nexit 1\n")
    b = lab.daemon("beta")
    take_over(lab, b, "startup")
    a = lab.daemon("alpha")     # preempts, its promote hook fails
    st = wait_state(lab, a, "fault", "hook-failed:10-fail")
    take_over(lab, b, "peer-fault")
    reach_vips(lab)
    assert st["_exit"] == 3, st                     # status: unhealthy
    assert st["faults"] == ["hook-failed:10-fail"], st["faults"]
    assert not has_vip(lab, "alpha"), holders(lab)
    assert ("standby", "active", "preempt") in transitions(st), st
    assert transitions(st)[-1] == ("active", "fault", "hook-failed:10-fail")
    assert log_has(a, r"hook 10-fail: failing on purpose"), a.log_tail()
    assert log_has(a, r"hook 10-fail failed: exit status 1"), a.log_tail()

    # It stays so: alpha does not preempt again into the same failing hook.
    t0 = time.monotonic()

    def stays():
        assert only_holder(lab, "beta"), snapshot(lab)
        assert in_state(a, "fault"), snapshot(lab)
        return time.monotonic() - t0 >= 1
    wait_for(stays, 5, msg="1 s with beta serving")
    reach_vips(lab)
    assert_no_zombies(lab)


# --- 3b late promote failures, a hanging notify hook, background output ---

def fast_check(flag):
    """A check that fails and heals within a heartbeat or two."""
    return web_check(flag, interval_ms=20, rise=1, fall=1)


def test_promote_hook_failing_after_release_is_no_fault(lab):
    """alpha's promote hook fails only after alpha already left the active
    role (its check failed meanwhile): that promotion no longer applies, so
    no hook fault. Healthy again, alpha is active at once, not held in fault
    (for 30 s, or for good once a second hook failure overwrote the first)."""
    flag = flag_file(lab)
    mark, go = (os.path.join(lab.dir, n) for n in ("slow.ran", "slow.go"))
    hook(lab, "alpha", "promote", "10-slow",
         "[ -e %s ] && exit 0\ntouch %s\n"
         "while [ ! -e %s ]; do sleep 0.05; done\n"
         "echo 'failing late'\nexit 1\n" % (mark, mark, go))
    ca = lab.config("alpha")
    ca["checks"] = [fast_check(flag)]
    a = lab.daemon("alpha", ca)
    take_over(lab, a, "startup")
    wait_for(lambda: os.path.exists(mark), 5, msg="the promote hook to start",
             describe=lambda: a.log_tail(20))

    os.unlink(flag)
    wait_state(lab, a, "fault", "check-failed:web")
    open(go, "w").close()
    wait_log(a, r"hook 10-slow failed: exit status 1")

    open(flag, "w").close()
    take_over(lab, a)
    reach_vips(lab)
    wait_log(a, r"hook 10-slow exited with status 0")     # the new promotion
    st = a.status()
    assert st["faults"] == [], st["faults"]
    assert not log_has(a, r"fault: hook-failed"), a.log_tail()
    assert log_has(a, r"hooks: promote hook 10-slow failed after this node "
                   r"left the active role: not a fault"), a.log_tail()
    assert transitions(st)[-3:] == [("active", "fault", "check-failed:web"),
                                    ("fault", "init", "fault-cleared"),
                                    ("init", "active", "startup")], \
        transitions(st)
    assert_no_zombies(lab)


def test_hanging_notify_hook_holds_up_no_promote_hook(lab):
    """hooks-first, a notify hook that hangs and a check that flaps: every
    promotion still runs its promote hook at once (and only then brings up
    the VIPs), every release its demote hook, in order; the notify jobs
    queued meanwhile are coalesced, and once the hook returns, notify.d
    learns of the newest transition."""
    flag = flag_file(lab)
    roles = os.path.join(lab.dir, "alpha-roles.log")
    notes = os.path.join(lab.dir, "alpha-notes.log")
    hang, pidfile = (os.path.join(lab.dir, n) for n in ("hang", "hang.pid"))
    open(hang, "w").close()
    record_hook(lab, "alpha", "promote", "10-p", roles)
    record_hook(lab, "alpha", "demote", "10-d", roles)
    record_hook(lab, "alpha", "notify", "10-n", notes, extra=(
        "if [ -e %s ]; then echo $$ > %s\n"
        "  while [ -e %s ]; do sleep 0.05; done\nfi\n" % (hang, pidfile, hang)))
    ca = lab.config("alpha")
    ca["hooks"]["order"] = "hooks-first"
    ca["hooks"]["timeout_ms"] = 120000     # hangs, does not fail
    ca["checks"] = [fast_check(flag)]
    a = lab.daemon("alpha", ca)
    try:
        take_over(lab, a, "startup")
        wait_for(lambda: pids_from(pidfile), 5, msg="the notify hook to hang")
        cycles = 16     # more transitions than the notify lane holds
        for n in range(cycles):
            os.unlink(flag)
            wait_state(lab, a, "fault", "check-failed:web")
            wait_for(lambda: not has_vip(lab, "alpha"), 5,
                     msg="alpha to release the VIPs",
                     describe=lambda: snapshot(lab))
            open(flag, "w").close()
            # hooks-first: the VIPs come up once the promote hook ran
            take_over(lab, a)
        got = wait_for(lambda: n_records(roles, 2 * cycles + 1), 5,
                       msg="a promote and a demote record per cycle")
        assert len(got) == 2 * cycles + 1, got
        for i, r in enumerate(got):
            if i % 2 == 0:
                assert_env(r, event="promote", state="active", prev="init",
                           node="alpha", vips=VIPS_ENV)
            else:
                assert_env(r, event="demote", state="fault", prev="active",
                           reason="check-failed:web", node="alpha")
        reach_vips(lab)
        assert log_has(a, r"hooks: \d+ notify jobs queued \(notify\.d is "
                       r"slow\): the newest transition's replaces the last "
                       r"one queued"), a.log_tail()
        assert not log_has(a, r"cannot queue|hooks not run"), a.log_tail()
    finally:
        if os.path.exists(hang):
            os.unlink(hang)
    # The hang is over: the queued notify jobs run, the newest transition's last.
    wait_log(a, r"hooks: notify hooks of \d+ transitions skipped \(notify\.d "
             r"is slow\): running those of the newest")
    last = transitions(a.status())[-1]
    notified = wait_for(lambda: (lambda rs: rs if rs and (
        rs[-1]["prev"], rs[-1]["state"], rs[-1]["reason"]) == last else None)(
            records(notes)), 5, msg="notify.d to see the newest transition")
    assert len(notified) <= NOTIFY_LANE, notified  # the hung one and the queued
    assert_no_zombies(lab)


def test_background_process_of_promote_hook_keeps_writing(lab):
    """A promote hook that starts a service in the background (`svc &`):
    the service writes to its inherited output after the hook exited; that
    is logged, and the service lives on (no SIGPIPE)."""
    status = os.path.join(lab.dir, "svc.status")
    hook(lab, "alpha", "promote", "10-svc",
         "(sleep 1; echo 'service still writing'; sleep 0.5\n"
         " echo 'service done'; echo $? > %s) &\n"
         "echo 'started the service'\n" % status)
    a = lab.daemon("alpha")
    take_over(lab, a, "startup")
    wait_log(a, r"hook 10-svc exited with status 0")
    wait_for(lambda: os.path.exists(status), 5,
             msg="the background service to finish",
             describe=lambda: a.log_tail(20))
    wait_for(lambda: open(status).read() == "0\n", 2,
             msg="its last write to succeed")
    wait_log(a, r"hook 10-svc: service done$")
    log = a.log()
    assert log.index("hook 10-svc: started the service") < \
        log.index("hook 10-svc exited with status 0") < \
        log.index("hook 10-svc: service still writing"), a.log_tail()
    assert not log_has(a, r"no longer reading"), a.log_tail()
    assert_no_zombies(lab)


# --- 4, 5 health checks -----------------------------------------------------

def web_check(flag, **kw):
    c = {"name": "web", "command": "test -f %s" % flag, "interval_ms": 100,
         "timeout_ms": 1000, "rise": 2, "fall": 2, "on_fail": "fault"}
    c.update(kw)
    return c


def flag_file(lab):
    path = os.path.join(lab.dir, "alpha-web.ok")
    open(path, "w").close()
    return path


def test_failing_check_fails_over_and_comes_back(lab):
    """on_fail = "fault": the check failing `fall` times faults alpha and
    beta serves; the check passing `rise` times brings alpha back."""
    flag = flag_file(lab)
    ca = lab.config("alpha")
    ca["checks"] = [web_check(flag)]
    a, b = start_pair(lab, alpha=ca)
    os.unlink(flag)
    st = wait_state(lab, a, "fault", "check-failed:web")
    take_over(lab, b, "peer-fault")
    reach_vips(lab)
    assert st["_exit"] == 3, st
    assert st["faults"] == ["check-failed:web"], st["faults"]
    web = check_of(st, "web")
    assert not web["healthy"] and web["on_fail"] == "fault", web
    assert web["fail_run"] >= 2 and web["last_exit"] == 1, web
    assert not has_vip(lab, "alpha"), holders(lab)
    assert log_has(a, r"check web: failing \(2/2\)"), a.log_tail()
    assert log_has(a, r"check web: failed$"), a.log_tail()

    # A reload of the same config keeps the verdict: nothing moves.
    calm = (transitions(a.status()), transitions(b.status()))
    p = a.ctl("reload")
    assert p.returncode == 0, p.stdout + p.stderr
    assert log_has(a, r"check web: still failed after the reload"), \
        a.log_tail()
    runs = check_of(a.status(), "web")["fail_run"]

    def unmoved():
        assert only_holder(lab, "beta"), snapshot(lab)
        st = a.status()
        assert st["faults"] == ["check-failed:web"], snapshot(lab)
        assert (transitions(st), transitions(b.status())) == calm, \
            snapshot(lab)
        return check_of(st, "web")["fail_run"] >= runs + 5
    wait_for(unmoved, 5, msg="5 more failed runs after the reload")

    open(flag, "w").close()
    settled(lab, a, b)      # healthy again: alpha preempts
    reach_vips(lab)
    assert log_has(a, r"check web: healthy again"), a.log_tail()
    st = a.status()
    assert ("fault", "init", "fault-cleared") in transitions(st)
    assert st["faults"] == [] and check_of(st, "web")["healthy"], st
    assert_no_zombies(lab)


def test_recover_command_prevents_failover(lab):
    """The recover command restores health: alpha never leaves active and
    beta never holds a VIP (watched throughout)."""
    flag = flag_file(lab)
    ca = lab.config("alpha")
    ca["checks"] = [web_check(flag, recover="touch %s" % flag)]
    a, b = start_pair(lab, alpha=ca)
    before = (transitions(a.status()), transitions(b.status()))
    watch = Watcher(lab, (a, b))
    try:
        os.unlink(flag)
        wait_log(a, r"check web: recovered")
        # and a few more check rounds after it
        n = len(watch.samples)
        wait_for(lambda: len(watch.samples) >= n + 10, 5,
                 msg="the watcher to go on")
    finally:
        samples = watch.stop()
    assert os.path.exists(flag), "recover did not recreate the flag"
    bad = [s for s in samples if s != (["alpha"], ["alpha"],
                                       ("active", "standby"))]
    assert not bad, "%d of %d samples: %r" % (len(bad), len(samples), bad[:5])
    st = a.status()
    assert (transitions(st), transitions(b.status())) == before
    assert st["faults"] == [] and check_of(st, "web")["healthy"], st
    assert log_has(a, r"check web: failing \(2/2\)"), a.log_tail()
    assert log_has(a, r"check web: running recover \(attempt 1/1\): touch")
    assert log_has(a, r"check web: recover command exited with status 0"), \
        a.log_tail()
    assert not log_has(a, r"fault: check-failed:web"), a.log_tail()
    reach_vips(lab)
    assert_no_zombies(lab)


# --- 6 a check that lowers the priority -------------------------------------

def test_check_lowering_priority_hands_over_to_preempting_peer(lab):
    """on_fail = -100 takes alpha from 150 to 50, below beta's 100: beta
    preempts through a handover, a client probing every 1 ms loses
    nothing; healthy again, alpha takes the VIPs back."""
    flag = flag_file(lab)
    ca = lab.config("alpha")
    ca["checks"] = [web_check(flag, on_fail=-100)]
    a, b = start_pair(lab, alpha=ca)
    reach_vips(lab)
    probers = [lab.prober("client", v, interval_ms=1) for v in VIPS]
    for p in probers:
        p.wait_ready()
    try:
        os.unlink(flag)
        take_over(lab, b, "preempt")
        sa = wait_state(lab, a, "standby")
        # a few hundred probes after the handover, beta serving
        t0 = time.monotonic()

        def served():
            assert only_holder(lab, "beta"), snapshot(lab)
            return time.monotonic() - t0 >= 0.5
        wait_for(served, 5, msg="0.5 s more")
    finally:
        for p in probers:
            p.stop()
    results = [p.result(timeout=15) for p in probers]
    print("priority handover: %s" % ", ".join(
        "%s lost %d of %d, max gap %.1f ms" % (v, r["lost"], r["sent"],
                                               r["max_gap_ms"])
        for v, r in zip(VIPS, results)))
    assert sa["effective_priority"] == 50 and sa["priority"] == 150, sa
    web = check_of(sa, "web")
    assert not web["healthy"] and web["on_fail"] == -100, web
    assert sa["faults"] == [], sa["faults"]     # a penalty, not a fault
    assert not has_vip(lab, "alpha"), holders(lab)
    assert log_has(a, r"check web failed: effective priority 150 -> 50")
    for v, r in zip(VIPS, results):
        assert r["sent"] >= 500, (v, r)
        assert r["lost"] == 0, (v, r)
    reach_vips(lab)

    # A switchover to alpha, whose check fails, is refused.
    p = b.ctl("switchover")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "switchover refused: the peer's health checks are failing" in \
        p.stderr, p.stderr
    assert only_holder(lab, "beta") and in_state(b, "active"), snapshot(lab)

    # Healthy again: priority 150, alpha preempts back.
    open(flag, "w").close()
    settled(lab, a, b)
    st = a.status()
    assert st["effective_priority"] == 150 and check_of(st, "web")["healthy"]
    assert_no_zombies(lab)


# --- 7 interface tracking ----------------------------------------------------

def test_vip_interface_down_moves_vip_to_peer(lab):
    """`ip link set eth0 down` on the active node: fault
    (interface-down:eth0), the VIPs move to beta; eth0 up: alpha back."""
    a, b = start_pair(lab)
    lab.ns_exec("alpha", ["ip", "link", "set", "eth0", "down"])
    st = wait_state(lab, a, "fault", "interface-down:eth0")
    wait_for(lambda: holds(lab, "beta") and in_state(b, "active"), 5,
             msg="beta to take over", describe=lambda: snapshot(lab))
    wait_for(lambda: not has_vip(lab, "alpha"), 5,
             msg="alpha to release its VIPs", describe=lambda: snapshot(lab))
    reach_vips(lab)
    assert st["_exit"] == 3, st
    assert st["faults"] == ["interface-down:eth0"], st["faults"]
    assert log_has(a, r"interface eth0 lost carrier"), a.log_tail()

    # Back up (an IPv6 address goes with the link: the operator re-adds it).
    lab.ns_exec("alpha", ["ip", "link", "set", "eth0", "up"])
    lab.ns_exec("alpha", ["ip", "addr", "replace", "2001:db8::1/64", "dev",
                          "eth0", "nodad"])
    settled(lab, a, b)
    reach_vips(lab)
    assert_no_zombies(lab)


def test_tracked_interface_debounce_and_carrier_loss(lab):
    """track_interfaces = trk0 (a veth in alpha), track_debounce_ms = 500:
    a 100 ms carrier flap changes nothing; a real loss faults alpha after
    the debounce and beta takes over; carrier back, alpha returns."""
    def ip(*args):
        return lab.ns_exec("alpha", ["ip"] + list(args))
    ip("link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
    ip("link", "set", "trk1", "up")
    ip("link", "set", "trk0", "up")
    ca = lab.config("alpha")
    ca["track_interfaces"] = ["trk0"]
    ca["track_debounce_ms"] = 500
    a, b = start_pair(lab, alpha=ca)

    # A 100 ms flap: seen, debounced, no fault.
    lab.ns_exec("alpha", ["sh", "-c", "ip link set trk1 down; sleep 0.1; "
                          "ip link set trk1 up"])
    wait_log(a, r"interface trk0 lost carrier \(debouncing\)")
    t0 = time.monotonic()
    before = transitions(a.status())

    def unmoved():
        assert only_holder(lab, "alpha"), snapshot(lab)
        st = a.status()
        assert st["state"] == "active" and st["faults"] == [], snapshot(lab)
        assert transitions(st) == before, snapshot(lab)
        return time.monotonic() - t0 >= 1.5
    wait_for(unmoved, 5, msg="1.5 s after the flap")
    assert not log_has(a, r"fault: interface-down:trk0"), a.log_tail()

    # A real loss: a fault after the debounce, the peer takes over.
    t0 = time.monotonic()
    ip("link", "set", "trk1", "down")
    st = wait_state(lab, a, "fault", "interface-down:trk0")
    took = time.monotonic() - st["since_ms_ago"] / 1000.0 - t0
    take_over(lab, b, "peer-fault")
    reach_vips(lab)
    assert took >= 0.45, "fault %.3f s after the carrier loss" % took
    assert st["faults"] == ["interface-down:trk0"], st["faults"]

    ip("link", "set", "trk1", "up")
    settled(lab, a, b)
    assert ("fault", "init", "fault-cleared") in transitions(a.status())
    assert_no_zombies(lab)


# --- 8 no zombies ---------------------------------------------------------

def test_no_zombies_from_checks_recovers_and_killed_hooks(lab):
    """Busy children of every kind: a check every 20 ms, a check that
    times out (SIGTERM), hooks on every transition, a promote hook that
    ignores SIGTERM (SIGKILL to its group). None is left <defunct>, and the
    killed hook's whole process group is gone."""
    flag = flag_file(lab)
    pids = os.path.join(lab.dir, "stubborn.pids")
    ca = lab.config("alpha")
    ca["checks"] = [
        {"name": "fast", "command": "test -f %s" % flag, "interval_ms": 20,
         "fall": 3, "rise": 1, "on_fail": -1, "recover": "true"},
        {"name": "slow", "command": "sleep 5", "interval_ms": 200,
         "timeout_ms": 50, "on_fail": -1},
    ]
    cb = lab.config("beta")
    cb["hooks"]["timeout_ms"] = 300
    for host in ("alpha", "beta"):
        hook(lab, host, "notify", "10-n", "true\n")
        hook(lab, host, "demote", "10-d", "true\n")
    hook(lab, "beta", "promote", "10-stubborn",
         "trap '' TERM\nsleep 30 &\necho $$ $! > %s\nwait\nwait\n" % pids)
    a, b = start_pair(lab, alpha=ca, beta=cb)
    wait_log(a, r"check slow: failing \(1/3\): timed out")
    # the fast check fails and runs its recover command, twice
    for n in (1, 2):
        os.unlink(flag)
        wait_log(a, r"check fast: running recover", count=n)
        open(flag, "w").close()
        wait_log(a, r"check fast: (recovered|healthy again)", count=n)
    wait_log(a, r"check slow: failed$")
    assert_no_zombies(lab)

    # alpha stops; beta takes over; its promote hook outlives SIGTERM.
    assert a.stop() == 0, a.log_tail()
    shell, child = wait_for(lambda: pids_from(pids, 2), 5,
                            msg="the stubborn hook to start")
    wait_log(b, r"hook 10-stubborn: timed out after 300 ms")
    wait_log(b, r"hook 10-stubborn: still running 2000 ms after SIGTERM, "
             r"sending SIGKILL", timeout=6)
    wait_state(lab, b, "fault", "hook-failed:10-stubborn")
    wait_for(lambda: gone(shell) and gone(child), 3,
             msg="the hook's process group to be gone",
             describe=lambda: "%r %r" % (proc_stat(shell), proc_stat(child)))
    assert log_has(b, r"hook 10-stubborn failed: killed by signal 9")
    assert_no_zombies(lab)
    assert b.stop() == 0, b.log_tail()
