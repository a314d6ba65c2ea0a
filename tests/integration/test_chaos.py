"""Randomized fault injection ("nemesis", issue 11): a seeded plan of faults
against a pair (alpha 150, beta 100, fast timers), watched the whole time by
the kernel (`ip -ts -o monitor address` in each node's namespace, every VIP
add and delete with a timestamp) and by a client (build/prober, one ICMP
echo to the IPv4 VIP every 1 ms).

    make chaos SEED=N STEPS=K         # long run (SEED=random by default)
    make chaos SEED=N STEPS=K KINDS=loss,cut      # only these step kinds
    CHAOS_SEED=N CHAOS_STEPS=K [CHAOS_KINDS=...] \
        pytest -s tests/integration/test_chaos.py::test_chaos

Without the variables the short run of `make check` runs: seed 5, 12
steps (the first 12 steps of any plan are the 12 kinds once each, in an
order drawn from the seed; later steps are drawn by weight). The seed
fixes the sequence of steps and every parameter; a target is a role
("active" or "standby") resolved to a node when the step starts, so a
replay does the same thing as long as the daemon behaves the same.

Steps: SIGKILL (then restart), SIGSTOP/SIGCONT below and above the VIP
lease, SIGTERM (graceful stop, then restart), port cut (switch port down),
heartbeat-only partition (nftables, one namespace, in/out/both), random
heartbeat loss (nftables numgen), `failoverctl switchover`, `failoverctl
maintenance on/off`, reload (`failoverctl reload` or SIGHUP), VIP deletion
behind the daemon's back (`ip addr del`), re-creation of eth0 (veth deleted
and made again with its addresses and bridge port).

After every step (each a poll with a deadline, never a hopeful sleep):
- no daemon died unless the step killed or stopped it;
- two holders of a VIP only inside a documented window (the constants
  below), the two-holder intervals computed from the monitor timeline;
- the client's longest gap within the bound of the step's class (a gap
  belongs to the step in which it began, however long it lasts);
- within SETTLE_S: exactly one holder of both VIPs, the holder's status
  `active` with both VIPs present, the other `standby` without them, each
  naming the other's state, and the monitor timeline agreeing with `ip addr`.
A failed step is reported with the seed, the step, the add/delete timeline
and both statuses; the run goes on (after a reset of the pair if the step
left it unsettled) so that one run shows every kind that fails, up to
MAX_FAILURES. The worst figures by step kind are printed at the end, and the
whole report goes to build/chaos/ (CHAOS_OUT).
"""

import bisect
import collections
import datetime
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time

from helpers import VIP4, VIP6, VIPS
import fodlab

# --- timers and windows --------------------------------------------------

TIMERS = dict(fodlab.FAST)          # interval 20 ms, dead 100 ms, init 300 ms
LEASE_S = 2                         # cluster.vip_lease_s (default 3)
DEAD_S = TIMERS["dead_ms"] / 1000.0

# Two holders of a VIP are allowed only:
# - for at most HANDOVER_OVERLAP_S anywhere: the make-before-break overlap
#   of a handover (switchover, graceful stop, preemption), about one
#   heartbeat (20 ms; measured about 5 ms here), made generous for a noisy
#   2-core VM;
HANDOVER_OVERLAP_S = 0.20
# - from a SIGKILL or SIGSTOP of a holder until its copy's lease runs out:
#   LEASE_S after the last refresh (at most the kill) plus LEASE_MARGIN_S,
#   since the kernel checks lifetimes on whole seconds; but no longer than
#   RESUME_S after SIGCONT (a resumed node reads what it missed and yields)
#   or after the restart (a starting daemon removes stale copies);
LEASE_MARGIN_S = 2.0
RESUME_S = 1.0
# - when both nodes became holders during a heartbeat partition, loss,
#   port cut or interface removal (the overlap began before the heal was
#   ordered): until HEAL_S + dead_ms after the heal. An overlap that
#   begins after the heal (a preemption back) is a handover: see above.
HEAL_S = 1.0
HEAL_WINDOW_S = HEAL_S + DEAD_S

# After a step: one holder, truthful statuses within SETTLE_S (a step that
# left a killed or frozen holder's copy behind also gets its lease).
SETTLE_S = 8.0
# An address deleted behind the daemon's back is back within this.
RESTORE_S = 1.0

# Client gaps (longest time between two answered 1 ms probes), in ms:
# a failover (the holder killed, frozen, cut off, partitioned...) ...
FAILOVER_GAP_MS = 2000
# ... and everything planned (switchover, graceful stop, preemption back,
# reload, maintenance, VIP repair, faults of the standby), which should be
# 0 but is allowed some scheduling noise here; the figures are reported.
PLANNED_GAP_MS = 500
GAP_MIN_MS = 20                     # shorter: jitter, not listed
MAX_FAILURES = 6                    # then the run stops

DEFAULT_SEED = 5                    # its first 12 steps aim at the holder most
DEFAULT_STEPS = 12
PER_STEP_BUDGET_S = 25              # the run stops (reported) beyond this

MONITOR_RE = re.compile(r"^\[([0-9T:.\-]+)\] (Deleted )?\d+: (\S+)\s+inet6? "
                        r"(\S+)/\d+ ")
HOSTS2 = ("alpha", "beta")
OTHER = {"alpha": "beta", "beta": "alpha"}

# A two-holder interval; end is when it was analysed if still open.
Overlap = collections.namedtuple("Overlap", "vip start end open verdict")

# --- the plan ------------------------------------------------------------

KINDS = {                           # kind: weight of later draws
    "kill": 3, "freeze_short": 2, "freeze_long": 2, "term": 2, "cut": 3,
    "partition": 3, "loss": 2, "switchover": 2, "maintenance": 2,
    "reload": 1, "vipdel": 2, "recreate": 2,
}
# Kinds whose fault, aimed at the holder, is a failover: FAILOVER_GAP_MS.
FAILOVER_KINDS = {"kill", "freeze_short", "freeze_long", "cut", "partition",
                  "loss", "recreate"}


def make_plan(seed, steps, only=None):
    """The steps for seed: a list of dicts (kind and parameters). The
    first len(KINDS) are every kind once; the rest drawn by weight.
    only: a subset of KINDS to draw from (to chase one kind of failure)."""
    rng = random.Random(seed)
    names = sorted(only or KINDS)
    unknown = set(names) - set(KINDS)
    if unknown:
        raise ValueError("unknown step kinds %s (known: %s)"
                         % (sorted(unknown), ", ".join(sorted(KINDS))))
    kinds = list(names)
    rng.shuffle(kinds)
    weights = [KINDS[k] for k in names]
    plan = []
    for i in range(steps):
        # drawn step by step: a shorter plan is a prefix of a longer one
        kind = kinds[i] if i < len(kinds) else rng.choices(names, weights)[0]
        s = {"kind": kind}
        role = rng.choice(["active", "active", "standby"])
        if kind in ("kill", "term"):
            s.update(target=role, restart_after_s=round(rng.uniform(0.1, 2.5),
                                                        2))
        elif kind == "freeze_short":
            s.update(target=role, hold_s=round(rng.uniform(0.05,
                                                           0.75 * LEASE_S), 2))
        elif kind == "freeze_long":
            s.update(target=role, hold_s=round(rng.uniform(LEASE_S + 0.5,
                                                           LEASE_S + 2.5), 2))
        elif kind == "cut":
            s.update(target=role, hold_s=round(rng.uniform(1, 4), 2))
        elif kind == "partition":
            s.update(target=role, direction=rng.choice(["both", "both", "in",
                                                        "out"]),
                     hold_s=round(rng.uniform(1, 4), 2))
        elif kind == "loss":
            s.update(target=role, pct=rng.randint(5, 40),
                     direction=rng.choice(["both", "in", "out"]),
                     hold_s=round(rng.uniform(2, 5), 2))
        elif kind == "maintenance":
            s.update(target=rng.choice(["active", "standby", "both"]),
                     hold_s=round(rng.uniform(1, 3), 2))
        elif kind == "reload":
            s.update(target=role, method=rng.choice(["failoverctl",
                                                     "SIGHUP"]))
        elif kind == "vipdel":
            s.update(which=rng.choice(["v4", "v6", "both"]),
                     count=rng.randint(1, 3))
        elif kind == "recreate":
            s.update(target=role, pause_s=round(rng.uniform(0, 2), 2),
                     keep_mac=rng.random() < 0.5)
        plan.append(s)
    return plan


def describe_step(s, target=None):
    """kind k=v ...; with target, the role shows the node it meant."""
    return s["kind"] + "".join(
        " %s=%s" % (k, "%s(%s)" % (v, target) if k == "target" and target
                    and target != v else v)
        for k, v in s.items() if k != "kind")


# --- the kernel's account: ip monitor address ----------------------------

class Clock:
    """Wall clock (ip -ts) to monotonic, from samples of both."""

    def __init__(self):
        self.samples = []
        self.sample()

    def sample(self):
        best = None
        for _ in range(3):
            m0 = time.monotonic()
            w = time.time()
            m1 = time.monotonic()
            if best is None or m1 - m0 < best[0]:
                best = (m1 - m0, (m0 + m1) / 2, w - (m0 + m1) / 2)
        self.samples.append(best[1:])

    def mono(self, wall):
        # the offset of the sample taken nearest before the event
        off = self.samples[0][1]
        for m, o in self.samples:
            if m + o > wall:
                break
            off = o
        return wall - off

    def drift_ms(self):
        offs = [o for _, o in self.samples]
        return (max(offs) - min(offs)) * 1000


class VipTimeline:
    """One `ip -ts -o monitor address` per node namespace for the whole
    run; the VIP adds (first add, or a refresh) and deletes, in monotonic
    time; who held each VIP when; the intervals with two holders."""

    def __init__(self, lab, clock, hosts=HOSTS2):
        self.lab, self.clock, self.hosts = lab, clock, hosts
        self.files, self.procs, self.pos, self.partial = {}, {}, {}, {}
        self.events = []        # (t, host, vip, "add"|"del"), in read order
        self.vipset = {str(fodlab.addr_only(v)): v for v in VIPS}
        for h in hosts:
            path = os.path.join(lab.dir, "chaos-monitor-%s" % h)
            with open(path, "wb") as out:
                self.procs[h] = lab.spawn(h, ["ip", "-ts", "-o", "monitor",
                                              "address"], stdout=out,
                                          stderr=subprocess.STDOUT)
            self.files[h], self.pos[h], self.partial[h] = path, 0, ""

    def ready(self, timeout=5):
        """Each monitor reports a marker address put on lo."""
        mark = "192.0.2.250"
        for h in self.hosts:
            deadline = time.monotonic() + timeout
            while not any(line for line in self._raw(h)
                          if " %s/32 " % mark in line):
                assert time.monotonic() < deadline, \
                    "ip monitor in %s reports nothing" % h
                self.lab.ns_exec(h, ["ip", "addr", "replace", mark + "/32",
                                     "dev", "lo"])
                time.sleep(0.05)
            self.lab.ns_exec(h, ["ip", "addr", "del", mark + "/32", "dev",
                                 "lo"])

    def _raw(self, h):
        with open(self.files[h], errors="replace") as f:
            return f.read().splitlines()

    def alive(self):
        return {h: p.poll() is None for h, p in self.procs.items()}

    def update(self):
        """Read what the monitors wrote since the last call."""
        for h in self.hosts:
            with open(self.files[h], "rb") as f:
                f.seek(self.pos[h])
                data = f.read()
            self.pos[h] += len(data)
            text = self.partial[h] + data.decode(errors="replace")
            lines = text.split("\n")
            self.partial[h] = lines.pop()
            for line in lines:
                m = MONITOR_RE.match(line)
                if not m or m.group(4) not in self.vipset:
                    continue
                wall = datetime.datetime.strptime(
                    m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
                self.events.append((self.clock.mono(wall), h,
                                    self.vipset[m.group(4)],
                                    "del" if m.group(2) else "add"))
        return self

    def changes(self, vip=None, t_from=None, t_to=None):
        """Changes of holding (refreshes left out): (t, host, vip, kind)
        sorted by time; kind "add" (began holding) or "del"."""
        held, out = set(), []
        for ev in sorted(self.events, key=lambda e: e[0]):
            t, h, v, k = ev
            if vip and v != vip:
                continue
            key = (h, v)
            if k == "add" and key not in held:
                held.add(key)
            elif k == "del" and key in held:
                held.discard(key)
            else:
                continue
            if (t_from is None or t >= t_from) and (t_to is None or
                                                     t <= t_to):
                out.append(ev)
        return out

    def refreshes(self, t_from, t_to):
        return sum(1 for e in self.events if t_from <= e[0] <= t_to
                   and e[3] == "add") - sum(
            1 for e in self.changes(None, t_from, t_to) if e[3] == "add")

    def holders(self, vip):
        """Who holds vip according to the monitors (after update())."""
        held = set()
        for t, h, v, k in self.changes(vip):
            if k == "add":
                held.add(h)
            else:
                held.discard(h)
        return held

    def overlaps(self, vip, now):
        """[(start, end or None while open, (host, host))]: the intervals
        in which two nodes held vip."""
        held, out, start = set(), [], None
        for t, h, v, k in self.changes(vip):
            if k == "add":
                held.add(h)
            else:
                held.discard(h)
            if len(held) >= 2 and start is None:
                start = t
            elif len(held) < 2 and start is not None:
                out.append((start, t, tuple(sorted(self.hosts))))
                start = None
        if start is not None:
            out.append((start, None, tuple(sorted(self.hosts))))
        return out


# --- the client's account: build/prober, 1 ms, rotated per step ----------

class ClientProbes:
    """A chain of 1 ms probers against addr from the client: each step's
    prober starts (and is ready) before the previous one stops, so the run
    is covered; their per-probe CSVs are merged on the monotonic clock."""

    def __init__(self, lab, addr, interval_ms=1):
        self.lab, self.addr, self.interval_ms = lab, addr, interval_ms
        self.cur = None         # (Prober, t0)
        self.answered = []      # sorted monotonic send times of answered
        self.sent = self.lost = 0
        self.covered_to = None
        self.n = 0

    def rotate(self, overlap_s=0.2):
        """Start the next prober; stop and read the current one."""
        path = os.path.join(self.lab.dir, "chaos-probe-%03d.csv" % self.n)
        self.n += 1
        p = self.lab.prober("client", self.addr, interval_ms=self.interval_ms,
                            duration_ms=590000, csv=path)
        p.wait_ready()
        t0 = time.monotonic()       # its clock starts just after "ready"
        old, self.cur = self.cur, (p, t0)
        if old:
            time.sleep(overlap_s)
            self._collect(old)

    def stop(self):
        if self.cur:
            self._collect(self.cur)
            self.cur = None

    def _collect(self, entry):
        p, t0 = entry
        t_stop = time.monotonic()
        p.stop()
        res = p.result(timeout=30)
        self.sent += res["sent"]
        self.lost += res["lost"]
        times = [t0 + send_ms / 1000.0 for send_ms, rtt in p.probes()
                 if rtt is not None]
        for t in times:
            bisect.insort(self.answered, t) if (
                self.answered and t < self.answered[-1]) else \
                self.answered.append(t)
        self.covered_to = max(self.covered_to or 0, t_stop)

    def gaps(self, t_from, t_to):
        """[(a, b, open)]: the client's gaps ending in (t_from, t_to]: a
        and b consecutive answered probes, b - a >= GAP_MIN_MS; open:
        nothing answered after a up to the end of what was collected,
        which is then b."""
        out = []
        ans = self.answered
        i = max(bisect.bisect_right(ans, t_from), 1)
        while i < len(ans) and ans[i] <= t_to:
            if ans[i] - ans[i - 1] >= GAP_MIN_MS / 1000.0:
                out.append((ans[i - 1], ans[i], False))
            i += 1
        if ans and self.covered_to and ans[-1] <= t_to:
            # the last probe of a prober: an answer may take up to 1 ms
            if self.covered_to - ans[-1] >= GAP_MIN_MS / 1000.0 + 0.05:
                out.append((ans[-1], self.covered_to, True))
        return out


# --- one step's record ---------------------------------------------------

class Step:
    def __init__(self, index, spec):
        self.index, self.spec, self.kind = index, spec, spec["kind"]
        self.target = None          # the resolved host
        self.holder_before = None
        self.t0 = time.monotonic()
        self.t_end = None
        self.marks = []             # (t, text)
        self.windows = []           # (start, start_limit, end, label)
        self.may_be_down = set()    # hosts the step killed or stops
        self.frozen = set()
        self.failures = []          # strings
        self.hard = False           # the pair needs a reset
        self.overlaps = []          # Overlap
        self.gaps = []              # (a, b, open)
        self.max_gap_ms = 0.0
        self.settle_ms = None
        self.log_pos = {}
        self.text = None            # the failure report, made at once

    def mark(self, text):
        self.marks.append((time.monotonic(), text))

    def fail(self, text, hard=False):
        self.failures.append(text)
        self.hard = self.hard or hard

    def rel(self, t):
        return "%+8.3fs" % (t - self.t0)

    @property
    def gap_bound_ms(self):
        if self.kind in FAILOVER_KINDS and self.target == self.holder_before:
            return FAILOVER_GAP_MS
        if self.kind in ("partition", "loss"):  # either side can split
            return FAILOVER_GAP_MS
        return PLANNED_GAP_MS

    def title(self):
        return "step %d %s (holder before: %s)" % (
            self.index, describe_step(self.spec, self.target),
            self.holder_before)


# --- the run ---------------------------------------------------------------

class Chaos:
    def __init__(self, lab, seed, steps, out=print, only=None):
        self.lab, self.seed, self.nsteps, self.say = lab, seed, steps, out
        self.only = only
        self.plan = make_plan(seed, steps, only)
        self.replay = "make chaos SEED=%d STEPS=%d%s" % (
            seed, steps, " KINDS=%s" % ",".join(only) if only else "")
        self.clock = Clock()
        self.daemons = {}
        self.steps = []
        self.failed_steps = []
        self.resets = 0
        self.stopped_early = None
        self.timeline = None
        self.probes = None
        self.t_start = None
        self.gaps_done_to = None
        self.overlaps_done_to = None

    # -- set-up --

    def config(self, host):
        c = self.lab.config(host, **dict(TIMERS, vip_lease_s=LEASE_S))
        return c

    def start(self):
        lab = self.lab
        self.timeline = VipTimeline(lab, self.clock)
        self.timeline.ready()
        for h in HOSTS2:
            self.daemons[h] = lab.daemon(h, self.config(h))
        self.t_start = time.monotonic()
        view = fodlab.wait_for(lambda: self.settled_view(), 15, 0.05,
                               "the pair to settle at start",
                               describe=lambda: self.describe_state())
        lab.reach("client", VIP4)
        self.probes = ClientProbes(lab, VIP4)
        self.probes.rotate()
        return view

    def run(self):
        self.say("chaos: seed %d, %d steps (replay: %s); timers %s, "
                 "vip_lease_s %d" % (self.seed, self.nsteps, self.replay,
                                     json.dumps(TIMERS), LEASE_S))
        self.say("chaos: windows: handover overlap <= %.0f ms; killed/frozen "
                 "holder's copy until %d s + %.0f s after, or %.0f s after "
                 "its restart/SIGCONT; split healed within %.0f ms; settle "
                 "<= %.0f s; client gap <= %d ms (failover) / %d ms "
                 "(planned)"
                 % (HANDOVER_OVERLAP_S * 1000, LEASE_S, LEASE_MARGIN_S,
                    RESUME_S, HEAL_WINDOW_S * 1000, SETTLE_S,
                    FAILOVER_GAP_MS, PLANNED_GAP_MS))
        for i, s in enumerate(self.plan, 1):
            self.say("chaos: plan %2d: %s" % (i, describe_step(s)))
        self.start()
        budget = 60 + PER_STEP_BUDGET_S * self.nsteps
        try:
            for i, spec in enumerate(self.plan, 1):
                if time.monotonic() - self.t_start > budget:
                    self.stopped_early = ("time budget of %d s used up "
                                          "before step %d" % (budget, i))
                    break
                if len(self.failed_steps) >= MAX_FAILURES:
                    self.stopped_early = ("%d failed steps: stopped before "
                                          "step %d" % (MAX_FAILURES, i))
                    break
                self.one_step(i, spec)
        finally:
            self.cleanup_faults()
            if self.probes:
                self.probes.stop()
        if self.stopped_early:
            self.say("chaos: STOPPED EARLY: %s" % self.stopped_early)
        return self

    # -- observations --

    def actual_holders(self, vip):
        """Who has vip, as `ip addr` says now."""
        return {h for h in HOSTS2 if self._has(h, vip)}

    def _has(self, h, vip):
        try:
            return fodlab.addr_only(vip) in self.lab.addresses(h)
        except fodlab.LabError:
            return False

    def status(self, h):
        d = self.daemons[h]
        if not d.running or h in self.cur_frozen():
            return None
        return d.try_status()

    def cur_frozen(self):
        return self.steps[-1].frozen if self.steps else set()

    def settled_view(self, expect_holder=None):
        """(holder, status of holder, status of the other) when exactly
        one node holds both VIPs (ip addr and the monitors agree), says
        active with both VIPs present, the other says standby without
        them, and each names the other's state; else None."""
        hv = [self.actual_holders(v) for v in VIPS]
        if len(hv[0]) != 1 or hv[0] != hv[1]:
            return None
        holder = next(iter(hv[0]))
        if expect_holder and holder != expect_holder:
            return None
        other = OTHER[holder]
        sh, so = self.status(holder), self.status(other)
        if sh is None or so is None:
            return None
        if not (sh["state"] == "active" and so["state"] == "standby"):
            return None
        if not all(v["present"] and v["expected"] for v in sh["vips"]):
            return None
        if any(v["present"] or v["expected"] for v in so["vips"]):
            return None
        if not (sh["peer"]["alive"] and so["peer"]["alive"] and
                sh["peer"]["state"] == "standby" and
                so["peer"]["state"] == "active" and
                sh["peer"]["name"] == other and so["peer"]["name"] == holder):
            return None
        self.timeline.update()
        if any(self.timeline.holders(v) != {holder} for v in VIPS):
            return None
        return holder, sh, so

    def self_consistent(self, h):
        """None if h's status tells the truth about its VIPs (present as
        in ip addr; holds them exactly when its state expects them), else
        what is wrong."""
        st = self.status(h)
        if st is None:
            return None
        have = [self._has(h, v["address"]) for v in st["vips"]]
        said = [v["present"] for v in st["vips"]]
        if have != said:
            return "%s: status says present=%s, ip addr has %s" % (
                h, said, have)
        holds_state = st["state"] in ("active", "stopping") or (
            st["state"] == "maintenance" and all(v["expected"]
                                                 for v in st["vips"]))
        if any(have) != holds_state or not (all(have) or not any(have)):
            return "%s: state %s (expected %s) but holds %s" % (
                h, st["state"], [v["expected"] for v in st["vips"]], have)
        return None

    def brief_status(self, h):
        d = self.daemons.get(h)
        if d is None:
            return "%s: -" % h
        if not d.running:
            return "%s: not running (exit %s)" % (h, d.exited())
        if h in self.cur_frozen():
            return "%s: frozen" % h
        st = d.try_status()
        if st is None:
            return "%s: no answer" % h
        return ("%s: state=%s reason=%s peer=%s/%s alive=%s vips=%s "
                "faults=%s counters(dual_active=%s vip_repairs=%s) "
                "transitions=%s" % (
                    h, st["state"], st["reason"], st["peer"]["name"],
                    st["peer"]["state"], st["peer"]["alive"],
                    ["%s:%s/%s" % (v["address"], "P" if v["present"] else
                                   "-", "E" if v["expected"] else "-")
                     for v in st["vips"]], st.get("faults"),
                    st["counters"]["dual_active"],
                    st["counters"]["vip_repairs"],
                    ["%s>%s(%s)%dms" % (t["from"], t["to"], t["reason"],
                                        t["ms_ago"])
                     for t in st["transitions"][:5]]))

    def describe_state(self):
        lines = ["ip addr holders: %s" % {
            v: sorted(self.actual_holders(v)) for v in VIPS}]
        if self.timeline:
            self.timeline.update()
            lines.append("monitor holders: %s" % {
                v: sorted(self.timeline.holders(v)) for v in VIPS})
        lines += ["  " + self.brief_status(h) for h in HOSTS2]
        return "\n".join(lines)

    def check_alive(self, step):
        for h, d in self.daemons.items():
            if h in step.may_be_down:
                continue
            rc = d.exited()
            if rc is not None and not any("died" in f and h in f
                                          for f in step.failures):
                step.fail("%s died (exit status %s) at %s, the step did not "
                          "stop it" % (h, rc, step.rel(time.monotonic())),
                          hard=True)

    def hold(self, step, seconds, check=None):
        """Keep a fault for seconds, watching that no daemon dies and
        calling check() now and then (after the first half second)."""
        end = time.monotonic() + seconds
        while True:
            self.check_alive(step)
            left = end - time.monotonic()
            if left <= 0:
                return
            if check and seconds - left > 0.5:
                check()
            time.sleep(min(0.05, left))

    def truth_during(self, step, hosts, label):
        """A check for hold(): the statuses of hosts tell the truth; a lie
        must be gone within 1 s (transitions take a moment)."""
        first_bad = {}

        def check():
            now = time.monotonic()
            for h in hosts:
                if h in step.frozen or h in step.may_be_down and \
                        not self.daemons[h].running:
                    continue
                bad = self.self_consistent(h)
                if bad is None:
                    first_bad.pop(h, None)
                    continue
                t, _ = first_bad.setdefault(h, (now, bad))
                if now - t > 1.0 and not any(
                        "status lies" in f and h in f for f in step.failures):
                    step.fail("status lies during %s for %.1f s: %s\n  %s"
                              % (label, now - t, bad, self.brief_status(h)))
        return check

    # -- the steps --

    def one_step(self, index, spec):
        step = Step(index, spec)
        self.steps.append(step)
        try:
            view = fodlab.wait_for(lambda: self.settled_view(), SETTLE_S,
                                   0.05, "a settled pair before the step")
        except AssertionError:
            step.fail("not settled before the step\n%s"
                      % self.describe_state(), hard=True)
            self.failed_steps.append(step)
            step.text = self.failure_text(step)
            self.say(step.text)
            self.reset(step)
            return
        holder = view[0]
        step.holder_before = holder
        role = spec.get("target")
        if role in ("active", "standby"):
            step.target = holder if role == "active" else OTHER[holder]
        elif role == "both":
            step.target = "both"
        for h, d in self.daemons.items():
            try:
                step.log_pos[h] = os.path.getsize(d.log_path)
            except OSError:
                step.log_pos[h] = 0
        self.clock.sample()
        step.t0 = time.monotonic()
        try:
            getattr(self, "do_" + step.kind)(step)
        except (fodlab.LabError, fodlab.DaemonError, AssertionError) as e:
            step.fail("the step itself failed: %s" % e, hard=True)
        finally:
            # whatever happened: nobody frozen, no fault left in place
            for h in list(step.frozen):
                self.cont(step, h)
        self.check_alive(step)
        extra = LEASE_S + LEASE_MARGIN_S if any(
            w[3].startswith("copy") for w in step.windows) else 0
        t_settle = time.monotonic()
        view = None
        if not step.hard:
            view = self.wait_settled(step, SETTLE_S + extra,
                                     expect=getattr(step, "expect_holder",
                                                    None))
        step.t_end = time.monotonic()
        if view:
            step.settle_ms = (step.t_end - t_settle) * 1000
        self.probes.rotate()
        self.analyse(step)
        self.report_step(step, view)
        if step.failures:
            self.failed_steps.append(step)
            step.text = self.failure_text(step)     # as it is now
            self.say(step.text)
        if step.hard or not view:
            self.reset(step)

    def wait_settled(self, step, timeout, expect=None):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self.check_alive(step)
            if step.hard:
                return None
            v = self.settled_view(expect)
            if v:
                # twice, 100 ms apart: not a moment in passing
                time.sleep(0.1)
                v2 = self.settled_view(expect)
                if v2 and v2[0] == v[0]:
                    return v2
            if time.monotonic() >= deadline:
                last = self.describe_state()
                step.fail("not settled %.1f s after the step%s: want one "
                          "holder of both VIPs, active, the other standby, "
                          "statuses agreeing\n%s"
                          % (timeout, " (holder %s expected)" % expect
                             if expect else "", last), hard=True)
                return None
            time.sleep(0.05)

    def do_kill(self, step):
        h = step.target
        d = self.daemons[h]
        step.may_be_down.add(h)
        held = self._has(h, VIP4)
        t = time.monotonic()
        d.kill()
        step.mark("SIGKILL %s" % h)
        self.hold(step, step.spec["restart_after_s"])
        d.start()
        step.mark("restart %s" % h)
        step.may_be_down.discard(h)
        if held:
            self._copy_window(step, t, "killed %s" % h, "restart")

    def do_term(self, step):
        h = step.target
        d = self.daemons[h]
        step.may_be_down.add(h)
        step.mark("SIGTERM %s" % h)
        try:
            rc = d.stop(signal.SIGTERM, timeout=10)
        except fodlab.DaemonError as e:
            step.fail("graceful stop of %s: %s" % (h, e))
            rc = None
        step.mark("%s exited (status %s)" % (h, rc))
        if rc not in (0, None):
            step.fail("graceful stop of %s: exit status %s" % (h, rc))
        if h == step.holder_before:
            o = OTHER[h]
            try:
                fodlab.wait_for(lambda: self.actual_holders(VIP4) == {o} and
                                self.actual_holders(VIP6) == {o}, 3, 0.02,
                                "%s to hold the VIPs after %s's graceful "
                                "stop" % (o, h))
                step.mark("%s sole holder" % o)
            except AssertionError as e:
                step.fail("graceful stop: %s\n%s" % (e, self.describe_state()))
        self.hold(step, step.spec["restart_after_s"])
        d.start()
        step.mark("restart %s" % h)
        step.may_be_down.discard(h)

    def freeze(self, step, h):
        os.kill(self.daemons[h].pid, signal.SIGSTOP)
        step.frozen.add(h)

    def cont(self, step, h):
        if h in step.frozen:
            os.kill(self.daemons[h].pid, signal.SIGCONT)
            step.frozen.discard(h)
            step.mark("SIGCONT %s" % h)

    def _do_freeze(self, step):
        h = step.target
        held = self._has(h, VIP4)
        t = time.monotonic()
        self.freeze(step, h)
        step.mark("SIGSTOP %s" % h)
        try:
            self.hold(step, step.spec["hold_s"],
                      self.truth_during(step, [OTHER[h]], "the freeze"))
        finally:
            self.cont(step, h)
        if held:
            self._copy_window(step, t, "frozen %s" % h, "SIGCONT")

    def _copy_window(self, step, t, who, what):
        """The copy of a killed or frozen holder: allowed until its lease
        runs out, or RESUME_S after the restart or SIGCONT (now)."""
        lease_end = t + LEASE_S + LEASE_MARGIN_S
        resumed = time.monotonic() + RESUME_S
        end = min(lease_end, resumed)
        step.windows.append((t, end, end, "copy of %s until its lease "
                             "(%d s + %.0f s) or %.0f s after the %s" % (
                                 who, LEASE_S, LEASE_MARGIN_S, RESUME_S,
                                 what)))

    do_freeze_short = do_freeze_long = _do_freeze

    def _heal_window(self, step, t_fault, t_heal, what):
        """Two holders that began before the heal was ordered (t_heal:
        just before the command) may last until HEAL_WINDOW_S after it."""
        step.windows.append((t_fault, t_heal, time.monotonic() +
                             HEAL_WINDOW_S,
                             "both became holders during the %s: healed "
                             "within %.0f ms" % (what, HEAL_WINDOW_S * 1000)))

    def do_cut(self, step):
        h = step.target
        t = time.monotonic()
        self.lab.cut(h)
        step.mark("port of %s cut" % h)
        self.hold(step, step.spec["hold_s"],
                  self.truth_during(step, HOSTS2, "the port cut"))
        t_heal = time.monotonic()
        self.lab.heal(h)
        step.mark("port of %s back" % h)
        self._heal_window(step, t, t_heal, "port cut")

    def do_partition(self, step):
        h, direction = step.target, step.spec["direction"]
        t = time.monotonic()
        self.lab.partition(h, direction)
        step.mark("heartbeats dropped in %s (%s)" % (h, direction))
        self.hold(step, step.spec["hold_s"],
                  self.truth_during(step, HOSTS2, "the partition"))
        t_heal = time.monotonic()
        self.lab.unpartition(h)
        step.mark("heartbeats pass again")
        self._heal_window(step, t, t_heal, "partition")

    def do_loss(self, step):
        h = step.target
        t = time.monotonic()
        self.lab.loss(h, step.spec["pct"], step.spec["direction"])
        step.mark("%d%% heartbeat loss in %s (%s)" % (
            step.spec["pct"], h, step.spec["direction"]))
        self.hold(step, step.spec["hold_s"],
                  self.truth_during(step, HOSTS2, "the loss"))
        t_heal = time.monotonic()
        self.lab.loss(h, 0)
        step.mark("loss removed")
        self._heal_window(step, t, t_heal, "heartbeat loss")

    def do_recreate(self, step):
        h = step.target
        t = time.monotonic()
        mac = self.lab.unplug(h)
        step.mark("eth0 of %s deleted" % h)
        self.hold(step, step.spec["pause_s"])
        t_heal = time.monotonic()
        self.lab.replug(h, mac=mac if step.spec["keep_mac"] else None)
        step.mark("eth0 of %s re-created (%s MAC)" % (
            h, "same" if step.spec["keep_mac"] else "new"))
        self._heal_window(step, t, t_heal, "removal of eth0")
        self.hold(step, 1.0, self.truth_during(step, HOSTS2,
                                               "the re-creation"))

    def do_switchover(self, step):
        h = step.holder_before
        o = OTHER[h]
        p = self.daemons[h].ctl("switchover")
        step.mark("failoverctl switchover on %s: exit %d %s" % (
            h, p.returncode, (p.stdout + p.stderr).strip()))
        if p.returncode != 0:
            step.fail("switchover refused on %s (exit %d): %s\n%s" % (
                h, p.returncode, (p.stdout + p.stderr).strip(),
                self.describe_state()))
            return
        step.expect_holder = o

    def do_maintenance(self, step):
        who = list(HOSTS2) if step.target == "both" else [step.target]
        h0 = step.holder_before
        for h in who:
            p = self.daemons[h].ctl("maintenance", "on")
            step.mark("maintenance on %s: exit %d" % (h, p.returncode))
            if p.returncode != 0:
                step.fail("maintenance on refused by %s: %s" % (
                    h, (p.stdout + p.stderr).strip()))

        def in_maintenance():
            for h in who:
                st = self.status(h)
                if not st or st["state"] != "maintenance" or \
                        not st["maintenance"]:
                    return None
            return True
        try:
            fodlab.wait_for(in_maintenance, 3, 0.05,
                            "%s to say maintenance" % who)
        except AssertionError as e:
            step.fail("%s\n%s" % (e, self.describe_state()))

        def roles_kept():
            if any(self.actual_holders(v) != {h0} for v in VIPS):
                step.fail("maintenance moved the VIPs (holder was %s)\n%s"
                          % (h0, self.describe_state()))
            for h in HOSTS2:
                bad = self.self_consistent(h)
                if bad and not any("maintenance status" in f
                                   for f in step.failures):
                    step.fail("maintenance status: %s" % bad)
        self.hold(step, step.spec["hold_s"], roles_kept)
        for h in who:
            p = self.daemons[h].ctl("maintenance", "off")
            step.mark("maintenance off %s: exit %d" % (h, p.returncode))
            if p.returncode != 0:
                step.fail("maintenance off refused by %s: %s" % (
                    h, (p.stdout + p.stderr).strip()))

    def do_reload(self, step):
        def marks():
            out = {}
            for h in HOSTS2:
                st = self.status(h)
                if st:
                    out[h] = (st["epoch"], len(st["transitions"]),
                              [(t["from"], t["to"], t["reason"])
                               for t in st["transitions"]],
                              st["uptime_ms"] - st["since_ms_ago"])
            return out
        before = marks()
        h = step.target
        d = self.daemons[h]
        if step.spec["method"] == "SIGHUP":
            os.kill(d.pid, signal.SIGHUP)
            step.mark("SIGHUP %s" % h)
            try:
                fodlab.wait_for(lambda: "configuration reloaded" in
                                d.log()[step.log_pos[h]:], 3, 0.05,
                                "%s to log the reload" % h)
            except AssertionError as e:
                step.fail("SIGHUP: %s" % e)
        else:
            p = d.ctl("reload")
            step.mark("failoverctl reload %s: exit %d %s" % (
                h, p.returncode, p.stdout.strip()))
            if p.returncode != 0 or "configuration reloaded" not in p.stdout:
                step.fail("reload refused by %s (exit %d): %s" % (
                    h, p.returncode, (p.stdout + p.stderr).strip()))
        self.hold(step, 0.5)
        after = marks()
        for x in HOSTS2:
            b, a = before.get(x), after.get(x)
            if b and a and (b[0] != a[0] or b[2] != a[2] or
                            abs(b[3] - a[3]) > 50):
                step.fail("reload of %s made a transition or restart in %s: "
                          "before %r, after %r" % (h, x, b, a))
        if any(self.actual_holders(v) != {step.holder_before} for v in VIPS):
            step.fail("reload moved the VIPs\n%s" % self.describe_state())

    def do_vipdel(self, step):
        h = step.holder_before
        which = {"v4": [VIP4 + "/24"], "v6": [VIP6 + "/64"],
                 "both": [VIP4 + "/24", VIP6 + "/64"]}[step.spec["which"]]
        st = self.status(h)
        repairs0 = st["counters"]["vip_repairs"] if st else 0
        done = 0
        for n in range(step.spec["count"]):
            for addr in which:
                p = self.lab.ns_exec(h, ["ip", "addr", "del", addr, "dev",
                                         "eth0"], check=False)
                step.mark("ip addr del %s in %s: exit %d" % (
                    addr, h, p.returncode))
                done += p.returncode == 0
            try:
                fodlab.wait_for(lambda: all(self._has(h, a) for a in which),
                                RESTORE_S, 0.01,
                                "%s to restore %s" % (h, which))
                step.mark("restored")
            except AssertionError as e:
                step.fail("deleted VIP not restored within %.1f s: %s\n%s"
                          % (RESTORE_S, e, self.describe_state()))
                return
            self.hold(step, 0.3)
        try:
            fodlab.wait_for(lambda: (self.status(h) or {}).get(
                "counters", {}).get("vip_repairs", 0) >= repairs0 + 1, 2,
                0.05, "vip_repairs to grow")
        except AssertionError as e:
            step.fail("%s after %d deletions\n%s" % (
                e, done, self.brief_status(h)))

    # -- analysis --

    def analyse(self, step):
        tl = self.timeline.update()
        now = time.monotonic()
        for vip in VIPS:
            for s, e, hosts in tl.overlaps(vip, now):
                end = e if e is not None else now
                # everything since the last analysis, also between steps
                if end < (self.overlaps_done_to or step.t0) or \
                        s > step.t_end:
                    continue
                if any(o.start == s and o.vip == vip
                       for st in self.steps[:-1] for o in st.overlaps):
                    continue        # reported by an earlier step
                dur = end - s
                verdict = None
                for ws, wlim, we, label in step.windows:
                    if e is not None and ws - 0.01 <= s <= wlim and end <= we:
                        verdict = verdict or "ok: " + label
                if verdict is None and e is not None and \
                        dur <= HANDOVER_OVERLAP_S:
                    verdict = "ok: handover (<= %.0f ms)" % (
                        HANDOVER_OVERLAP_S * 1000)
                step.overlaps.append(Overlap(vip, s, end, e is None,
                                             verdict))
                if verdict is None:
                    step.fail("two holders of %s for %.0f ms%s (from %s to "
                              "%s), outside every window of this step: %s"
                              % (vip, dur * 1000,
                                 "" if e is not None else " and counting",
                                 step.rel(s), step.rel(end),
                                 "; ".join("%s [%s, start <= %s, end <= %s]"
                                           % (w[3], step.rel(w[0]),
                                              step.rel(w[1]), step.rel(w[2]))
                                           for w in step.windows) or
                                 "none (only a handover overlap <= %.0f ms)"
                                 % (HANDOVER_OVERLAP_S * 1000)))
        self.overlaps_done_to = now
        t_from = self.gaps_done_to or step.t0
        self.gaps_done_to = self.probes.covered_to
        for a, b, op in self.probes.gaps(t_from, self.probes.covered_to):
            # a gap belongs to the step in which it began
            owner = None
            for st in self.steps:
                if st.t0 - 0.05 <= a:
                    owner = st
            if owner is None or owner.kind == "reset":
                continue
            if owner is not step and b - a >= 0.1:
                self.say("chaos: the client gap that began in step %d at %s "
                         "lasted %.0f ms%s" % (owner.index, owner.rel(a),
                                               (b - a) * 1000, " and is still"
                                               " open" if op else ""))
            owner.gaps = [g for g in owner.gaps if g[0] != a] + [(a, b, op)]
            self.check_gaps(owner)

    def check_gaps(self, step):
        step.max_gap_ms = max([(b - a) * 1000 for a, b, _ in step.gaps] +
                              [0.0])
        if step.max_gap_ms <= step.gap_bound_ms:
            return
        a, b, op = max(step.gaps, key=lambda g: g[1] - g[0])
        text = ("client gap of %.0f ms%s (from %s to %s) exceeds %d ms (%s)"
                % (step.max_gap_ms, " (still open)" if op else "",
                   step.rel(a), step.rel(b), step.gap_bound_ms,
                   "failover" if step.gap_bound_ms == FAILOVER_GAP_MS
                   else "planned"))
        step.failures = [f for f in step.failures
                         if not f.startswith("client gap of ")] + [text]
        if step.t_end is not None and step is not self.steps[-1] and \
                step.kind != "reset":
            # found once the next step ran: report it now
            if step not in self.failed_steps:
                self.failed_steps.append(step)
            step.text = (step.text or self.failure_text(step)) + \
                "\n  later: " + text
            self.say("chaos: step %d FAILED after the fact: %s" % (
                step.index, text))

    @staticmethod
    def worst_overlap(step):
        return max(step.overlaps, key=lambda o: o.end - o.start,
                   default=None)

    def worst_overlap_ms(self, step):
        o = self.worst_overlap(step)
        return (o.end - o.start) * 1000 if o else 0.0

    def report_step(self, step, view):
        ov = self.worst_overlap_ms(step)
        why = ""
        if step.overlaps:
            why = " (%s)" % (self.worst_overlap(step).verdict or
                             "NOT ALLOWED")
        self.say("chaos: [%d/%d] %s -> %s; holder after: %s; overlap %.0f ms"
                 "%s; client gap %.0f ms (bound %d); settled in %s" % (
                     step.index, self.nsteps,
                     describe_step(step.spec, step.target),
                     "FAIL" if step.failures else "ok",
                     view[0] if view else "-", ov, why, step.max_gap_ms,
                     step.gap_bound_ms, "%.0f ms" % step.settle_ms
                     if step.settle_ms is not None else "-"))

    def timeline_text(self, t_from, t_to, t_ref):
        tl = self.timeline.update()
        lines = []
        for t, h, v, k in tl.changes(None, t_from, t_to):
            lines.append("    %+8.3fs  %-5s %s %s" % (
                t - t_ref, h, "ADD" if k == "add" else "DEL", v))
        lines.append("    (%d lifetime refreshes not shown)"
                     % tl.refreshes(t_from, t_to))
        return "\n".join(lines)

    def failure_text(self, step):
        t_end = step.t_end or time.monotonic()
        out = ["", "=" * 78,
               "CHAOS FAILURE: seed %d, %s" % (self.seed, step.title()),
               "replay: %s   (this is step %d)" % (self.replay, step.index)]
        for f in step.failures:
            out.append("  * " + f.replace("\n", "\n    "))
        out.append("  marks (time from the step's start):")
        out += ["    %s  %s" % (step.rel(t), m) for t, m in step.marks]
        out.append("  VIP adds/deletes (ip monitor), from 1 s before:")
        out.append(self.timeline_text(step.t0 - 1, t_end + 0.5, step.t0))
        if step.overlaps:
            out.append("  two-holder intervals:")
            for o in step.overlaps:
                out.append("    %-12s %s .. %s %6.0f ms%s: %s" % (
                    o.vip, step.rel(o.start), step.rel(o.end),
                    (o.end - o.start) * 1000, " (still open)" if o.open
                    else "", o.verdict or "NOT ALLOWED"))
        if step.gaps:
            out.append("  client gaps >= %d ms: %s" % (GAP_MIN_MS, ", ".join(
                "%s %.0f ms%s" % (step.rel(a), (b - a) * 1000,
                                  " open" if op else "")
                for a, b, op in step.gaps[:12])))
        out.append("  now: " + self.describe_state().replace("\n", "\n  "))
        for h, d in self.daemons.items():
            text = d.log()[step.log_pos.get(h, 0):]
            lines = [l for l in text.splitlines()
                     if not re.search(r"lease refreshed|debug", l)][-25:]
            out.append("  %s log during the step (last %d lines):" % (
                h, len(lines)))
            out += ["    " + l for l in lines]
        out.append("=" * 78)
        return "\n".join(out)

    # -- reset and clean-up --

    def cleanup_faults(self):
        """Remove every fault this run may have left (also on an error)."""
        if not self.steps:
            return
        step = self.steps[-1]
        for h in list(step.frozen):
            try:
                self.cont(step, h)
            except OSError:
                pass
        for h in HOSTS2:
            for table in ("fodlab_partition", "fodlab_loss"):
                self.lab.ns_exec(h, ["nft", "delete", "table", "inet",
                                     table], check=False)
            fodlab.run(["ip", "-n", self.lab.ns("sw"), "link", "set", h,
                        "up"], check=False)
            out = fodlab.run(["ip", "-n", self.lab.ns(h), "link", "show",
                              "eth0"], check=False)
            if out.returncode != 0:
                fodlab.run(["ip", "-n", self.lab.ns("sw"), "link", "del", h],
                           check=False)
                self.lab.replug(h)

    def reset(self, step):
        """Bring the pair back to a known state after a step that left it
        unsettled: both daemons killed, VIPs removed, both started."""
        self.resets += 1
        self.say("chaos: resetting the pair after step %d" % step.index)
        t = time.monotonic()
        self.cleanup_faults()
        for d in self.daemons.values():
            if d.running:
                d.kill()
        for h in HOSTS2:
            for addr in (VIP4 + "/24", VIP6 + "/64"):
                self.lab.ns_exec(h, ["ip", "addr", "del", addr, "dev",
                                     "eth0"], check=False)
        for d in self.daemons.values():
            d.start()
        fodlab.wait_for(lambda: self.settled_view(), 20, 0.05,
                        "the pair to settle after a reset",
                        describe=lambda: self.describe_state())
        # the reset is no step's doing: its overlaps and gaps are skipped
        rs = Step(step.index, {"kind": "reset"})
        rs.t0, rs.t_end = t, time.monotonic()
        self.steps.append(rs)
        self.analyse_quietly(rs)
        self.probes.rotate()
        self.gaps_done_to = self.probes.covered_to     # skip the reset
        self.overlaps_done_to = time.monotonic()

    def analyse_quietly(self, rs):
        tl = self.timeline.update()
        for vip in VIPS:
            for s, e, hosts in tl.overlaps(vip, time.monotonic()):
                if rs.t0 - 1 <= s <= rs.t_end:
                    rs.overlaps.append(Overlap(vip, s, e or time.monotonic(),
                                               e is None, "reset"))

    # -- the summary --

    def summary(self):
        real = [s for s in self.steps if s.kind != "reset"]
        lines = ["", "chaos summary: seed %d (replay: %s), %d of %d steps run"
                 "%s, %d failed, %d reset(s); %.0f s; client: %d probes sent,"
                 " %d lost; wall/monotonic drift %.1f ms"
                 % (self.seed, self.replay, len(real), self.nsteps,
                    " (%s)" % self.stopped_early if self.stopped_early else "",
                    len(self.failed_steps), self.resets,
                    time.monotonic() - (self.t_start or time.monotonic()),
                    self.probes.sent if self.probes else 0,
                    self.probes.lost if self.probes else 0,
                    self.clock.drift_ms())]
        lines.append("  %-13s %4s %6s %9s %9s %6s %8s  %s" % (
            "kind", "runs", "failed", "gap max", "bound", "settle",
            "2 holders", "(longest: step, verdict)"))
        for kind in sorted(KINDS):
            ss = [x for x in real if x.kind == kind]
            if not ss:
                continue
            wo = max(ss, key=self.worst_overlap_ms)
            o = self.worst_overlap(wo)
            settle = [x.settle_ms for x in ss if x.settle_ms is not None]
            lines.append("  %-13s %4d %6d %6.0f ms %6d ms %6s %6.0f ms  %s"
                         % (kind, len(ss), sum(1 for x in ss if x.failures),
                            max(x.max_gap_ms for x in ss),
                            max(x.gap_bound_ms for x in ss),
                            "%.0f" % max(settle) if settle else "-",
                            self.worst_overlap_ms(wo),
                            "(step %d, %s%s)" % (
                                wo.index, (o.verdict or "NOT ALLOWED")
                                .replace("ok: ", ""),
                                ", still open" if o.open else "")
                            if o else ""))
        if real:
            wo = max(real, key=self.worst_overlap_ms)
            wg = max(real, key=lambda x: x.max_gap_ms)
            lines.append("  worst two-holder interval: %.0f ms (step %d, %s);"
                         " worst client gap: %.0f ms (step %d, %s)" % (
                             self.worst_overlap_ms(wo), wo.index,
                             describe_step(wo.spec, wo.target),
                             wg.max_gap_ms, wg.index,
                             describe_step(wg.spec, wg.target)))
        for s in self.failed_steps:
            lines.append("  FAILED step %d %s: %s" % (
                s.index, describe_step(s.spec, s.target),
                " | ".join(f.splitlines()[0] for f in s.failures)))
        return "\n".join(lines)

    def full_report(self):
        """Everything, for the file in build/chaos/."""
        out = [self.summary(), "", "plan:"]
        out += ["  %2d %s" % (i, describe_step(s))
                for i, s in enumerate(self.plan, 1)]
        out += [s.text or self.failure_text(s) for s in self.failed_steps]
        if self.timeline and self.t_start:
            out += ["", "whole VIP timeline (s from the start):",
                    self.timeline_text(0, time.monotonic() + 1,
                                       self.t_start)]
        out += ["", "step start times (s from the start):"]
        out += ["  %2d %-12s %+9.3f .. %+9.3f" % (
            s.index, s.kind, s.t0 - (self.t_start or 0),
            (s.t_end or 0) - (self.t_start or 0)) for s in self.steps]
        return "\n".join(out)


# --- the test ---------------------------------------------------------------

def chaos_params():
    """CHAOS_SEED (a number or "random"), CHAOS_STEPS, CHAOS_KINDS (comma
    separated step kinds to draw from; default all)."""
    seed = os.environ.get("CHAOS_SEED", "") or str(DEFAULT_SEED)
    if seed == "random":
        seed = str(secrets.randbelow(1000000))
    steps = os.environ.get("CHAOS_STEPS", "") or str(DEFAULT_STEPS)
    kinds = [k for k in os.environ.get("CHAOS_KINDS", "").split(",") if k]
    return int(seed), int(steps), kinds or None


def test_plan_is_deterministic():
    """The seed fixes the plan: same seed, same steps and parameters; the
    first len(KINDS) steps are every kind once."""
    a, b = make_plan(1234, 30), make_plan(1234, 30)
    assert a == b
    assert a != make_plan(1235, 30)
    assert sorted(s["kind"] for s in a[:len(KINDS)]) == sorted(KINDS)
    assert make_plan(1234, 5) == a[:5]
    only = make_plan(7, 10, ["loss", "cut"])
    assert {s["kind"] for s in only} == {"loss", "cut"}


def test_chaos(lab, capsys):
    seed, steps, only = chaos_params()

    def say(text):
        with capsys.disabled():
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    say("\nchaos: seed %d, %d steps, lab %s" % (seed, steps, lab.prefix))
    chaos = Chaos(lab, seed, steps, out=say, only=only)
    try:
        chaos.run()
    finally:
        summary = chaos.summary()
        say(summary)
        outdir = os.environ.get("CHAOS_OUT") or os.path.join(fodlab.BUILD,
                                                             "chaos")
        try:
            os.makedirs(outdir, exist_ok=True)
            path = os.path.join(outdir, "chaos-seed%d-%s.txt"
                                % (seed, lab.prefix))
            with open(path, "w") as f:
                f.write(chaos.full_report() + "\n")
                for d in lab.daemons:
                    f.write("\n===== %s log =====\n%s\n" % (d.host, d.log()))
            say("chaos: full report in %s" % path)
        except OSError as e:
            say("chaos: could not write the report: %s" % e)
    assert not chaos.failed_steps, (
        "chaos run seed %d: %d step(s) failed (replay: %s)\n%s\n%s" % (
            seed, len(chaos.failed_steps), chaos.replay, summary, "\n".join(
                                   s.text or chaos.failure_text(s)
                                   for s in chaos.failed_steps)))
