"""Metrics (design 10, issue 13): GET /metrics on metrics.listen and
`failoverctl metrics`, as Prometheus and an operator see them.

- both outputs pass `promtool check metrics` and tell what status tells;
- a real Prometheus server in the client namespace scrapes both nodes every
  200 ms through a switchover and a crash, and its HTTP API shows each
  node's state series change;
- hostile clients of alpha's metrics port, from the client namespace: idle
  connections, 1 MiB of garbage, 1,000 parallel scrapes. None may delay a
  heartbeat (beta's status counters, a capture of alpha's heartbeats at
  beta), change a state, crash the daemon or grow its memory beyond a bound;
- a taken port stops the start with FILE:LINE of metrics.listen, and a
  reload moves, stops and starts the server (a taken port refuses it);
- libmicrohttpd is mapped only once metrics are asked for (at start or by
  a reload); without it, `failoverd -t` and such a reload name the line and
  the package, and the daemon runs on.

Figures (heartbeat gaps, memory) are printed: run with -s to see them.
promtool and prometheus come from Debian's prometheus package
(scripts/install-deps); without them those checks are skipped.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse

import pytest

from helpers import (HOSTS, PY, capture, finish, settled, start_pair,
                     wait_for, wait_output, without_library)
from test_adversarial import Calm
import fodlab

HERE = os.path.dirname(os.path.abspath(__file__))
SCRAPER = os.path.join(HERE, "scraper.py")
A4, B4 = HOSTS["alpha"]["v4"], HOSTS["beta"]["v4"]
PORT = 9694
ADDR = {"alpha": A4, "beta": B4}
INTERVAL_MS, DEAD_MS = 20, 100          # fodlab.FAST
RSS_BOUND_KIB = 8 * 1024                # growth allowed by a hostile test
DASHBOARD = os.path.join(fodlab.REPO, "docs", "grafana", "failoverd.json")
GRAFANA_VARS = {"$instance": ".*", "$group": ".*", "$__rate_interval": "1m",
                "$__range": "5m"}


def metrics_conf(lab, host, listen=None):
    c = lab.config(host)
    c["metrics"] = {"listen": listen or "%s:%d" % (ADDR[host], PORT)}
    return c


def start(lab):
    return start_pair(lab, metrics_conf(lab, "alpha"),
                      metrics_conf(lab, "beta"))


def scraper_argv(*args):
    return [PY, SCRAPER] + [str(a) for a in args]


def scraper(lab, *args, timeout=120):
    """Run scraper.py in the client namespace; its JSON summary."""
    p = lab.ns_exec("client", scraper_argv(*args), timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def scrape(lab, host, port=PORT, path="/metrics", method="GET"):
    return scraper(lab, "get", ADDR[host], port, "--path", path, "--method",
                   method, "--wait-s", 5)


def refused(lab, host, port):
    p = lab.ns_exec("client", scraper_argv("get", ADDR[host], port,
                                           "--wait-s", 2),
                    check=False, timeout=30)
    return p.returncode != 0 and "ConnectionRefusedError" in p.stderr


def samples(text):
    """{(name, ((label, value), ...)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, rest = series.partition("{")
        labels = []
        for part in rest.rstrip("}").split('",') if rest else []:
            k, _, v = part.partition('="')
            labels.append((k, v.rstrip('"')))
        out[(name, tuple(labels))] = float(value)
    return out


def value(text, name, **labels):
    return samples(text).get((name, tuple(labels.items())))


def promtool(text, what):
    if shutil.which("promtool") is None:
        print("promtool not installed: %s not checked by it" % what)
        return
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "promtool on %s: %s%s" % (what, p.stdout,
                                                       p.stderr)


def dashboard_queries():
    """{panel title: [PromQL]} of the Grafana dashboard, variables filled."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    out = {}
    for p in dash["panels"]:
        for t in p.get("targets", []):
            q = t["expr"]
            for k, v in GRAFANA_VARS.items():
                q = q.replace(k, v)
            out.setdefault(p["title"], []).append(q)
    return out


def rss_kib(pid):
    """(VmRSS, VmHWM) of pid in KiB."""
    got = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                got[k] = int(v.split()[0])
    return got["VmRSS"], got["VmHWM"]


def blocker(lab, host, addr, port):
    """A process in host that listens on addr:port (so it is taken)."""
    code = ("import socket, sys, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
            "s.bind((%r, %d)); s.listen(1)\n"
            "print('ready', file=sys.stderr, flush=True)\n"
            "time.sleep(120)\n" % (addr, port))
    p = lab.spawn(host, [PY, "-c", code])
    wait_output(p.stderr, "ready", 10)
    return p


class Heartbeats:
    """What a hostile client of alpha's metrics port must not change:
    alpha's heartbeats reach beta on time (beta's received counter, the
    arrival times of a capture at beta), alpha's and beta's transitions and
    the VIP holders, alpha's memory (within RSS_BOUND_KIB)."""

    def __init__(self, lab, a, b, window_ms):
        self.lab, self.a, self.b = lab, a, b
        self.calm = Calm(lab, a, b)
        self.rss0, _ = rss_kib(a.pid)
        self.path = os.path.join(lab.dir, "hb-%d.jsonl" % time.monotonic_ns())
        self.cap = capture(lab, "beta", A4, window_ms, self.path)
        self.recv0 = b.status()["counters"]["received"]
        self.late0 = (a.status()["counters"]["late"],
                      b.status()["counters"]["late"])
        self.t0 = time.monotonic()

    def check(self, what):
        """After the hostile part, once the capture ended: the figures."""
        finish(self.cap, timeout=60)
        dt = time.monotonic() - self.t0
        sa, sb = self.a.status(), self.b.status()
        recv = sb["counters"]["received"] - self.recv0
        with open(self.path) as f:
            times = [json.loads(line)["t"] for line in f]
        gaps = [y - x for x, y in zip(times, times[1:])]
        rss, hwm = rss_kib(self.a.pid)
        fig = {"what": what, "seconds": round(dt, 2),
               "beta_received": recv,
               "expected": int(dt * 1000 / INTERVAL_MS),
               "captured": len(times),
               "max_gap_ms": round(max(gaps) * 1000, 1),
               "gaps_over_2_intervals": sum(g > 2 * INTERVAL_MS / 1000
                                            for g in gaps),
               "rss_kib_before": self.rss0, "rss_kib_after": rss,
               "hwm_kib": hwm}
        print("\nheartbeats and memory during %s: %s" % (what, json.dumps(fig)))
        assert self.a.running, "alpha died during %s:\n%s" % (
            what, self.a.log_tail())
        self.calm.check(what)
        assert (sa["counters"]["late"], sb["counters"]["late"]) == self.late0
        assert recv >= 0.9 * fig["expected"], fig
        assert max(gaps) < DEAD_MS / 1000, fig
        assert rss - self.rss0 < RSS_BOUND_KIB, fig
        # and it still serves
        assert scrape(self.lab, "alpha")["status"] == 200
        return fig


# --- what it says ----------------------------------------------------------

def test_scrape_and_ctl_agree_with_status(lab):
    a, b = start(lab)
    st = a.status()
    r = scrape(lab, "alpha")
    assert r["status"] == 200, r
    assert r["headers"]["content-type"].startswith("text/plain; version=0.0.4")
    text = r["body"]
    promtool(text, "GET /metrics")
    p = a.ctl("metrics")
    assert p.returncode == 0, p.stderr
    promtool(p.stdout, "failoverctl metrics")
    # the same series both ways (ages and counters move on in between)
    assert samples(p.stdout).keys() == samples(text).keys()

    with open(os.path.join(fodlab.REPO, "VERSION")) as f:
        version = f.read().strip()
    assert value(text, "failoverd_node_info", node="alpha", version=version,
                 cluster_id="1") == 1
    assert value(text, "failoverd_epoch") == st["epoch"]
    assert value(text, "failoverd_group_state", group="default",
                 state="active") == 1
    assert value(text, "failoverd_group_state", group="default",
                 state="standby") == 0
    assert value(text, "failoverd_group_transitions_total", group="default",
                 **{"from": "init", "to": "active",
                    "reason": "election"}) == 1
    assert value(text, "failoverd_group_priority", group="default") == 150
    assert value(text, "failoverd_group_vips_expected", group="default") == 2
    assert value(text, "failoverd_group_vips_present", group="default") == 2
    assert value(text, "failoverd_peer_info", peer="beta") == 1
    assert value(text, "failoverd_peer_up") == 1
    link = {"link": "0", "interface": "eth0", "peer": B4}
    assert value(text, "failoverd_link_up", **link) == 1
    assert value(text, "failoverd_link_heartbeats_sent_total", **link) > 0
    assert value(text, "failoverd_link_heartbeats_received_total", **link) > 0
    assert 0 < value(text, "failoverd_link_rtt_seconds", **link) < 0.1
    for reason in ("auth", "replay", "late", "malformed", "foreign",
                   "wrong_source", "version", "unconfirmed"):
        assert value(text, "failoverd_packets_dropped_total",
                     reason=reason) is not None, reason
    assert value(text, "failoverd_announce_packets_total", kind="arp") >= 1
    assert value(text, "failoverd_announce_packets_total", kind="na") >= 1
    b_text = scrape(lab, "beta")["body"]
    assert value(b_text, "failoverd_group_state", group="default",
                 state="standby") == 1

    # only GET and HEAD, only /metrics
    assert scrape(lab, "alpha", path="/")["status"] == 404
    r = scrape(lab, "alpha", method="POST")
    assert r["status"] == 405 and r["headers"]["allow"] == "GET, HEAD", r
    r = scrape(lab, "alpha", method="HEAD")
    assert r["status"] == 200 and r["body"] == "", r


# --- a real Prometheus -----------------------------------------------------

class Prometheus:
    """prometheus in the client namespace, scraping both nodes every 200 ms,
    with its storage under the lab's directory; killed by stop() (and by
    the lab at the end whatever happens)."""

    def __init__(self, lab):
        self.lab = lab
        self.dir = os.path.join(lab.dir, "prometheus")
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "prometheus.yml")
        self.logf = open(os.path.join(self.dir, "log"), "w")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 200ms\n"
                    "  scrape_timeout: 150ms\nscrape_configs:\n"
                    "  - job_name: failoverd\n    static_configs:\n"
                    "      - targets: [\"%s:%d\", \"%s:%d\"]\n"
                    % (A4, PORT, B4, PORT))
        self.port = int(lab.ns_exec("client", [PY, "-c",
            "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
            "print(s.getsockname()[1])"]).stdout)
        self.proc = lab.spawn("client", [
            "prometheus", "--config.file=" + conf,
            "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
            "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=subprocess.DEVNULL, stderr=self.logf)
        wait_for(lambda: self.get("/-/ready") == 200, 30,
                 msg="prometheus to be ready", describe=self.log)

    def log(self):
        with open(os.path.join(self.dir, "log")) as f:
            return f.read()[-3000:]

    def get(self, path):
        p = self.lab.ns_exec("client", scraper_argv(
            "get", "127.0.0.1", self.port, "--path", path, "--wait-s", 10),
            check=False)
        if p.returncode != 0:
            return None
        r = json.loads(p.stdout.strip().splitlines()[-1])
        return r["status"] if path.startswith("/-/") else r

    def api(self, path, **params):
        r = self.get("/api/v1/%s?%s" % (path, urllib.parse.urlencode(params)))
        assert r and r["status"] == 200, r
        return json.loads(r["body"])["data"]["result"]

    def now(self, expr):
        """{instance: value} of an instant query."""
        return {x["metric"]["instance"].split(":")[0]: float(x["value"][1])
                for x in self.api("query", query=expr)}

    def history(self, expr, start):
        """{instance: [values, changes only]} from start until now (the
        last step a little after now: steps fall on start + k * step)."""
        out = {}
        for x in self.api("query_range", query=expr, start=start,
                          end=time.time() + 0.4, step="0.2"):
            vals = []
            for _, v in x["values"]:
                if not vals or vals[-1] != float(v):
                    vals.append(float(v))
            out[x["metric"]["instance"].split(":")[0]] = vals
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.logf.close()


@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="prometheus not installed (scripts/install-deps)")
def test_prometheus_sees_failover(lab):
    a, b = start(lab)
    prom = Prometheus(lab)
    try:
        t0 = time.time()
        active = 'failoverd_group_state{state="active"}'
        wait_for(lambda: prom.now("up") == {A4: 1, B4: 1}, 30,
                 msg="prometheus to scrape both nodes", describe=prom.log)
        wait_for(lambda: prom.now(active) == {A4: 1, B4: 0}, 10,
                 msg="prometheus to see alpha active")

        # a switchover: both still scraped, the states swap
        assert a.ctl("switchover").returncode == 0
        settled(lab, b, a)
        wait_for(lambda: prom.now(active) == {A4: 0, B4: 1}, 10,
                 msg="prometheus to see beta active")
        want = {A4: [1, 0], B4: [0, 1]}
        seen = wait_for(lambda: prom.history(active, t0) == want and want, 5,
                        msg="the switchover in prometheus's history",
                        describe=lambda: repr(prom.history(active, t0)))
        print("\nprometheus, active series through the switchover: %r" % seen)
        moved = prom.now('failoverd_group_transitions_total{from="standby",'
                         'to="active"}')
        assert moved.get(B4) == 1, moved

        # a crash of the active node: alpha takes over, beta is down
        t1 = time.time()
        b.kill()
        wait_for(lambda: prom.now("up") == {A4: 1, B4: 0} and
                 prom.now(active).get(A4) == 1, 10,
                 msg="prometheus to see beta down and alpha active")
        seen = wait_for(lambda: prom.history(active, t1).get(A4) == [0, 1]
                        and prom.history(active, t1), 5,
                        msg="the takeover in prometheus's history",
                        describe=lambda: repr(prom.history(active, t1)))
        print("prometheus, active series through the crash: %r" % seen)
        took = prom.now('failoverd_group_transitions_total{from="standby",'
                        'to="active",reason="peer-dead"}')
        assert took == {A4: 1}, took

        # every query of the Grafana dashboard runs; its state timeline
        # codes the states 0 init .. 5 stopping
        queries = dashboard_queries()
        for title, qs in queries.items():
            for q in qs:
                prom.api("query", query=q)
        state = queries["State of each group"][0]
        assert prom.now(state) == {A4: 2}, prom.now(state)
    finally:
        prom.stop()
    assert prom.proc.returncode is not None


# --- hostile clients -------------------------------------------------------

def test_idle_connections(lab):
    """70 connections that send nothing: the first 64 (the limit) are
    closed after 5 s of silence, the rest wait in the backlog and are
    closed 5 s after they are accepted; meanwhile failoverctl metrics
    works, and afterwards a scrape does."""
    a, b = start(lab)
    hb = Heartbeats(lab, a, b, 13000)
    p = lab.spawn("client", scraper_argv("idle", A4, PORT, "--count", 70,
                                         "--wait-s", 20))
    wait_output(p.stderr, "ready", 10)
    ctl = a.ctl("metrics")
    assert ctl.returncode == 0 and "failoverd_group_state" in ctl.stdout
    out, _ = p.communicate(timeout=60)
    got = json.loads(out.decode().strip().splitlines()[-1])
    assert got["closed"] == 70 and got["bytes_received"] == 0, got
    assert 4.5 <= got["first_closed_s"] <= 7, got
    assert got["last_closed_s"] <= 13, got
    hb.check("70 idle connections")


def test_garbage(lab):
    """1 MiB of random bytes, then 1 MiB of letters in a header line: each
    connection is answered 400 (or 431) and closed once MHD's 16 KiB buffer
    holds no request; nothing else happens."""
    a, b = start(lab)
    hb = Heartbeats(lab, a, b, 3000)
    for extra in ([], ["--ascii", "--prefix",
                       "GET /metrics HTTP/1.1\r\nX-Junk: "]):
        got = scraper(lab, "garbage", A4, PORT, "--wait-s", 10, *extra)
        print("\n1 MiB of garbage %s: %s" % (extra[:1], json.dumps(got)))
        assert got["closed"] and got["seconds"] < 5, got
        assert got["status"] in (None, 400, 413, 431), got
    hb.check("1 MiB of garbage, twice")


def test_1000_parallel_scrapes(lab):
    """1,000 connections at once, each asking for /metrics: 64 are served
    at a time, the others wait in the backlog (or retry their SYN); every
    one gets the whole text."""
    a, b = start(lab)
    hb = Heartbeats(lab, a, b, 8000)
    got = scraper(lab, "parallel", A4, PORT, "--count", 1000, "--wait-s", 60)
    assert got["results"] == {"ok": 1000}, got
    hb.check("1,000 parallel scrapes (%.1f s)" % got["seconds"])


# --- start and reload ------------------------------------------------------

def listen_line(d):
    with open(d.conf) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("metrics"):
                return n
    raise AssertionError("no metrics line in %s" % d.conf)


def test_port_taken_stops_the_start(lab):
    blocker(lab, "alpha", A4, PORT)
    a = lab.daemon("alpha", metrics_conf(lab, "alpha"))
    wait_for(lambda: a.exited() is not None, 10,
             msg="alpha to refuse to start")
    assert a.exited() == 1
    want = "%s:%d: metrics.listen %s:%d: Address already in use" % (
        a.conf, listen_line(a), A4, PORT)
    assert want in a.log(), a.log_tail()
    assert not os.path.exists(os.path.join(a.dir, "run", "control.sock"))
    assert lab.vip_holders(fodlab.VIP4) == []


def mapped(pid):
    """The file names of pid's mappings."""
    with open("/proc/%d/maps" % pid) as f:
        return {line.split()[-1] for line in f if "/" in line}


def test_library_only_with_metrics(lab):
    """libmicrohttpd (and the GnuTLS it links) is mapped only once the
    config asks for metrics; a reload that asks loads it and serves."""
    a = lab.daemon("alpha", lab.config("alpha"))
    wait_for(lambda: a.state() == "active", 10, msg="alpha active")
    libs = " ".join(sorted(mapped(a.pid)))
    assert "libmicrohttpd" not in libs and "libgnutls" not in libs, libs
    assert refused(lab, "alpha", PORT)
    a.write_config(metrics_conf(lab, "alpha"))
    p = a.ctl("reload")
    assert p.returncode == 0, p
    assert scrape(lab, "alpha")["status"] == 200
    assert any("libmicrohttpd" in m for m in mapped(a.pid))
    assert a.state() == "active"
    assert a.stop(signal.SIGTERM) == 0


def test_missing_library_refused(lab):
    """Without libmicrohttpd, `failoverd -t` and a reload that turns
    metrics on name the line and the package; the daemon runs on."""
    binary = without_library(lab, "libmicrohttpd.so.12")
    a = lab.daemon("alpha", metrics_conf(lab, "alpha"), start=False)
    want = "%s:%d: metrics need libmicrohttpd (libmicrohttpd.so.12): " % (
        a.conf, listen_line(a))
    p = subprocess.run([binary, "-t", "-f", a.conf], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1, p
    assert want in p.stderr and "; install it (Debian: libmicrohttpd12" \
        in p.stderr, p.stderr
    assert "configuration OK" not in p.stdout
    a.write_config(lab.config("alpha"))
    a.binary = binary
    a.start()
    wait_for(lambda: a.state() == "active", 10, msg="alpha active")
    a.write_config(metrics_conf(lab, "alpha"))
    p = a.ctl("reload")
    assert p.returncode == 1, p
    assert want in p.stdout + p.stderr, p
    assert refused(lab, "alpha", PORT)
    assert a.state() == "active"
    assert a.stop(signal.SIGTERM) == 0


def test_reload_moves_the_server(lab):
    a = lab.daemon("alpha", metrics_conf(lab, "alpha"))
    wait_for(lambda: a.state() == "active", 10, msg="alpha active")
    assert scrape(lab, "alpha")["status"] == 200

    def reload(listen):
        c = lab.config("alpha")
        if listen:
            c["metrics"] = {"listen": listen}
        a.write_config(c)
        return a.ctl("reload")

    # a taken port: refused, with the line; the old address still serves
    blocker(lab, "alpha", A4, PORT + 1)
    p = reload("%s:%d" % (A4, PORT + 1))
    assert p.returncode == 1, p
    want = "%s:%d: metrics.listen %s:%d: Address already in use" % (
        a.conf, listen_line(a), A4, PORT + 1)
    assert want in p.stdout + p.stderr, p
    assert scrape(lab, "alpha")["status"] == 200

    p = reload("%s:%d" % (A4, PORT + 2))
    assert p.returncode == 0, p
    assert scrape(lab, "alpha", port=PORT + 2)["status"] == 200
    assert refused(lab, "alpha", PORT)
    assert reload(None).returncode == 0
    assert refused(lab, "alpha", PORT + 2)
    assert reload("%s:%d" % (A4, PORT)).returncode == 0
    text = scrape(lab, "alpha")["body"]
    assert value(text, "failoverd_reloads_total", result="ok") == 3
    assert value(text, "failoverd_reloads_total", result="failed") == 1
    assert a.state() == "active"
    assert a.stop(signal.SIGTERM) == 0
