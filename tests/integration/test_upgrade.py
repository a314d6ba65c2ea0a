"""Rolling upgrade (issue 12): a pair running 0.1 (commit e446cb3, built
here from git) is upgraded one node at a time to this build. A node whose
config has only top-level vips speaks protocol version 1, so the old and
the new node understand each other throughout: the VIPs are never lost
(1 ms probes) and never held twice beyond a handover's overlap.
"""

import os
import subprocess
import time

import pytest

import fodlab
from helpers import VIP4, only_holder, settled, snapshot, wait_for
from test_holes import HANDOVER_OVERLAP_S, Timeline

RELEASE = "e446cb3"     # 0.1 as released


@pytest.fixture(scope="module")
def old_failoverd(tmp_path_factory):
    """failoverd of RELEASE, built from this repository's history."""
    d = tmp_path_factory.mktemp("release")
    git = subprocess.run(["git", "-C", fodlab.REPO, "archive", RELEASE],
                         capture_output=True)
    if git.returncode != 0:
        pytest.fail("cannot read commit %s from git (a shallow clone?): %s"
                    % (RELEASE, git.stderr.decode()), pytrace=False)
    subprocess.run(["tar", "-x", "-C", str(d)], input=git.stdout, check=True)
    make = subprocess.run(["make", "-C", str(d), "build/failoverd"],
                          capture_output=True, text=True)
    assert make.returncode == 0, make.stdout + make.stderr
    return os.path.join(str(d), "build", "failoverd")


def restart_as(d, binary):
    assert d.stop() == 0, d.log_tail()
    d.binary = binary
    d.start()


def test_rolling_upgrade_from_0_1_loses_nothing(lab, old_failoverd):
    a = lab.daemon("alpha", start=False)
    b = lab.daemon("beta", start=False)
    a.binary = b.binary = old_failoverd
    a.start()
    b.start()
    settled(lab, a, b)
    tl = Timeline(lab)
    t0 = time.time()
    p = lab.prober("client", VIP4, interval_ms=1)
    p.wait_ready()
    # the standby first, then the active node (its VIPs go to the new
    # standby and come back by preemption)
    restart_as(b, fodlab.FAILOVERD)
    settled(lab, a, b)
    restart_as(a, fodlab.FAILOVERD)
    settled(lab, a, b)
    wait_for(lambda: only_holder(lab, "alpha"), 5, msg="alpha to hold the VIPs",
             describe=lambda: snapshot(lab))
    time.sleep(0.3)
    p.stop()
    r = p.result()
    assert r["lost"] == 0, (r, snapshot(lab))
    tl.assert_overlap_within(HANDOVER_OVERLAP_S, since=t0)
    for d in (a, b):
        st = d.status()
        assert st["counters"]["bad_version"] == 0, st["counters"]
        assert st["counters"]["dual_active"] == 0, st["counters"]
