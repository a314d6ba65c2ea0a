#!/usr/bin/python3
"""fodlab: a small network-namespace lab for failoverd's tests and demo.

The topology, declared in HOSTS below, is a switch namespace holding a
bridge and one namespace per host, each host's eth0 being one end of a veth
pair whose other end (named after the host) is a port of the bridge:

    <prefix>-sw      br0 (ports: alpha, beta, client, ...)
    <prefix>-alpha   eth0 192.0.2.1/24    2001:db8::1/64
    <prefix>-beta    eth0 192.0.2.2/24    2001:db8::2/64
    <prefix>-gamma   eth0 192.0.2.3/24    2001:db8::3/64    (a third node)
    <prefix>-client  eth0 192.0.2.100/24  2001:db8::100/64
    <prefix>-mallory eth0 192.0.2.66/24   2001:db8::66/64   (on demand)
    <prefix>-etcdN   eth0 192.0.2.20N/24  2001:db8::20N/64  (N = 1..3, on
                     demand: lab.etcd_cluster() runs one etcd member in each)

With link2=True alpha and beta also get eth1 on a second bridge br1, with
2001:db8::1:1/112 and 2001:db8::1:2/112 (a second heartbeat path).

Library use (tests, scripts/demo):

    with Lab() as lab:                   # prefix fod + 6 random hex digits
        a = lab.daemon("alpha")          # writes a config, starts failoverd
        b = lab.daemon("beta")
        wait_for(lambda: lab.vip_holders(VIP4) == ["alpha"], 10, msg="...")
        lab.cut("alpha")

Everything a Lab makes (namespaces named <prefix>-*, the directory
/tmp/<prefix>, processes it started) is removed by lab.down(), which also
runs at exit. It kills only the processes it started, by pid.

Command line (root):
    fodlab.py up [PREFIX] [--link2] [--hosts a,b,...]   build and leave it
    fodlab.py down PREFIX     remove the namespaces and files of PREFIX
    fodlab.py clean           remove every fodXXXXXX lab left on this machine
"""

import atexit
import ipaddress
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("FOD_BUILD", os.path.join(REPO, "build"))
FAILOVERD = os.path.join(BUILD, "failoverd")
FAILOVERCTL = os.path.join(BUILD, "failoverctl")
PROBER = os.path.join(BUILD, "prober")

# Host name -> addresses. "v6_2" is the optional second link (eth1, br1).
HOSTS = {
    "alpha": {"v4": "192.0.2.1", "v6": "2001:db8::1", "v6_2": "2001:db8::1:1"},
    "beta": {"v4": "192.0.2.2", "v6": "2001:db8::2", "v6_2": "2001:db8::1:2"},
    "gamma": {"v4": "192.0.2.3", "v6": "2001:db8::3", "v6_2": "2001:db8::1:3"},
    "client": {"v4": "192.0.2.100", "v6": "2001:db8::100"},
    "mallory": {"v4": "192.0.2.66", "v6": "2001:db8::66"},
    "etcd1": {"v4": "192.0.2.201", "v6": "2001:db8::201"},
    "etcd2": {"v4": "192.0.2.202", "v6": "2001:db8::202"},
    "etcd3": {"v4": "192.0.2.203", "v6": "2001:db8::203"},
}
ETCD = "/usr/bin/etcd"
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
PAIR = {"alpha": "beta", "beta": "alpha"}
PRIORITY = {"alpha": 150, "beta": 100}
VIP4 = "192.0.2.10"
VIP6 = "2001:db8::10"
PORT = 694
SW = "sw"
MARKER = ".fodlab"
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
OURS_RE = re.compile(r"^fod[0-9a-f]{6}$")

# Fast timers for tests; a test about defaults asks for fast=False.
FAST = {"interval_ms": 20, "dead_ms": 100, "init_dead_ms": 300}


class LabError(Exception):
    pass


def run(argv, check=True, timeout=30, input=None):
    """Run argv, capture text output; raise LabError with stderr on failure."""
    try:
        p = subprocess.run(argv, input=input, capture_output=True, text=True,
                           timeout=timeout, stdin=None if input is not None
                           else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LabError("timed out after %ss: %s" % (timeout, " ".join(argv)))
    if check and p.returncode != 0:
        raise LabError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                            (p.stderr or p.stdout).strip()))
    return p


def wait_for(fn, timeout=10.0, interval=0.05, msg="condition",
             describe=None):
    """Poll fn() until it returns something truthy (returned); raise
    AssertionError naming msg and the last value when timeout passes,
    followed by describe() (e.g. a snapshot of the lab) if given."""
    deadline = time.monotonic() + timeout
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            text = ("timed out after %.1fs waiting for %s; last value: %r"
                    % (timeout, msg, last))
            if describe:
                text += "\n" + describe()
            raise AssertionError(text)
        time.sleep(interval)


def wait_output(stream, word, timeout=5):
    """Read the binary pipe stream until word shows up; what was read.
    AssertionError if it does not within timeout or the writer exits."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while word.encode() not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError("no %r after %ss: %r" % (word, timeout, buf))
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError("exited before %r: %r" % (word, buf))
        buf += chunk
    return buf.decode(errors="replace")


def new_prefix():
    return "fod" + secrets.token_hex(3)


def addr_only(text):
    """'192.0.2.10/24' -> ipaddress object of 192.0.2.10."""
    return ipaddress.ip_address(text.split("/")[0])


def proc_starttime(pid):
    """Start time of pid (clock ticks since boot), None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def render_config(cfg):
    """dict -> libconfig text. dict = group, list of dicts = list,
    list of scalars = array; one top-level setting per line."""
    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
        raise LabError("cannot render %r in a config" % (v,))

    def value(v, indent):
        if isinstance(v, dict):
            return "{ " + " ".join("%s = %s;" % (k, value(x, indent))
                                   for k, x in v.items()) + " }"
        if isinstance(v, (list, tuple)):
            if v and all(isinstance(x, dict) for x in v):
                pad = "\n" + "  " * (indent + 1)
                return "(" + ",".join(pad + value(x, indent + 1)
                                      for x in v) + "\n" + "  " * indent + ")"
            return "[ " + ", ".join(scalar(x) for x in v) + " ]"
        return scalar(v)

    return "".join("%s = %s;\n" % (k, value(v, 0)) for k, v in cfg.items())


class Lab:
    """One topology: namespaces <prefix>-*, files under /tmp/<prefix>."""

    def __init__(self, prefix=None, hosts=("alpha", "beta", "client"),
                 link2=False, port=PORT, persistent=False):
        self.prefix = prefix or new_prefix()
        if not PREFIX_RE.match(self.prefix):
            raise LabError("bad prefix %r (want [a-z][a-z0-9]{0,11})"
                           % self.prefix)
        self.want_hosts = list(hosts)
        self.hosts = []
        self.link2 = link2
        self.port = port
        self.persistent = persistent    # CLI "up": leave it all there
        self.dir = "/tmp/" + self.prefix
        self.procs = []                 # Popen objects we started
        self.daemons = []               # Daemon objects, for their logs
        self.cut_ports = set()
        self._key = None
        self._is_up = False

    # --- set-up and tear-down ---

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def ns(self, host):
        return "%s-%s" % (self.prefix, host)

    def up(self):
        if os.geteuid() != 0:
            raise LabError("fodlab needs root (network namespaces)")
        os.mkdir(self.dir, 0o700)
        with open(os.path.join(self.dir, MARKER), "w") as f:
            f.write("fodlab %d\n" % os.getpid())
        self._is_up = True
        if not self.persistent:
            atexit.register(self.down)
        try:
            self._add_ns(SW, ipv6=False)
            run(["ip", "-n", self.ns(SW), "link", "add", "br0", "type",
                 "bridge", "mcast_snooping", "0"])
            run(["ip", "-n", self.ns(SW), "link", "set", "br0", "up"])
            if self.link2:
                run(["ip", "-n", self.ns(SW), "link", "add", "br1", "type",
                     "bridge", "mcast_snooping", "0"])
                run(["ip", "-n", self.ns(SW), "link", "set", "br1", "up"])
            for h in self.want_hosts:
                self.add_host(h)
        except BaseException:
            try:
                self.down()
            except LabError as e:
                sys.stderr.write("fodlab: %s\n" % e)
            raise
        return self

    def _add_ns(self, name, ipv6=True):
        ns = self.ns(name)
        run(["ip", "netns", "add", ns])
        # Before any link exists, so that every interface inherits it.
        if ipv6:
            sysctls = ["net.ipv6.conf.all.accept_dad=0",
                       "net.ipv6.conf.default.accept_dad=0"]
        else:
            sysctls = ["net.ipv6.conf.all.disable_ipv6=1",
                       "net.ipv6.conf.default.disable_ipv6=1"]
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w"] + sysctls)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def add_host(self, host):
        """Create host's namespace, plug its eth0 (and eth1 with link2)
        into the switch and give it its addresses from HOSTS."""
        if host in self.hosts:
            return
        if host not in HOSTS:
            raise LabError("unknown host %r (see HOSTS)" % host)
        self._add_ns(host)
        self.hosts.append(host)
        self.replug(host, 0)
        if self.link2 and "v6_2" in HOSTS[host]:
            self.replug(host, 1)

    def down(self):
        """Kill what we started, delete our namespaces and files. Idempotent."""
        if not self._is_up:
            return
        self._is_up = False
        try:
            atexit.unregister(self.down)
        except Exception:
            pass
        errors = []
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(timeout=5)
                except Exception as e:
                    errors.append("pid %d: %s" % (p.pid, e))
        errors += remove_namespaces(self.prefix)
        if os.environ.get("FODLAB_KEEP"):
            sys.stderr.write("fodlab: kept %s (FODLAB_KEEP)\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise LabError("cleanup of %s: %s" % (self.prefix,
                                                  "; ".join(errors)))

    # --- running things in namespaces ---

    def ns_exec(self, host, argv, check=True, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.ns(host)] + list(argv),
                   check=check, timeout=timeout, input=input)

    def spawn(self, host, argv, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL):
        """Start argv in host's namespace in the background, tracked: down()
        kills it. Its own session, so a Ctrl-C reaches only us."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host)]
                             + list(argv), stdin=stdin,
                             stdout=stdout, stderr=stderr,
                             start_new_session=True)
        self.procs.append(p)
        # For "fodlab.py down PREFIX" after a crash of this process.
        with open(os.path.join(self.dir, "pids"), "a") as f:
            f.write("%d %s\n" % (p.pid, proc_starttime(p.pid)))
        return p

    # --- faults ---

    def _ports(self, host, link):
        ports = [host] + ([host + "2"] if self.link2 and "v6_2" in
                          HOSTS[host] else [])
        return ports if link is None else [ports[link]]

    def cut(self, host, link=None):
        """Set the switch side of host's link(s) down (host sees no carrier).
        link: None = every link of host, 0 = eth0, 1 = eth1."""
        for port in self._ports(host, link):
            run(["ip", "-n", self.ns(SW), "link", "set", port, "down"])

    def heal(self, host, link=None):
        for port in self._ports(host, link):
            run(["ip", "-n", self.ns(SW), "link", "set", port, "up"])

    def _plug_spec(self, host, link=0):
        """(ifname, switch port, bridge, addresses) of host's link."""
        a = HOSTS[host]
        if link == 0:
            return "eth0", host, "br0", [a["v4"] + "/24", a["v6"] + "/64"]
        if not (self.link2 and "v6_2" in a):
            raise LabError("%s has no link %d" % (host, link))
        return "eth1", host + "2", "br1", [a["v6_2"] + "/112"]

    def unplug(self, host, link=0):
        """Delete host's veth pair of link (0 = eth0, 1 = eth1): the
        interface disappears from host with every address on it, as when a
        driver is unloaded. Returns its MAC address, for replug()."""
        ifname, port = self._plug_spec(host, link)[:2]
        mac = self.mac(host, ifname)
        run(["ip", "-n", self.ns(SW), "link", "del", port])
        return mac

    def replug(self, host, link=0, mac=None):
        """Make host's veth pair of link (add_host), or make it again after
        unplug(): same names, host addresses and bridge port (a new
        ifindex); mac: the host side's MAC address (None: a random one)."""
        ifname, port, br, addrs = self._plug_spec(host, link)
        ns, sw = self.ns(host), self.ns(SW)
        peer = ["peer", "name", ifname]
        if mac:
            peer += ["address", mac]
        run(["ip", "-n", sw, "link", "add", port, "type", "veth"] + peer
            + ["netns", ns])
        run(["ip", "-n", sw, "link", "set", port, "master", br, "up"])
        for addr in addrs:
            cmd = ["ip", "-n", ns, "addr", "add", addr, "dev", ifname]
            if ":" in addr:
                cmd.append("nodad")
            run(cmd)
        run(["ip", "-n", ns, "link", "set", ifname, "up"])

    def recreate(self, host, link=0, pause_s=0.0, keep_mac=True):
        """unplug(), wait pause_s, replug() (with the old MAC if keep_mac)."""
        mac = self.unplug(host, link)
        if pause_s > 0:
            time.sleep(pause_s)
        self.replug(host, link, mac if keep_mac else None)

    def _nft(self, host, text):
        self.ns_exec(host, ["nft", "-f", "-"], input=text)

    def partition(self, host, direction="both", ifname=None):
        """Drop every UDP datagram to or from the heartbeat port in host,
        and nothing else: arriving ("in"), leaving ("out") or "both"; on
        every interface or only on ifname (carrier stays up). Replaces an
        earlier partition of host atomically."""
        def rules(hook):
            match = ""
            if ifname:
                match = '%s "%s" ' % ("iifname" if hook == "input"
                                      else "oifname", ifname)
            return ("%sudp dport %d drop; %sudp sport %d drop;"
                    % (match, self.port, match, self.port))
        text = ("table inet fodlab_partition {}\n"
                "delete table inet fodlab_partition\n"
                "table inet fodlab_partition {\n")
        if direction in ("in", "both"):
            text += (" chain input { type filter hook input priority -10; "
                     "%s }\n" % rules("input"))
        if direction in ("out", "both"):
            text += (" chain output { type filter hook output priority -10; "
                     "%s }\n" % rules("output"))
        self._nft(host, text + "}\n")

    def unpartition(self, host):
        self._nft(host, "delete table inet fodlab_partition\n")

    def loss(self, host, pct, direction="both"):
        """Drop pct % of heartbeat datagrams at random in host (each
        direction: "in", "out" or "both"); pct 0 removes the rule."""
        text = ("table inet fodlab_loss {}\n"
                "delete table inet fodlab_loss\n")
        if pct > 0:
            rule = ("udp dport %d numgen random mod 100 < %d drop;"
                    % (self.port, pct))
            chains = ""
            if direction in ("in", "both"):
                chains += (" chain input { type filter hook input "
                           "priority -10; %s }\n" % rule)
            if direction in ("out", "both"):
                chains += (" chain output { type filter hook output "
                           "priority -10; %s }\n" % rule)
            text += "table inet fodlab_loss {\n%s}\n" % chains
        self._nft(host, text)

    # --- observations ---

    def addresses(self, host):
        """Every address configured in host, as ipaddress objects."""
        out = run(["ip", "-n", self.ns(host), "-j", "addr", "show"]).stdout
        found = []
        for link in json.loads(out or "[]"):
            for ai in link.get("addr_info", []):
                if "local" in ai:
                    found.append(ipaddress.ip_address(ai["local"]))
        return found

    def vip_holders(self, vip):
        """Sorted names of the hosts that have vip ("192.0.2.10[/24]")."""
        want = addr_only(vip)
        return sorted(h for h in self.hosts if want in self.addresses(h))

    def ping(self, host, addr, count=1, wait_s=1):
        """One ping from host; True if answered."""
        p = self.ns_exec(host, ["ping", "-n", "-q", "-c", str(count),
                                "-W", str(wait_s), str(addr_only(addr))],
                         check=False, timeout=count + wait_s + 5)
        return p.returncode == 0

    def mac(self, host, ifname="eth0"):
        out = run(["ip", "-n", self.ns(host), "-j", "link", "show",
                   ifname]).stdout
        return json.loads(out)[0]["address"]

    def neighbour(self, host, addr):
        """host's neighbour (ARP/ND) entry for addr: (lladdr, [states]) or
        None."""
        a = str(addr_only(addr))
        out = run(["ip", "-n", self.ns(host), "-j", "neigh", "show", a]).stdout
        for n in json.loads(out or "[]"):
            if n.get("dst") == a:
                return n.get("lladdr"), n.get("state", [])
        return None

    def reach(self, host, addr, timeout=10):
        """Poll until host gets an answer from addr."""
        return wait_for(lambda: self.ping(host, addr), timeout, 0.05,
                        "%s to reach %s" % (host, addr))

    # --- daemons and tools ---

    @property
    def key_file(self):
        """The cluster key, made once per lab, mode 0600."""
        if self._key is None:
            path = os.path.join(self.dir, "cluster.key")
            if os.access(FAILOVERCTL, os.X_OK):
                run([FAILOVERCTL, "keygen", path])
            else:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32) + "\n")
            self._key = path
        return self._key

    def host_dir(self, host):
        d = os.path.join(self.dir, host)
        if not os.path.isdir(d):
            os.makedirs(d, 0o755)
            for sub in ("hooks", "hooks/promote.d", "hooks/demote.d",
                        "hooks/notify.d", "run", "state"):
                os.makedirs(os.path.join(d, sub), 0o755, exist_ok=True)
            # Hooks refuse a directory writable by others: be strict.
            os.chmod(d, 0o755)
        return d

    def config(self, host, peer=None, fast=True, **cluster):
        """A config dict for host (alpha 150, beta 100, others 50), peer by
        default its pair, or a list of peers (one link to each, two with
        link2); cluster keys may be overridden (preempt=False, ...)."""
        peers = [peer or PAIR[host]] if isinstance(peer, (str, type(None))) \
            else list(peer)
        me = HOSTS[host]
        d = self.host_dir(host)
        c = {"id": 1, "key_file": self.key_file, "port": self.port}
        if fast:
            c.update(FAST)
            c.update({"preempt": True, "preempt_delay_ms": 0})
        c.update(cluster)
        links = []
        for other in (HOSTS[p] for p in peers):
            links.append({"interface": "eth0", "local": me["v4"],
                          "peer": other["v4"]})
            if self.link2 and "v6_2" in me and "v6_2" in other:
                links.append({"interface": "eth1", "local": me["v6_2"],
                              "peer": other["v6_2"]})
        return {
            "node": {"name": host, "priority": PRIORITY.get(host, 50)},
            "cluster": c,
            "links": links,
            "vips": [{"address": VIP4 + "/24", "interface": "eth0"},
                     {"address": VIP6 + "/64", "interface": "eth0"}],
            "hooks": {"dir": os.path.join(d, "hooks"), "timeout_ms": 5000},
            "runtime_dir": os.path.join(d, "run"),
            "state_dir": os.path.join(d, "state"),
        }

    def daemon(self, host, config=None, start=True):
        return Daemon(self, host, config, start)

    def etcd_cluster(self, members=("etcd1", "etcd2", "etcd3"), timeout=20):
        """Start an etcd cluster, one member in each of the hosts members
        (added to the lab if needed), data under <dir>/<member>/; wait
        until every member is healthy. Returns an EtcdCluster."""
        c = EtcdCluster(self, members)
        c.start()
        c.wait_healthy(timeout)
        return c

    def prober(self, host, addr, interval_ms=10, duration_ms=None,
               count=None, csv=None):
        return Prober(self, host, addr, interval_ms, duration_ms, count, csv)


class EtcdCluster:
    """etcd members in lab hosts (etcd-server's /usr/bin/etcd), on the
    lab network only: clients on :2379, peers on :2380 of each host's
    IPv4 address. Short heartbeat and election timeouts (tests). The
    processes are the lab's: lab.down() kills them by pid."""

    def __init__(self, lab, members):
        self.lab = lab
        self.members = list(members)
        self.procs = {}
        if not os.access(ETCD, os.X_OK):
            raise LabError("%s is missing: scripts/install-deps installs "
                           "etcd-server" % ETCD)

    def url(self, m):
        return "http://%s:%d" % (HOSTS[m]["v4"], ETCD_CLIENT_PORT)

    @property
    def urls(self):
        return [self.url(m) for m in self.members]

    def _peer(self, m):
        return "http://%s:%d" % (HOSTS[m]["v4"], ETCD_PEER_PORT)

    def start(self, only=None):
        """Start every member (or only the one named), first time or
        again after kill() (same data directory)."""
        initial = ",".join("%s=%s" % (m, self._peer(m)) for m in self.members)
        for m in self.members if only is None else [only]:
            self.lab.add_host(m)
            d = os.path.join(self.lab.dir, m)
            os.makedirs(d, 0o700, exist_ok=True)
            data = os.path.join(d, "data")
            state = "existing" if os.path.isdir(data) else "new"
            argv = [ETCD, "--name", m, "--data-dir", data,
                    "--listen-client-urls", self.url(m),
                    "--advertise-client-urls", self.url(m),
                    "--listen-peer-urls", self._peer(m),
                    "--initial-advertise-peer-urls", self._peer(m),
                    "--initial-cluster", initial,
                    "--initial-cluster-state", state,
                    "--initial-cluster-token", self.lab.prefix,
                    "--heartbeat-interval", "50",
                    "--election-timeout", "500",
                    "--enable-v2=false", "--log-level", "warn",
                    "--logger", "zap"]
            with open(os.path.join(d, "etcd.log"), "ab") as log:
                self.procs[m] = self.lab.spawn(m, argv, stdout=log,
                                               stderr=subprocess.STDOUT)

    def healthy(self, m):
        """True if member m answers /health with health true."""
        p = self.lab.ns_exec(m, ["curl", "-sS", "-m", "1", self.url(m) +
                                 "/health"], check=False, timeout=5)
        try:
            return json.loads(p.stdout).get("health") in (True, "true")
        except ValueError:
            return False

    def wait_healthy(self, timeout=20, members=None):
        for m in members or [m for m in self.members
                             if self.procs[m].poll() is None]:
            wait_for(lambda: self.healthy(m) or self._dead(m), timeout, 0.2,
                     "etcd member %s healthy" % m,
                     describe=lambda: self.log_tail(m))
            if self._dead(m):
                raise LabError("etcd member %s exited:\n%s"
                               % (m, self.log_tail(m)))

    def _dead(self, m):
        return self.procs[m].poll() is not None

    def kill(self, m, sig=signal.SIGKILL):
        p = self.procs[m]
        if p.poll() is None:
            p.send_signal(sig)
            if sig == signal.SIGKILL:
                p.wait(10)

    def log_tail(self, m, lines=30):
        try:
            with open(os.path.join(self.lab.dir, m, "etcd.log"),
                      errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    def blackhole(self, m):
        """Drop every TCP packet in and out of member m's namespace (its
        client and peer traffic), silently (no RST, no ICMP): a member
        that hangs."""
        self.lab._nft(m, "table inet fodlab_etcd {}\n"
                      "delete table inet fodlab_etcd\n"
                      "table inet fodlab_etcd {\n"
                      " chain input { type filter hook input priority -10;"
                      " meta l4proto tcp drop; }\n"
                      " chain output { type filter hook output priority -10;"
                      " meta l4proto tcp drop; }\n}\n")

    def unblackhole(self, m):
        self.lab._nft(m, "delete table inet fodlab_etcd\n")


class DaemonError(Exception):
    pass


class Daemon:
    """failoverd in host's namespace with <dir>/<host>/failoverd.conf;
    config is a dict (see Lab.config; default Lab.config(host)) or text."""

    def __init__(self, lab, host, config=None, start=True):
        self.lab, self.host = lab, host
        self.dir = lab.host_dir(host)
        self.conf = os.path.join(self.dir, "failoverd.conf")
        self.log_path = os.path.join(self.dir, "log")
        self.proc = None
        self.binary = FAILOVERD     # another build for upgrade tests
        lab.daemons.append(self)
        self.write_config(config if config is not None else lab.config(host))
        if start:
            self.start()

    def write_config(self, config):
        text = config if isinstance(config, str) else render_config(config)
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        if self.running:
            raise DaemonError("%s: already running" % self.host)
        with open(self.log_path, "ab") as log:
            log.write(b"--- fodlab: starting failoverd\n")
            log.flush()
            self.proc = self.lab.spawn(self.host, [self.binary, "-f",
                                                   self.conf, "-v"],
                                       stdout=log, stderr=subprocess.STDOUT)
        return self

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal the daemon and wait for it; returns its exit status."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise DaemonError("%s: still running %ss after signal %d; killed."
                              "\n%s" % (self.host, timeout, sig,
                                        self.log_tail()))

    def kill(self):
        return self.stop(signal.SIGKILL)

    def exited(self):
        """The exit status if the daemon has exited, else None."""
        return self.proc.poll() if self.proc else None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def ctl(self, *args, timeout=10):
        return run([FAILOVERCTL, "-f", self.conf] + list(args), check=False,
                   timeout=timeout)

    def status(self):
        """Parsed `failoverctl status --json` (exit 0 or 3); DaemonError if
        the daemon cannot be asked."""
        p = self.ctl("status", "--json")
        if p.returncode not in (0, 3):
            raise DaemonError("%s: failoverctl status: exit %d: %s"
                              % (self.host, p.returncode,
                                 (p.stderr or p.stdout).strip()))
        try:
            st = json.loads(p.stdout)
        except ValueError as e:
            raise DaemonError("%s: status --json is not JSON (%s): %r"
                              % (self.host, e, p.stdout[:500]))
        st["_exit"] = p.returncode
        return st

    def try_status(self):
        """status() or None (for polling while the daemon starts)."""
        try:
            return self.status()
        except DaemonError:
            return None

    def state(self):
        st = self.try_status()
        return st["state"] if st else None


class Prober:
    """build/prober in host's namespace, in the background."""

    def __init__(self, lab, host, addr, interval_ms=10, duration_ms=None,
                 count=None, csv=None):
        argv = [PROBER, "-i", str(interval_ms)]
        if duration_ms:
            argv += ["-d", str(duration_ms)]
        if count:
            argv += ["-c", str(count)]
        if csv:
            argv += ["-t", csv]
        argv.append(str(addr_only(addr)))
        self.csv = csv
        self.proc = lab.spawn(host, argv)
        self.stderr = ""

    def probes(self):
        """With csv: [(send_ms, rtt_ms or None)], send_ms from the first
        probe (its clock starts just after "ready")."""
        out = []
        with open(self.csv) as f:
            for line in f:
                row = line.strip().split(",")
                if len(row) >= 3:
                    out.append((float(row[1]),
                                float(row[2]) if row[2] else None))
        return out

    def wait_ready(self, timeout=5):
        """Wait for the prober's "ready" line (it sends at once after)."""
        self.stderr += wait_output(self.proc.stderr, "ready", timeout)

    def stop(self):
        """Ask the prober to finish (it then waits for late replies)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def result(self, timeout=30):
        """Wait for the end; the JSON summary as a dict."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("prober did not finish within %ss" % timeout)
        self.stderr += err.decode(errors="replace")
        if self.proc.returncode != 0:
            raise AssertionError("prober exit %d: %s" % (self.proc.returncode,
                                                         self.stderr))
        return json.loads(out.decode().strip().splitlines()[-1])


# --- removal of labs by prefix (also from the command line) ---

def list_namespaces():
    out = run(["ip", "-j", "netns", "list"], check=False).stdout
    try:
        return [n["name"] for n in json.loads(out or "[]")]
    except ValueError:
        return []


def remove_namespaces(prefix):
    errors = []
    for name in list_namespaces():
        if name.startswith(prefix + "-"):
            p = run(["ip", "netns", "del", name], check=False)
            if p.returncode != 0:
                errors.append("ip netns del %s: %s" % (name, p.stderr.strip()))
    return errors


def remove_lab(prefix):
    """Tear down a lab left by another process: kill the processes it
    recorded (if still the same processes), delete its namespaces and its
    directory (only if it carries our marker)."""
    d = "/tmp/" + prefix
    marked = os.path.isfile(os.path.join(d, MARKER))
    if marked and os.path.isfile(os.path.join(d, "pids")):
        with open(os.path.join(d, "pids")) as f:
            for line in f:
                try:
                    pid, start = line.split()
                    pid = int(pid)
                except ValueError:
                    continue
                if proc_starttime(pid) == start:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
    errors = remove_namespaces(prefix)
    if marked:
        shutil.rmtree(d, ignore_errors=True)
    return errors


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="fodlab.py", description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a lab and leave it running")
    up.add_argument("prefix", nargs="?")
    up.add_argument("--link2", action="store_true")
    up.add_argument("--hosts", default="alpha,beta,client")
    dn = sub.add_parser("down", help="remove the lab PREFIX")
    dn.add_argument("prefix")
    sub.add_parser("clean", help="remove every fodXXXXXX lab on this machine")
    args = ap.parse_args(argv)

    if os.geteuid() != 0:
        sys.exit("fodlab.py: needs root")
    if args.cmd == "up":
        lab = Lab(args.prefix, hosts=args.hosts.split(","), link2=args.link2,
                  persistent=True)
        try:
            lab.up()
        except LabError as e:
            sys.exit("fodlab.py: %s" % e)
        print("prefix %s, files in %s" % (lab.prefix, lab.dir))
        for h in [SW] + lab.hosts:
            print("  ip netns exec %s ..." % lab.ns(h))
        print("remove with: %s down %s" % (sys.argv[0], lab.prefix))
        return 0
    if args.cmd == "down":
        if not PREFIX_RE.match(args.prefix):
            sys.exit("fodlab.py: bad prefix %r" % args.prefix)
        errors = remove_lab(args.prefix)
    else:
        prefixes = {n.split("-", 1)[0] for n in list_namespaces()}
        prefixes |= {n for n in os.listdir("/tmp")
                     if os.path.isfile(os.path.join("/tmp", n, MARKER))}
        errors = []
        for prefix in sorted(p for p in prefixes if OURS_RE.match(p)):
            print("removing %s" % prefix)
            errors += remove_lab(prefix)
    for e in errors:
        print("fodlab.py: %s" % e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
