# failoverd — see README.md. `make`, `make check`, `make demo` (`make demo-quorum`), `make bench`, `make deb`, `make rpm`.
SHELL     := /bin/bash
VERSION   := $(shell cat VERSION)
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR   ?= /lib/systemd/system
DESTDIR   ?=

CC        ?= cc
PKGS      := libnl-route-3.0 libconfig libcrypto json-c
# libmicrohttpd and libcurl only for their headers: failoverd loads them
# when the config asks for metrics or quorum (daemon/dl.h).
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libmicrohttpd libcurl 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -DFOD_VERSION='"$(VERSION)"' $(WARN) $(PKG_CFLAGS)
# The heartbeat path runs with cold caches at 10 ms (daemon/hotpath.h):
# library calls through the GOT, not a page of PLT stubs, and switches as
# compares, not tables on a page of .rodata.
CFLAGS    += -fno-plt -fno-jump-tables
LDLIBS    += $(PKG_LIBS)

B         := build
CTL_SRCS  := daemon/failoverctl.c daemon/auth.c daemon/config.c daemon/log.c daemon/secpath.c
D_SRCS    := $(filter-out $(CTL_SRCS),$(wildcard daemon/*.c)) daemon/auth.c daemon/config.c daemon/log.c daemon/secpath.c
PURE_SRCS := daemon/fsm.c daemon/peers.c daemon/freshness.c daemon/proto.c daemon/auth.c daemon/config.c daemon/log.c daemon/secpath.c \
             daemon/etcd_json.c
UNIT_SRCS := $(PURE_SRCS) daemon/loop.c daemon/proc.c daemon/hooks.c daemon/checks.c \
             daemon/arbiter.c daemon/out.c daemon/status_write.c daemon/metrics.c daemon/dl.c
HDRS      := $(wildcard daemon/*.h)

SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
PYTEST    := /usr/bin/python3 -m pytest

.PHONY: all check unit fuzz fuzz-smoke integration demo demo-quorum bench deps install clean deb rpm

all: $(B)/failoverd $(B)/failoverctl $(B)/prober $(B)/etcdtool

$(B)/failoverd: $(sort $(D_SRCS)) $(HDRS) | $(B)
	$(CC) $(CFLAGS) -o $@ $(sort $(D_SRCS)) $(LDFLAGS) $(LDLIBS)

$(B)/failoverctl: $(CTL_SRCS) $(HDRS) | $(B)
	$(CC) $(CFLAGS) -o $@ $(CTL_SRCS) $(LDFLAGS) $(LDLIBS)

$(B)/prober: tests/tools/prober.c | $(B)
	$(CC) $(CFLAGS) -o $@ $< -lm

# Test driver of the etcd client (tests/integration/test_etcd.py); not installed.
ETCDTOOL_SRCS := tests/etcd/etcdtool.c daemon/etcd.c daemon/curl_dl.c daemon/dl.c daemon/etcd_json.c daemon/loop.c daemon/log.c
$(B)/etcdtool: $(ETCDTOOL_SRCS) $(HDRS) | $(B)
	$(CC) $(CFLAGS) -Idaemon -o $@ $(ETCDTOOL_SRCS) $(LDFLAGS) $(LDLIBS)

$(B) $(B)/unit $(B)/fuzz:
	mkdir -p $@

# Unit tests of the pure modules, under AddressSanitizer and UBSan; no root needed.
$(B)/unit/%: tests/unit/%.c $(UNIT_SRCS) $(HDRS) tests/unit/unit.h tests/unit/unit_sandbox.h | $(B)/unit
	$(CC) $(CFLAGS) -O1 $(SAN) -Idaemon -o $@ $< $(UNIT_SRCS) $(LDLIBS)

# role.c and faults.c against stubs of their I/O neighbours (link, holder,
# hooks, checks, arbiter, vip, sdnotify, log, the loop's timers and clocks),
# which the test itself defines: so not with $(UNIT_SRCS).
ROLE_TEST_SRCS := daemon/role.c daemon/faults.c daemon/fsm.c daemon/peers.c daemon/config.c
$(B)/unit/test_role: tests/unit/test_role.c $(ROLE_TEST_SRCS) $(HDRS) tests/unit/unit.h | $(B)/unit
	$(CC) $(CFLAGS) -O1 $(SAN) -Idaemon -o $@ $< $(ROLE_TEST_SRCS) $(LDLIBS)

unit: $(UNIT_TESTS)
	@set -e; cd tests/unit && for t in $(UNIT_TESTS); do ASAN_OPTIONS=detect_leaks=1 ../../$$t; done

# libFuzzer targets (clang). fuzz-smoke is the short run in `make check`; `make fuzz` runs longer.
FUZZ_CC   := clang
FUZZ_SECONDS ?= 60
$(B)/fuzz/%: tests/fuzz/%.c $(PURE_SRCS) $(HDRS) | $(B)/fuzz
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -DFOD_VERSION='"$(VERSION)"' -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(PKG_CFLAGS) -Idaemon \
	    -o $@ $< $(PURE_SRCS) $(LDLIBS)

fuzz-smoke: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); mkdir -p $(B)/fuzz/corpus-$$n; \
	  log=$(B)/fuzz/smoke-$$n.log; echo "fuzz smoke: $$n (whole output: $$log)"; \
	  if ! $$t -max_total_time=10 -print_final_stats=1 $(B)/fuzz/corpus-$$n tests/fuzz/corpus/$$n >$$log 2>&1; then \
	    tail -60 $$log; echo "fuzz smoke: $$n FAILED"; exit 1; fi; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss' $$log || true; done

fuzz: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); mkdir -p $(B)/fuzz/corpus-$$n; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz/corpus-$$n tests/fuzz/corpus/$$n; done

# Integration tests: real daemons in network namespaces; need root.
integration: all
	@scripts/as-root $(PYTEST) -q -p no:cacheprovider tests/integration

deps:
	@scripts/as-root scripts/install-deps

check:
	@scripts/as-root scripts/install-deps --quiet --bench
	$(MAKE) all unit fuzz-smoke
	$(MAKE) integration
	$(MAKE) test-packages
	@scripts/as-root tests/bench/run --quick

demo:
	@scripts/as-root scripts/install-deps --quiet
	$(MAKE) all
	@scripts/as-root scripts/demo

# the same network, three nodes and a three-member etcd cluster (quorum)
demo-quorum:
	@scripts/as-root scripts/install-deps --quiet
	$(MAKE) all
	@scripts/as-root scripts/demo --quorum

bench:
	@scripts/as-root scripts/install-deps --quiet --bench
	$(MAKE) all
	@scripts/as-root tests/bench/run

install: $(B)/failoverd $(B)/failoverctl install-data
	install -D -m 0755 $(B)/failoverd $(DESTDIR)$(SBINDIR)/failoverd
	install -D -m 0755 $(B)/failoverctl $(DESTDIR)$(SBINDIR)/failoverctl

clean:
	rm -rf $(B)

-include packaging/packaging.mk
include tests/tools/tools.mk

# Randomized fault injection (tests/integration/test_chaos.py): SEED=N (or
# random, printed) fixes the plan; STEPS=K steps; KINDS=a,b only those step
# kinds. `make check` runs the short default (seed 5, 12 steps) with the
# other integration tests.
SEED      ?= random
STEPS     ?= 40
KINDS     ?=
.PHONY: chaos
chaos: all
	@scripts/as-root env CHAOS_SEED=$(SEED) CHAOS_STEPS=$(STEPS) CHAOS_KINDS=$(KINDS) $(PYTEST) -q -p no:cacheprovider -s tests/integration/test_chaos.py::test_chaos
