"""Helpers shared by the integration tests: what a user would look at
(who holds the VIPs, what the statuses say), polled with deadlines."""

import json
import os
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                "scripts"))

import fodlab  # noqa: E402
from fodlab import HOSTS, VIP4, VIP6, wait_for, wait_output  # noqa: E402,F401

HBTOOL = os.path.join(HERE, "hbtool.py")
PY = "/usr/bin/python3"
VIPS = (VIP4, VIP6)


def holders(lab):
    """{vip: [hosts holding it]} for both VIPs."""
    return {v: lab.vip_holders(v) for v in VIPS}


def only_holder(lab, host):
    """True if host, and nobody else, holds both VIPs."""
    return all(h == [host] for h in holders(lab).values())


def holds(lab, host):
    """True if host holds both VIPs (others may too)."""
    return all(host in h for h in holders(lab).values())


def snapshot(lab):
    """What a person would look at when something is wrong."""
    lines = ["holders: %r" % holders(lab)]
    for d in lab.daemons:
        st = d.try_status()
        if st is not None:
            st = {k: st.get(k) for k in ("state", "reason", "peer",
                                          "counters", "transitions")}
        lines.append("%s: running=%s status=%s" % (d.host, d.running,
                                                   json.dumps(st)))
    return "\n".join(lines)


def agree(act, sby):
    """Both statuses say act is active and sby standby, and each names the
    other as its peer in the state the other reports. (status, status) or
    None."""
    sa, sb = act.try_status(), sby.try_status()
    if sa is None or sb is None:
        return None
    ok = (sa["state"] == "active" and sb["state"] == "standby" and
          sa["node"] == act.host and sb["node"] == sby.host and
          sa["peer"]["known"] and sb["peer"]["known"] and
          sa["peer"]["name"] == sby.host and sb["peer"]["name"] == act.host
          and sa["peer"]["state"] == "standby" and
          sb["peer"]["state"] == "active")
    return (sa, sb) if ok else None


def settled(lab, act, sby, timeout=10):
    """Poll until act alone holds both VIPs and both statuses agree;
    returns the two statuses."""
    return wait_for(lambda: only_holder(lab, act.host) and agree(act, sby),
                    timeout, msg="%s active and sole VIP holder, %s standby"
                    % (act.host, sby.host), describe=lambda: snapshot(lab))


def start_pair(lab, alpha=None, beta=None):
    """Start alpha and beta (configs default to lab.config) and wait until
    alpha holds the VIPs and beta is standby."""
    a = lab.daemon("alpha", alpha)
    b = lab.daemon("beta", beta)
    settled(lab, a, b)
    return a, b


def state_is(d, state):
    st = d.try_status()
    return st if st is not None and st["state"] == state else None


def counter(d, name):
    st = d.try_status()
    return st["counters"][name] if st else None


def hbtool(lab, host, *args, timeout=60):
    """Run hbtool.py in host's namespace; its JSON summary."""
    p = lab.ns_exec(host, [PY, HBTOOL] + [str(a) for a in args],
                    timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def hbtool_bg(lab, host, *args):
    """Start hbtool.py in host's namespace in the background (tracked)."""
    return lab.spawn(host, [PY, HBTOOL] + [str(a) for a in args])


def finish(proc, timeout=30):
    """Wait for a background hbtool; its JSON summary."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, "hbtool failed: %s" % err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


def capture(lab, host, src, duration_ms, out):
    """Record heartbeats from src arriving in host for duration_ms; returns
    the running process once it is listening."""
    p = hbtool_bg(lab, host, "capture", "--src", src, "--duration-ms",
                  duration_ms, "--out", out, "--port", lab.port)
    wait_output(p.stderr, "ready", 10)
    return p


def assert_secure(path):
    """What the daemon demands of a hook: it and every directory above it
    root-owned and not writable by group or others (sticky dirs aside)."""
    p = os.path.realpath(path)
    while True:
        st = os.stat(p)
        assert st.st_uid == 0, "%s is not owned by root" % p
        sticky = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
        assert sticky or not st.st_mode & 0o022, \
            "%s is writable by group or others (%o)" % (p, st.st_mode)
        if p == "/":
            return
        p = os.path.dirname(p)


def snmp(lab, host, proto, field):
    """A counter of host's namespace from /proc/net/snmp: proto "Icmp",
    "Udp", ...; field "InDestUnreachs", "RcvbufErrors", ..."""
    rows = [line.split() for line in lab.ns_exec(
        host, ["cat", "/proc/net/snmp"]).stdout.splitlines()
        if line.startswith(proto + ":")]
    return int(dict(zip(rows[0][1:], rows[1][1:])).get(field, 0))


def without_library(lab, soname):
    """A failoverd that runs with the library soname hidden (/dev/null
    mounted over it in a mount namespace of its own): what a node without
    the package sees."""
    libs = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                          check=True).stdout
    # this machine's, not another architecture's (multiarch)
    arch = {"x86_64": ",x86-64)", "aarch64": ",AArch64)"}.get(
        os.uname().machine, "")
    lib = [line.split("=>")[1].strip() for line in libs.splitlines()
           if line.strip().startswith(soname + " ") and arch in line][0]
    path = os.path.join(lab.dir, "failoverd-without-" + soname)
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec unshare -m --propagation private sh -c "
                "'mount --bind /dev/null \"$0\" && exec \"$@\"' %s %s \"$@\"\n"
                % (os.path.realpath(lib), fodlab.FAILOVERD))
    os.chmod(path, 0o755)
    return path
