"""Two-node failover pairs for the benchmark: failoverd and keepalived.

Both classes drive one daemon per node (alpha, priority 150, preferred;
beta, priority 100) in a fodlab.Lab, for the same VIP 192.0.2.10/24 on
eth0, and offer the same verbs to tests/bench/run:

    start(host) / stop(host, sig) / started(host) / running(host)
    pids(host)          the daemon's processes on host, children included
    state(host)         "active", "standby" or something else
    vips                the VIPs it moves (192.0.2.10, or one per group)
    heartbeats(host)    heartbeats host sent + received so far (failoverd's
                        counters), None where the daemon does not count
    switchover(host)    planned move away from host
    mark() / transitions(host)   state changes logged since mark()
    hb_counts()         (heartbeats sent, heartbeats received) so far
    loss(host, pct)     random loss on the heartbeat path
    close()             kill what is left, by pid

Process accounting (CPU time, PSS/RSS of a process tree) is here too.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "scripts"))
import fodlab  # noqa: E402

VIP4 = fodlab.VIP4
KEEPALIVED = "/usr/sbin/keepalived"
VRRP_PROTO = 112


# --- processes ---

def children(pid):
    """Direct children of pid (every thread's list), [] if it is gone."""
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def tree(pid):
    """pid and all its descendants that exist now (bounded walk)."""
    found, todo = [], [pid]
    while todo and len(found) < 256:
        p = todo.pop()
        if p in found or fodlab.proc_starttime(p) is None:
            continue
        found.append(p)
        todo += children(p)
    return found


def cpu_sample(pids):
    """(on-CPU nanoseconds from schedstat, utime+stime clock ticks) summed
    over every thread of pids; a process gone in the meantime counts 0."""
    ns = ticks = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])    # utime, stime
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    ns += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return ns, ticks


def mem_sample(pids):
    """(PSS KiB, RSS KiB) summed over pids, from smaps_rollup."""
    pss = rss = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "Pss":
                        pss += int(v.split()[0])
                    elif k == "Rss":
                        rss += int(v.split()[0])
        except (OSError, ValueError):
            pass
    return pss, rss


def kill_pids(pids, sig=signal.SIGKILL):
    """Signal each (pid, starttime) that is still the same process."""
    for pid, start in pids:
        if start is not None and fodlab.proc_starttime(pid) == start:
            try:
                os.kill(pid, sig)
            except OSError:
                pass


def remember(pids):
    return [(p, fodlab.proc_starttime(p)) for p in pids]


def log_since(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def vrrp_loss(lab, host, pct):
    """Drop pct % of incoming VRRP adverts in host (fodlab.Lab.loss only
    matches failoverd's UDP port; VRRP is IP protocol 112). 0 removes it."""
    text = ("table inet bench_vrrp_loss {}\n"
            "delete table inet bench_vrrp_loss\n")
    if pct > 0:
        # Two counters: adverts seen, adverts dropped (see vrrp_counts).
        text += ("table inet bench_vrrp_loss {\n"
                 " chain input { type filter hook input priority -10;\n"
                 "  meta l4proto %d counter\n"
                 "  meta l4proto %d numgen random mod 100 < %d counter drop\n"
                 " }\n}\n" % (VRRP_PROTO, VRRP_PROTO, pct))
    lab.ns_exec(host, ["nft", "-f", "-"], input=text)


def count_packets(lab, host, match):
    """Count packets matching `match` (nft expression) going in and out of
    host; read them with packet_counts()."""
    lab.ns_exec(host, ["nft", "-f", "-"], input=(
        "table inet bench_count {\n"
        " chain input { type filter hook input priority -20; %s counter; }\n"
        " chain output { type filter hook output priority -20; %s counter; }\n"
        "}\n" % (match, match)))


def packet_counts(lab, host, table="bench_count"):
    """Packet counters of host's nft table, in rule order."""
    p = lab.ns_exec(host, ["nft", "-j", "list", "table", "inet", table],
                    check=False)
    counts = []
    try:
        for item in json.loads(p.stdout or "{}").get("nftables", []):
            for e in item.get("rule", {}).get("expr", []):
                if "counter" in e:
                    counts.append(e["counter"]["packets"])
    except ValueError:
        pass
    return counts


def vrrp_counts(lab, host):
    """(adverts seen, adverts dropped) by vrrp_loss's rules in host."""
    counts = packet_counts(lab, host, "bench_vrrp_loss")
    return tuple(counts) if len(counts) == 2 else (0, 0)


# --- failoverd ---

class FodPair:
    MATCH = "udp dport %d" % fodlab.PORT        # heartbeats
    STATE_RE = re.compile(r"info: (?:group \S+: )?state (\w+) -> (\w+) "
                          r"\(([^)]*)\)")

    def __init__(self, lab, groups=1, **cluster):
        """cluster: interval_ms, dead_ms, ... (nothing = the defaults).
        groups > 1: that many VIP groups of one VIP each, 192.0.2.10 up."""
        self.lab = lab
        self.groups = groups
        self.cluster = cluster
        self.kind = "failoverd" if groups == 1 else \
            "failoverd, %d groups" % groups
        self.vips = ["192.0.2.%d" % (10 + i) for i in range(groups)]
        self.d = {}
        self.marks = {}

    def config(self, host):
        c = self.lab.config(host, fast=False, **self.cluster)
        vips = [[{"address": v + "/24", "interface": "eth0"}]
                for v in self.vips]
        if self.groups == 1:
            # The same single IPv4 VIP as keepalived: equal work on failover.
            c["vips"] = vips[0]
        else:
            del c["vips"]
            c["groups"] = [{"name": "g%d" % i, "vips": v}
                           for i, v in enumerate(vips)]
        return c

    def start(self, host):
        if host not in self.d:
            self.d[host] = self.lab.daemon(host, self.config(host))
        else:
            self.d[host].start()

    def started(self, host):
        return host in self.d

    def running(self, host):
        return host in self.d and self.d[host].running

    def stop(self, host, sig=signal.SIGTERM):
        if self.running(host):
            self.d[host].stop(sig)

    def pids(self, host):
        return tree(self.d[host].pid) if self.running(host) else []

    def state(self, host):
        if not self.running(host):
            return None
        st = self.d[host].try_status()
        if not st:
            return None
        states = {g["state"] for g in st.get("groups", [])} or \
            {st["state"]}
        state = states.pop() if len(states) == 1 else "mixed"
        # "standby" only once it hears the peer: a settled pair.
        if state == "standby" and not st["peer"]["alive"]:
            return "standby-alone"
        return state

    def switchover(self, host):
        p = self.d[host].ctl("switchover")
        if p.returncode != 0:
            raise RuntimeError("failoverctl switchover: exit %d: %s"
                               % (p.returncode, (p.stderr or p.stdout).strip()))

    def loss(self, host, pct):
        self.lab.loss(host, pct, direction="in")

    def heartbeats(self, host):
        st = self.d[host].try_status() if self.running(host) else None
        return st["counters"]["sent"] + st["counters"]["received"] \
            if st else None

    def hb_counts(self):
        """(heartbeats sent by both nodes, heartbeats received by both)."""
        sent = recv = 0
        for h in self.d:
            st = self.d[h].try_status() if self.running(h) else None
            if st:
                sent += st["counters"]["sent"]
                recv += st["counters"]["received"]
        return sent, recv

    def log_path(self, host):
        return self.d[host].log_path

    def mark(self):
        self.marks = {h: log_size(self.log_path(h)) for h in self.d}

    def log(self, host):
        return log_since(self.log_path(host), self.marks.get(host, 0))

    def transitions(self, host):
        """[(from, to, reason)] logged since mark()."""
        return self.STATE_RE.findall(self.log(host))

    def took_over(self, host):
        return [t for t in self.transitions(host) if t[1] == "active"]

    def close(self):
        for h in list(self.d):
            if self.running(h):
                self.d[h].kill()


# --- keepalived ---

class KaPair:
    kind = "keepalived"
    vips = [VIP4]
    MATCH = "meta l4proto %d" % VRRP_PROTO      # adverts
    STATE_RE = re.compile(r"\(VI_1\) Entering (\w+) STATE")
    STATES = {"MASTER": "active", "BACKUP": "standby", "FAULT": "fault"}

    def __init__(self, lab, advert="1"):
        """advert: advert_int in seconds, as text ("1", "0.01"). Below one
        second VRRPv3 is needed (v2 counts whole seconds)."""
        self.lab = lab
        self.advert = advert
        self.version = 3 if float(advert) < 1 else 2
        self.procs = {}
        self.known = {}         # host -> [(pid, starttime)] ever seen
        self.marks = {}
        self.started_at = {}    # host -> log offset of its latest start

    def dir(self, host):
        return self.lab.host_dir(host)

    def path(self, host, name):
        return os.path.join(self.dir(host), "ka-" + name)

    def config(self, host):
        me = fodlab.HOSTS[host]["v4"]
        peer = fodlab.HOSTS[fodlab.PAIR[host]]["v4"]
        # The canonical keepalived pair: MASTER on the preferred node,
        # BACKUP on the other, unicast adverts, everything else default.
        # The track file is how an operator lowers the priority for
        # planned maintenance (our "switchover").
        return """global_defs {
  router_id %(host)s
  vrrp_version %(version)d
}
track_file maint {
  file "%(maint)s"
  weight 1
  init_file 0 overwrite
}
vrrp_instance VI_1 {
  state %(state)s
  interface eth0
  virtual_router_id 51
  priority %(prio)d
  advert_int %(advert)s
  unicast_src_ip %(me)s
  unicast_peer {
    %(peer)s
  }
  virtual_ipaddress {
    %(vip)s/24 dev eth0
  }
  track_file {
    maint
  }
}
""" % {"host": host, "version": self.version,
       "maint": self.path(host, "maint"),
       "state": "MASTER" if host == "alpha" else "BACKUP",
       "prio": fodlab.PRIORITY[host], "advert": self.advert, "me": me,
       "peer": peer, "vip": VIP4}

    def start(self, host):
        if self.running(host):
            raise RuntimeError("keepalived on %s already running" % host)
        conf = self.path(host, "conf")
        with open(conf, "w") as f:
            f.write(self.config(host))
        # Own pid files per node: two instances must never share them.
        argv = [KEEPALIVED, "-n", "-l", "-G", "-D", "-P", "-f", conf,
                "-p", self.path(host, "pid"), "-r", self.path(host, "vrrp.pid")]
        self.started_at[host] = log_size(self.log_path(host))
        with open(self.log_path(host), "ab") as log:
            log.write(b"--- bench: starting keepalived\n")
            log.flush()
            self.procs[host] = self.lab.spawn(host, argv, stdout=log,
                                              stderr=subprocess.STDOUT)
        self.known.setdefault(host, [])

    def started(self, host):
        return host in self.procs

    def running(self, host):
        p = self.procs.get(host)
        return p is not None and p.poll() is None

    def pids(self, host):
        if not self.running(host):
            return []
        pids = tree(self.procs[host].pid)
        self.known[host] += [x for x in remember(pids)
                             if x not in self.known[host]]
        return pids

    def stop(self, host, sig=signal.SIGTERM, timeout=10):
        if not self.running(host):
            return
        self.pids(host)             # remember the VRRP child too
        p = self.procs[host]
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        # The VRRP child goes with its parent; make sure, by pid.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                fodlab.proc_starttime(pid) == st for pid, st in self.known[host]):
            time.sleep(0.02)
        kill_pids(self.known[host])

    def state(self, host):
        if not self.running(host):
            return None
        found = self.STATE_RE.findall(log_since(self.log_path(host),
                                                self.started_at[host]))
        return self.STATES.get(found[-1]) if found else None

    def switchover(self, host):
        """Lower host's priority below the peer's through its track file:
        the peer preempts after its master-down timer, then host, hearing
        a higher priority, releases the VIP (make-before-break)."""
        with open(self.path(host, "maint"), "w") as f:
            f.write("-100\n")

    def loss(self, host, pct):
        vrrp_loss(self.lab, host, pct)

    def heartbeats(self, host):
        return None

    def hb_counts(self):
        """(adverts that reached a node's input hook, adverts delivered):
        only meaningful while vrrp_loss rules are in place."""
        seen = dropped = 0
        for h in self.procs:
            a, b = vrrp_counts(self.lab, h)
            seen += a
            dropped += b
        return seen, seen - dropped

    def log_path(self, host):
        return self.path(host, "log")

    def mark(self):
        self.marks = {h: log_size(self.log_path(h)) for h in self.procs}

    def log(self, host):
        return log_since(self.log_path(host), self.marks.get(host, 0))

    def transitions(self, host):
        return [(None, self.STATES.get(s, s), "") for s in
                self.STATE_RE.findall(self.log(host))]

    def took_over(self, host):
        return [t for t in self.transitions(host) if t[1] == "active"]

    def close(self):
        for h in list(self.procs):
            if self.running(h):
                self.stop(h, signal.SIGKILL, timeout=5)
            kill_pids(self.known.get(h, []))


# --- failoverd, three nodes with quorum from etcd ---

class FodQuorum(FodPair):
    """alpha, beta and gamma, two VIP groups (tests/integration/
    test_nodes.py: web prefers alpha, then gamma, then beta; db prefers
    beta, then gamma, then alpha), each group's key in the lab's etcd
    cluster (test_quorum.py's qconf()), failoverd's default timers. The
    daemons are handled as FodPair's."""
    kind = "failoverd, quorum"
    NODES = ("alpha", "beta", "gamma")
    GROUPS = {"web": ("192.0.2.10", "2001:db8::10"),
              "db": ("192.0.2.20", "2001:db8::20")}
    PRIO = {"alpha": {"web": 150, "db": 50},
            "beta": {"web": 100, "db": 200},
            "gamma": {"web": 120, "db": 100}}

    def __init__(self, lab, etcd, ttl_s, **cluster):
        self.lab, self.etcd, self.ttl_s = lab, etcd, ttl_s
        self.cluster = cluster
        self.d = {}
        self.marks = {}

    def config(self, host):
        c = self.lab.config(host, peer=[h for h in self.NODES if h != host],
                            fast=False, **self.cluster)
        del c["vips"]
        c["groups"] = [
            {"name": g, "priority": self.PRIO[host][g],
             "vips": [{"address": v4 + "/24", "interface": "eth0"},
                      {"address": v6 + "/64", "interface": "eth0"}]}
            for g, (v4, v6) in self.GROUPS.items()]
        c["quorum"] = {"etcd": self.etcd.urls, "ttl_s": self.ttl_s,
                       "prefix": "/failoverd",
                       "on_quorum_loss": "keep-while-peers"}
        return c

    def status(self, host):
        return self.d[host].try_status() if self.running(host) else None

    def holders(self, group, addrs=None):
        """Sorted nodes holding any VIP of group."""
        addrs = addrs or {h: self.lab.addresses(h) for h in self.NODES}
        return sorted({h for v in self.GROUPS[group] for h in self.NODES
                       if fodlab.addr_only(v) in addrs[h]})

    def placed(self, want, full=True):
        """want: {group: node}. Each group's VIPs on that node only and its
        status says active; with full, also every running node's status
        agrees (standby elsewhere), has a good lease and sees want's keys
        in etcd."""
        addrs = {h: self.lab.addresses(h) for h in self.NODES}
        if any(self.holders(g, addrs) != [n] for g, n in want.items()):
            return False
        for h in self.NODES if full else set(want.values()):
            st = self.status(h)
            if st is None:
                if full and not self.running(h):
                    continue
                return False
            states = {g["name"]: g["state"] for g in st["groups"]}
            for g, n in want.items():
                if full or n == h:
                    if states.get(g) != ("active" if n == h else "standby"):
                        return False
            if full:
                q = st["quorum"]
                keys = {k["group"]: k["holder"] for k in q["keys"]}
                if not q["lease_ok"] or any(keys.get(g) != n
                                            for g, n in want.items()):
                    return False
        return True

    def lease(self, host):
        """(ms the lease of host had left, granted TTL s, when read)."""
        st = self.status(host)
        t = time.monotonic()
        if not st or not st["quorum"]["lease_ok"]:
            return None, None, t
        return st["quorum"]["lease_ms_left"], st["quorum"]["ttl_s"], t

    def switchover(self, host, *args):
        p = self.d[host].ctl("switchover", *args)
        if p.returncode != 0:
            raise RuntimeError("failoverctl switchover %s on %s: exit %d: %s"
                               % (" ".join(args), host, p.returncode,
                                  (p.stderr or p.stdout).strip()))

    def log(self, host):
        return self.d[host].log() if host in self.d else ""
