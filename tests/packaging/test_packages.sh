#!/bin/bash
# Packages as an operator gets them (needs root and the Debian mirror; a few
# minutes). Builds the .deb and the .rpm with `make deb rpm`, checks what they
# hold, lints the .deb, then installs it with apt into a fresh Debian root made
# by debootstrap and, there:
#   - runs failoverd -V, failoverctl keygen and the unit's ExecStartPre line
#     (failoverd -t -f /etc/failoverd/failoverd.conf);
#   - runs a pair of daemons from the installed binaries with the unit's
#     ExecStart line, each in its own network namespace (joined by a veth
#     pair) with its own config, runtime and state directories bind-mounted
#     over the packaged paths, and checks the VIP, failoverctl status and a
#     graceful handover;
#   - runs the core integration tests (tests/integration/test_core.py) with
#     the installed failoverd and failoverctl in place of build/;
#   - upgrades to a newer build (the operator's config stays) and purges;
#   - adds systemd to that root and boots it with systemd-nspawn: the unit
#     stays inactive without a key, starts (Type=notify) with the shipped
#     config once a key exists, pets the watchdog, reloads, is restarted by
#     an upgrade, stays stopped across one when stopped, and is stopped, its
#     VIP released, by removal.
# Prints "test_packages: N passed, N failed".
#
# Environment: FOD_DEBIAN_MIRROR (default: from this host's apt sources),
# FOD_DEBOOTSTRAP_CACHE (downloaded .debs, reused between runs; default
# /var/tmp/fod-debootstrap-cache), FOD_KEEP=1 keeps the work directory.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
version=$(cat VERSION)
run=fodpkg$$
work=$(mktemp -d /var/tmp/fod-packages.XXXXXX)
root=$work/root
nsa=$run-a
nsb=$run-b
pids=()
pass=0
fail=0
t0=$SECONDS

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: one assertion
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
step() { echo "== $* ($((SECONDS - t0)) s)"; }

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	if [ "${FOD_KEEP:-0}" = 1 ]; then
		echo "kept $work"
	else
		# The daemons' mounts lived in their own mount namespaces, gone
		# with them; --one-file-system guards against any that were not.
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	while ! "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

if [ "$(id -u)" -ne 0 ]; then
	echo "test_packages: needs root (debootstrap, chroot, network namespaces)" >&2
	exit 1
fi
missing=
for t in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian rpmbuild:rpm \
    debootstrap:debootstrap systemd-analyze:systemd systemd-nspawn:systemd-container \
    ip:iproute2 nsenter:util-linux pgrep:procps; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
if [ -n "$missing" ]; then
	echo "test_packages: missing tools; apt-get install$missing" >&2
	exit 1
fi

# ---------------------------------------------------------------- build
step "make deb rpm"
deb=packaging/out/failoverd_${version}_$(dpkg --print-architecture).deb
rpmf=$(echo packaging/out/failoverd-"$version"-1.*.rpm)
if make -s deb >"$work/deb.log" 2>&1; then ok "make deb"
else bad "make deb (log follows)"; tail -30 "$work/deb.log"; fi
if make -s rpm >"$work/rpm.log" 2>&1; then ok "make rpm"
else bad "make rpm (log follows)"; tail -30 "$work/rpm.log"; fi
rpmf=$(ls packaging/out/failoverd-"$version"-1.*.rpm 2>/dev/null | head -1)
check "deb built: $deb" test -f "$deb"
check "rpm built: ${rpmf:-none}" test -n "$rpmf"
check "no debian/ directory left at the top of the tree" test ! -e debian

# ---------------------------------------------------------------- deb contents
step "deb contents"
if [ -f "$deb" ]; then
	dpkg-deb -c "$deb" | awk '{ print $1, $6 }' >"$work/deb.list"
	# has MODE PATH: the package holds PATH with mode MODE (ls -l style)
	has() { grep -qxF -e "$1 $2" "$work/deb.list"; }
	check "deb: /usr/sbin/failoverd 0755" has -rwxr-xr-x ./usr/sbin/failoverd
	check "deb: /usr/sbin/failoverctl 0755" has -rwxr-xr-x ./usr/sbin/failoverctl
	check "deb: failoverd.conf" has -rw-r--r-- ./etc/failoverd/failoverd.conf
	for k in promote.d demote.d notify.d fence.d; do
		check "deb: hooks/$k/" has drwxr-xr-x ./etc/failoverd/hooks/$k/
	done
	# every README and example of the tree, disabled (not executable)
	while read -r f; do
		check "deb: hooks/$f 0644" has -rw-r--r-- "./etc/failoverd/hooks/$f"
	done < <(cd etc/hooks 2>/dev/null && find . -type f \( -name 'README*' -o -name '*.example' \) | sed 's,^\./,,' | LC_ALL=C sort)
	check "deb: unit in /lib/systemd/system" has -rw-r--r-- ./lib/systemd/system/failoverd.service
	for m in man8/failoverd.8 man5/failoverd.conf.5 man8/failoverctl.8; do
		check "deb: $m" has -rw-r--r-- ./usr/share/man/$m.gz
	done
	check "deb: README.md as doc" grep -qE ' \./usr/share/doc/failoverd/README\.md(\.gz)?$' "$work/deb.list"
	check "deb: metrics.md as doc" grep -qE ' \./usr/share/doc/failoverd/metrics\.md(\.gz)?$' "$work/deb.list"
	check "deb: Grafana dashboard as doc" grep -qE ' \./usr/share/doc/failoverd/failoverd\.json(\.gz)?$' "$work/deb.list"
	check "deb: Version is VERSION ($version)" test "$(dpkg-deb -f "$deb" Version)" = "$version"
	dpkg-deb -I "$deb" conffiles >"$work/conffiles" 2>/dev/null
	check "deb: failoverd.conf is a conffile" grep -qxF /etc/failoverd/failoverd.conf "$work/conffiles"
	deps=$(dpkg-deb -f "$deb" Depends)
	for l in libnl-3-200 libnl-route-3-200 libconfig9 libssl3 libmicrohttpd12 libcurl4; do
		check "deb: Depends names $l" grep -q "\b$l\b" <<<"$deps"
	done

	step "lintian"
	lintian --pedantic "$deb" >"$work/lintian.log" 2>&1
	lrc=$?
	sed 's/^/  /' "$work/lintian.log"
	check "lintian ran and passed (exit status $lrc)" test "$lrc" -eq 0
	check "lintian: no errors" test "$(grep -c '^E: ' "$work/lintian.log")" -eq 0

	step "unit"
	mkdir -p "$work/x"
	dpkg-deb -x "$deb" "$work/x"
	unit=$work/x/lib/systemd/system/failoverd.service
	# Unknown keys and bad values are reported; commands absent on this
	# host (the package is not installed here) are not the unit's fault.
	systemd-analyze verify --man=no "$unit" 2>&1 |
	    grep -v 'is not executable: No such file or directory' >"$work/verify.log"
	check "systemd-analyze verify: no complaint$(sed 's/^/; /' "$work/verify.log" | tr -d '\n')" \
	    test ! -s "$work/verify.log"
	for kv in Type=notify NotifyAccess=main WatchdogSec=5s Restart=on-failure \
	    RuntimeDirectory=failoverd StateDirectory=failoverd KillMode=mixed \
	    ConditionPathExists=/etc/failoverd/cluster.key \
	    'ExecReload=/bin/kill -HUP $MAINPID' \
	    'ExecStartPre=/usr/sbin/failoverd -t -f /etc/failoverd/failoverd.conf' \
	    'ExecStart=/usr/sbin/failoverd -f /etc/failoverd/failoverd.conf' \
	    'ExecStopPost=/usr/sbin/failoverd --cleanup -f /etc/failoverd/failoverd.conf'; do
		check "unit: $kv" grep -qxF "$kv" "$unit"
	done
	check "unit: no PrivateNetwork" test -z "$(grep '^PrivateNetwork' "$unit")"
fi

# ---------------------------------------------------------------- rpm contents
step "rpm contents"
if [ -n "$rpmf" ]; then
	rpm -qpl "$rpmf" >"$work/rpm.list" 2>/dev/null
	for f in /usr/sbin/failoverd /usr/sbin/failoverctl /etc/failoverd/failoverd.conf \
	    /etc/failoverd/hooks/promote.d /etc/failoverd/hooks/demote.d \
	    /etc/failoverd/hooks/notify.d /etc/failoverd/hooks/fence.d \
	    /usr/lib/systemd/system/failoverd.service /var/lib/failoverd; do
		check "rpm: $f" grep -qxF "$f" "$work/rpm.list"
	done
	for m in man8/failoverd.8 man5/failoverd.conf.5 man8/failoverctl.8; do
		check "rpm: $m" grep -qE "^/usr/share/man/$m(\\.gz)?\$" "$work/rpm.list"
	done
	check "rpm: README.md as doc" grep -qE '^/usr/share/doc/failoverd[^/]*/README\.md$' "$work/rpm.list"
	check "rpm: failoverd.conf is %config(noreplace)" \
	    test "$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$rpmf" 2>/dev/null |
	    awk '$1 == "/etc/failoverd/failoverd.conf" { print $2 }')" = cn
	check "rpm: /var/lib/failoverd is 0700" \
	    grep -qE '^drwx------ .* /var/lib/failoverd$' <(rpm -qplv "$rpmf" 2>/dev/null)
	check "rpm: Version is VERSION ($version)" \
	    test "$(rpm -qp --qf '%{VERSION}' "$rpmf" 2>/dev/null)" = "$version"
	rpm -qp --requires "$rpmf" >"$work/rpm.requires" 2>/dev/null
	# libmicrohttpd and libcurl by name: loaded (dlopen) with metrics or
	# quorum; every package by name for this architecture, e.g. (x86-64)
	isa=$(rpm --eval '%{?_isa}')
	check "rpm: %{_isa} is defined ($isa)" test -n "$isa"
	for l in 'libnl-3\.so' 'libnl-route-3\.so' 'libconfig\.so' 'libcrypto\.so'; do
		check "rpm: Requires $l" grep -q "^$l" "$work/rpm.requires"
	done
	for l in libnl3 libconfig openssl-libs libmicrohttpd libcurl json-c; do
		check "rpm: Requires $l$isa" grep -qxF "$l$isa" "$work/rpm.requires"
	done
fi

# ---------------------------------------------------------------- fresh root
step "debootstrap"
. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
mirror=${FOD_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(.*\/debian\)\/* *$/\1/p' \
    /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
cache=${FOD_DEBOOTSTRAP_CACHE:-/var/tmp/fod-debootstrap-cache}
base=$cache/root-$suite.tar
mkdir -p "$cache"
# A root that debootstrap made and nothing touched since is kept as a tarball
# for a day: unpacking it is as fresh as a new debootstrap, and much faster.
if [ -n "$(find "$base" -mmin -1440 2>/dev/null)" ] && mkdir "$root" &&
    tar -x -C "$root" -f "$base" 2>"$work/debootstrap.log"; then
	ok "fresh root from $base (debootstrap $suite, less than a day old)"
elif rm -rf --one-file-system "$root" &&
    debootstrap --variant=minbase --cache-dir="$cache" "$suite" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
	ok "debootstrap $suite from $mirror"
	tar -c -C "$root" -f "$base.new" . && mv "$base.new" "$base"
else
	bad "debootstrap $suite from $mirror (log follows)"
	tail -20 "$work/debootstrap.log"
fi
# inroot COMMAND...: run COMMAND in the fresh root
inroot() { chroot "$root" "$@"; }

installed=0
if [ -x "$root/usr/bin/apt-get" ] && [ -f "$deb" ]; then
	step "apt-get install ./$(basename "$deb") in the fresh root"
	cp "$deb" "$root/tmp/"
	if inroot apt-get update -q >"$work/apt.log" 2>&1 &&
	    inroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    "/tmp/$(basename "$deb")" >>"$work/apt.log" 2>&1; then
		ok "apt-get install of the .deb (dependencies from the mirror)"
		installed=1
	else
		bad "apt-get install of the .deb (log follows)"
		tail -20 "$work/apt.log"
	fi
	check "postinst: one-line hint that no key exists" \
	    grep -q '^failoverd: not started, no /etc/failoverd/cluster.key yet' "$work/apt.log"
fi

if [ "$installed" = 1 ]; then
	step "installed files"
	check "state_dir /var/lib/failoverd is 0700" \
	    test "$(stat -c %a "$root/var/lib/failoverd")" = 700
	for k in promote.d demote.d notify.d fence.d; do
		check "hooks/$k exists" test -d "$root/etc/failoverd/hooks/$k"
	done
	check "failoverd -V prints $version" \
	    test "$(inroot /usr/sbin/failoverd -V 2>&1)" = "failoverd $version"
	check "failoverctl keygen" inroot /usr/sbin/failoverctl keygen /etc/failoverd/cluster.key
	check "the key is 0600" test "$(stat -c %a "$root/etc/failoverd/cluster.key")" = 600
	unit=$root/lib/systemd/system/failoverd.service
	pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
	start=$(sed -n 's/^ExecStart=//p' "$unit")
	post=$(sed -n 's/^ExecStopPost=//p' "$unit")
	# The unit's own lines; systemd splits them on blanks like this.
	read -r -a pre_argv <<<"$pre"
	read -r -a start_argv <<<"$start"
	read -r -a post_argv <<<"$post"
	if inroot "${pre_argv[@]}" >"$work/t.log" 2>&1; then
		ok "ExecStartPre ($pre) accepts the shipped config"
	else
		bad "ExecStartPre ($pre) refuses the shipped config:"
		sed 's/^/  /' "$work/t.log"
	fi

	# ------------------------------------------------------------ the pair
	step "pair from the installed package, ExecStart=$start"
	ip netns add "$nsa" && ip netns add "$nsb" &&
	ip link add "${run}a" type veth peer name "${run}b" &&
	ip link set "${run}a" netns "$nsa" && ip link set "${run}b" netns "$nsb" &&
	ip -n "$nsa" link set "${run}a" name eth0 && ip -n "$nsb" link set "${run}b" name eth0 &&
	ip -n "$nsa" addr add 192.0.2.1/24 dev eth0 && ip -n "$nsb" addr add 192.0.2.2/24 dev eth0 &&
	ip -n "$nsa" link set eth0 up && ip -n "$nsb" link set eth0 up &&
	ip -n "$nsa" link set lo up && ip -n "$nsb" link set lo up
	check "namespaces $nsa and $nsb joined by a veth pair" test $? -eq 0

	mkdir -p "$root/run/failoverd"
	# node NAME PRIORITY LOCAL PEER: a config in the work directory
	node_conf() {
		cat >"$work/$1.conf" <<-EOF
		node: { name = "$1"; priority = $2; };
		cluster: { id = 7; interval_ms = 50; dead_ms = 300; init_dead_ms = 500; };
		links = ( { interface = "eth0"; local = "$3"; peer = "$4"; } );
		vips = ( { address = "192.0.2.10/24"; interface = "eth0"; } );
		EOF
		mkdir -m 0700 -p "$work/state-$1"
	}
	node_conf alpha 150 192.0.2.1 192.0.2.2
	node_conf beta 100 192.0.2.2 192.0.2.1
	# start NAME NS: the ExecStart line in the fresh root, in namespace NS,
	# with this node's config, a private /run/failoverd (as systemd's
	# RuntimeDirectory=) and its own state_dir. `ip netns exec` gives the
	# command a mount namespace of its own: the mounts end with it.
	start() {
		ip netns exec "$2" sh -c '
			set -e
			r=$1 w=$2 n=$3; shift 3
			mount --bind "$w/$n.conf" "$r/etc/failoverd/failoverd.conf"
			mount --bind "$w/state-$n" "$r/var/lib/failoverd"
			mount -t tmpfs -o mode=0700 tmpfs "$r/run/failoverd"
			mount -t proc proc "$r/proc"
			exec chroot "$r" "$@"' sh "$root" "$work" "$1" "${start_argv[@]}" \
		    >"$work/$1.log" 2>&1 &
		pids+=($!)
		eval "pid_$1=$!"
	}
	has_vip() { ip -n "$1" -4 addr show dev eth0 | grep -q 'inet 192\.0\.2\.10/24'; }
	no_vip() { ! has_vip "$1"; }
	# ctl NAME ARGS...: the installed failoverctl in the daemon's mount namespace
	ctl() { local p; eval "p=\$pid_$1"; shift; nsenter -t "$p" -m -r /usr/sbin/failoverctl "$@"; }
	gone() { ! kill -0 "$1" 2>/dev/null; }

	start alpha "$nsa"
	start beta "$nsb"
	check "alpha (priority 150) holds the VIP" wait_for 10 has_vip "$nsa"
	check "beta does not" no_vip "$nsb"
	check "failoverctl status on alpha: exit 0, state active" \
	    wait_for 5 eval 'ctl alpha status >"$work/status.txt" 2>&1 && grep -q "^state *active" "$work/status.txt"'
	check "failoverctl status on beta: exit 0, state standby" \
	    wait_for 5 eval 'ctl beta status >"$work/status.txt" 2>&1 && grep -q "^state *standby" "$work/status.txt"'
	kill -TERM "$pid_alpha"
	check "SIGTERM to alpha: beta takes the VIP" wait_for 10 has_vip "$nsb"
	check "alpha exits and leaves no VIP behind" wait_for 10 eval 'gone $pid_alpha && no_vip $nsa'
	wait "$pid_alpha"; rc=$?
	check "alpha exit status 0 (was $rc)" test "$rc" -eq 0
	# ExecStopPost: touches nothing while the daemon runs (even frozen)...
	kill -STOP "$pid_beta"
	check "ExecStopPost ($post) next to a frozen daemon: exit 1" \
	    eval '! nsenter -t "$pid_beta" -m -r "${post_argv[@]}" >"$work/post.log" 2>&1'
	check "...and the VIP stays" has_vip "$nsb"
	kill -CONT "$pid_beta"
	# ...and removes a killed daemon's VIP at once, not after its lease
	kill -KILL "$pid_beta"
	wait "$pid_beta"
	check "SIGKILL: the VIP is still there (its lease runs)" has_vip "$nsb"
	if ip netns exec "$nsb" sh -c '
		set -e
		r=$1 w=$2; shift 2
		mount --bind "$w/beta.conf" "$r/etc/failoverd/failoverd.conf"
		mount -t tmpfs -o mode=0700 tmpfs "$r/run/failoverd"
		exec chroot "$r" "$@"' sh "$root" "$work" "${post_argv[@]}" >"$work/post.log" 2>&1; then
		ok "ExecStopPost after SIGKILL: exit 0"
	else
		bad "ExecStopPost after SIGKILL failed:"; sed 's/^/  /' "$work/post.log"
	fi
	check "...and the VIP is gone at once" no_vip "$nsb"
	if [ "$fail" -gt 0 ]; then
		for n in alpha beta; do echo "--- $n log (tail)"; tail -15 "$work/$n.log"; done
	fi
	ip netns del "$nsa"; ip netns del "$nsb"

	# ------------------------------------------------------------ core suite
	# The integration tests of the core (tests/integration/test_core.py)
	# with the packaged binaries in place of this tree's build: the package
	# is built with Debian's flags, and must behave the same.
	step "integration tests of the core with the installed binaries"
	mkdir -p "$work/installed"
	cp "$root/usr/sbin/failoverd" "$root/usr/sbin/failoverctl" "$work/installed/"
	if [ -x build/prober ] || make -s build/prober >/dev/null; then
		cp build/prober "$work/installed/"
	fi
	if FOD_BUILD=$work/installed /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    tests/integration/test_core.py >"$work/core.log" 2>&1; then
		ok "test_core.py with the packaged failoverd: $(tail -1 "$work/core.log")"
	else
		bad "test_core.py with the packaged failoverd (log tail follows)"
		tail -40 "$work/core.log"
	fi

	# ------------------------------------------------------------ upgrade
	step "upgrade keeps the operator's config"
	echo "# operator was here" >>"$root/etc/failoverd/failoverd.conf"
	cp "$root/etc/failoverd/failoverd.conf" "$work/conf.before"
	next=$version+pkgtest1
	cp "$deb" "$work/"
	if make -s deb VERSION="$next" >"$work/deb2.log" 2>&1; then
		nextdeb=failoverd_${next}_$(dpkg --print-architecture).deb
		cp "packaging/out/$nextdeb" "$work/"
		cp "packaging/out/$nextdeb" "$root/tmp/"
		inroot dpkg -i "/tmp/$nextdeb" </dev/null >"$work/upgrade.log" 2>&1
		check "dpkg -i of $next over $version" test $? -eq 0
		check "failoverd -V now prints $next" test "$(inroot /usr/sbin/failoverd -V 2>&1)" = "failoverd $next"
		check "the edited failoverd.conf is kept" cmp -s "$work/conf.before" "$root/etc/failoverd/failoverd.conf"
		check "the key is kept" test -s "$root/etc/failoverd/cluster.key"
	else
		bad "make deb VERSION=$next (log follows)"; tail -20 "$work/deb2.log"
	fi
	# leave packaging/out with the package of this tree's VERSION
	rm -f packaging/out/failoverd_"${next}"_*.deb
	cp "$work/$(basename "$deb")" packaging/out/

	# ------------------------------------------------------------ purge
	step "purge"
	inroot dpkg --purge failoverd >"$work/purge.log" 2>&1
	check "dpkg --purge failoverd" test $? -eq 0
	sed 's/^/  /' "$work/purge.log"
	check "binaries gone" test ! -e "$root/usr/sbin/failoverd" -a ! -e "$root/usr/sbin/failoverctl"
	check "/etc/failoverd gone" test ! -e "$root/etc/failoverd"
	check "/var/lib/failoverd gone" test ! -e "$root/var/lib/failoverd"
fi

# ---------------------------------------------------------------- systemd
# The unit and the maintainer scripts under a real systemd: the same root,
# now with systemd, booted by systemd-nspawn with a network namespace of its
# own (a veth pair inside it stands for eth0 of the shipped config).
if [ "$installed" = 1 ] && [ -n "${nextdeb:-}" ]; then
	step "systemd: boot the root with systemd-nspawn"
	cp "$deb" "$work/$nextdeb" "$root/root/"
	if inroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends systemd systemd-sysv dbus iproute2 \
	    "/root/$(basename "$deb")" >"$work/apt2.log" 2>&1; then
		ok "apt-get install systemd and the .deb"
	else
		bad "apt-get install systemd and the .deb (log follows)"; tail -20 "$work/apt2.log"
	fi
	echo "$run" >"$root/etc/hostname"
	# no host machined or D-Bus here: --register=no --keep-unit
	systemd-nspawn -q -D "$root" -M "$run" -b --private-network --register=no \
	    --keep-unit --console=pipe </dev/null >"$work/boot.log" 2>&1 &
	nspawn=$!
	pids+=("$nspawn")
	cpid=
	# The container's PID 1 is the child of nspawn that runs systemd (a
	# short-lived forked helper of nspawn comes first).
	container_pid() {
		local p
		for p in $(pgrep -P "$nspawn"); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && cpid=$p && return 0
		done
		return 1
	}
	# C COMMAND...: run COMMAND inside the booted container
	C() { nsenter -t "$cpid" -a "$@"; }
	booted() { case $(C systemctl is-system-running 2>/dev/null) in running|degraded) ;; *) false;; esac; }
	if wait_for 30 container_pid && wait_for 90 booted; then
		pids=("$cpid" "${pids[@]}")	# killing its PID 1 ends the container
		ok "the root boots with systemd"
	else
		bad "the root does not boot with systemd (state: $(C systemctl is-system-running 2>&1); console follows)"
		tail -20 "$work/boot.log"
	fi
fi
if [ -n "${cpid:-}" ] && booted; then
	prop() { C systemctl show -P "$1" failoverd.service; }
	active() { [ "$(prop ActiveState)" = active ]; }
	inactive() { [ "$(prop ActiveState)" = inactive ]; }
	cvip() { C ip -4 addr show dev eth0 | grep -q 'inet 192\.0\.2\.10/24'; }
	check "unit enabled by the postinst" test "$(C systemctl is-enabled failoverd.service)" = enabled
	check "without a key the condition keeps it inactive at boot" \
	    test "$(prop ConditionResult)/$(prop ActiveState)/$(prop NRestarts)" = no/inactive/0
	C ip link add eth0 type veth peer name peer0 && C ip addr add 192.0.2.1/24 dev eth0 &&
	    C ip link set eth0 up && C ip link set peer0 up
	check "eth0 with 192.0.2.1/24 in the container" test $? -eq 0
	C failoverctl keygen /etc/failoverd/cluster.key >/dev/null
	check "systemctl start (Type=notify: returns once READY=1)" C systemctl start failoverd.service
	check "running, with the shipped config's VIP on eth0" eval 'active && cvip'
	check "STATUS= from the daemon" test -n "$(prop StatusText)"
	check "failoverctl status: exit 0, state active" \
	    eval 'C failoverctl status >"$work/status.txt" 2>&1 && grep -q "^state *active" "$work/status.txt"'
	main=$(prop MainPID)
	since=$(prop ActiveEnterTimestampMonotonic)
	# WatchdogSec=5s: a WATCHDOG=1 more than 6 s after start, and the same
	# process still running, means the daemon pets it and it never fired.
	check "the daemon pets the watchdog for more than WatchdogSec" \
	    wait_for 10 eval '[ $(( $(prop WatchdogTimestampMonotonic) - since )) -gt 6000000 ]'
	check "same MainPID, no restart" test "$(prop MainPID)/$(prop NRestarts)/$(prop ActiveState)" = "$main/0/active"
	check "systemctl reload (SIGHUP): same process" eval 'C systemctl reload failoverd.service && [ "$(prop MainPID)" = "$main" ] && active'
	check "journal: the daemon reloaded its configuration" \
	    eval 'C journalctl -u failoverd.service | grep -q "failoverd.*configuration reloaded"'

	C dpkg -i "/root/$nextdeb" </dev/null >"$work/upgrade2.log" 2>&1
	check "upgrade while running: dpkg -i $next" test $? -eq 0
	check "upgrade restarted it: new MainPID, $next" \
	    wait_for 10 eval 'active && [ "$(prop MainPID)" != "$main" ] && C failoverctl status | grep -q . && C journalctl -u failoverd.service | grep -q "version $next"'
	check "and it holds the VIP again" wait_for 10 cvip
	check "systemctl stop: inactive, VIP released" eval 'C systemctl stop failoverd.service && inactive && ! cvip'
	C dpkg -i "/root/$(basename "$deb")" </dev/null >"$work/upgrade3.log" 2>&1
	check "a stopped daemon stays stopped across a package change" eval 'inactive && ! cvip'
	check "systemctl start again" eval 'C systemctl start failoverd.service && active && cvip'
	C dpkg -r failoverd </dev/null >"$work/remove.log" 2>&1
	check "dpkg -r stops the daemon and releases the VIP" eval 'inactive && ! cvip && ! C pgrep -x failoverd >/dev/null'
	check "the key survives removal (not purge)" C test -s /etc/failoverd/cluster.key
	C dpkg --purge failoverd </dev/null >>"$work/remove.log" 2>&1
	check "dpkg --purge removes /etc/failoverd and /var/lib/failoverd" \
	    eval '! C test -e /etc/failoverd && ! C test -e /var/lib/failoverd'
	if [ "$fail" -gt 0 ]; then
		C journalctl -u failoverd.service --no-pager | tail -20
	fi
	# SIGTERM: nspawn powers the container off
	kill -TERM "$nspawn"
	if wait_for 30 eval '! kill -0 $nspawn 2>/dev/null'; then
		ok "the container shuts down"
		pids=()
	else
		bad "the container does not shut down"
	fi
fi

echo "time: $((SECONDS - t0)) s"
echo "test_packages: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
