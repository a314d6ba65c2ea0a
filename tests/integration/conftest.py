"""Fixtures for the integration tests: one fresh lab (namespaces with a
per-run prefix) per test, removed afterwards whatever happens; on failure
the daemons' logs are printed into the report."""

import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                "scripts"))

import fodlab  # noqa: E402


def _interrupt(sig, frame):
    raise KeyboardInterrupt("signal %d" % sig)


def pytest_configure(config):
    # A SIGTERM (CI timeout, kill) unwinds like Ctrl-C: labs are removed.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def need_binaries():
    for path in (fodlab.FAILOVERD, fodlab.FAILOVERCTL, fodlab.PROBER):
        if not os.access(path, os.X_OK):
            pytest.fail("%s is missing: run `make` first (or `make "
                        "integration`)" % path, pytrace=False)


@pytest.fixture
def binaries():
    need_binaries()


@pytest.fixture
def lab(request):
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces (make integration "
                    "runs it through scripts/as-root)")
    need_binaries()
    lab = fodlab.Lab()
    lab.up()
    try:
        yield lab
    finally:
        failed = any(getattr(request.node, "rep_" + w, None) is not None and
                     getattr(request.node, "rep_" + w).failed
                     for w in ("setup", "call"))
        if failed:
            for d in lab.daemons:
                print("\n===== %s (%s) log =====\n%s"
                      % (d.host, lab.ns(d.host), d.log_tail(80)))
        lab.down()
