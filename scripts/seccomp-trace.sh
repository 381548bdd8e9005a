#!/bin/sh
# Regenerate config/seccomp.json from what vrrpd really calls (as root):
#
#   scripts/seccomp-trace.sh            # demo + netns tests + PID 1, then write the profile
#   VRRPD_TRACE_TESTS="daemon_pair ops_health" scripts/seccomp-trace.sh
#
# Every vrrpd process of a run is traced with `strace -f` through a wrapper
# named by VRRPD_BIN (the lab runs whatever VRRPD_BIN names); `strace -D`
# keeps the traced daemon the wrapper's own PID, so the tests' signals reach
# it unchanged. Then the static binary runs as PID 1 of a fresh PID and
# network namespace (its init, unicast on lo, `vrrpd status`, SIGTERM), the
# way the image runs it. scripts/seccomp-syscalls.py turns the logs into the
# profile and adds the calls of features the traces do not cover yet (its
# EXTRA table says which and why). See config/seccomp.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out=${VRRPD_TRACE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/vrrpd-seccomp.XXXXXX")}
mkdir -p "$out"
# A representative subset (the whole suite under strace is slow): the pair,
# hooks and trackers, reload, lossless release, faults, BFD, keepalived peers.
tests=${VRRPD_TRACE_TESTS:-daemon_pair daemon_lifecycle ops_health ops_notify ops_reload ops_lossless fault_local fault_network bfd_failover interop_keepalived}

cargo build --workspace --bins --tests >&2
bin=$CARGO_TARGET_DIR/debug/vrrpd

wrapper=$out/vrrpd
cat >"$wrapper" <<W
#!/bin/sh
exec strace -D -f -qq -e raw='!execve' -e signal=none -s 0 -o "$out/trace.\$\$" -- "$bin" "\$@"
W
chmod 0755 "$wrapper"

echo "seccomp-trace: demo" >&2
VRRPD_BIN=$wrapper "$bin" demo >"$out/demo.log" 2>&1 || echo "seccomp-trace: demo failed (traced anyway)" >&2

for t in $tests; do
    echo "seccomp-trace: netns test $t" >&2
    VRRPD_BIN=$wrapper cargo test -q -p netns-tests --test "$t" -- --test-threads=1 \
        >"$out/test-$t.log" 2>&1 || echo "seccomp-trace: $t failed under strace (traced anyway)" >&2
done

echo "seccomp-trace: static binary as PID 1 (the image's way)" >&2
static=$(scripts/build-static.sh)
cfg=$out/pid1
mkdir -p "$cfg/groups.d"
printf 'router_id = "solo"\ncontrol_socket = "%s/vrrpd.sock"\nlog_format = "text"\n' "$cfg" >"$cfg/vrrpd.toml"
cat >"$cfg/groups.d/lo.toml" <<G
vrid = 71
interface = "lo"
priority = 100
version = 3
advert_interval = "100ms"
unicast_source = "127.0.0.1"
unicast_peers = ["127.0.0.2"]
virtual_ips = ["192.0.2.100/32"]
G
# strace outside unshare; the parser counts only what follows the execve of
# vrrpd. The shell inside is left out the same way.
strace -f -qq -e raw='!execve' -e signal=none -s 0 -o "$out/trace.pid1" -- \
    unshare --pid --fork --net --kill-child=TERM -- sh -c \
    "ip link set lo up && exec $static run --config $cfg" >"$out/pid1.log" 2>&1 &
spid=$!
sleep 3
# `vrrpd status` is the image's HEALTHCHECK: it runs under the same profile.
strace -f -qq -e raw='!execve' -e signal=none -s 0 -o "$out/trace.status" -- \
    "$static" status --socket "$cfg/vrrpd.sock" >&2 || true
# unshare forwards nothing by itself: TERM the namespace's PID 1 (vrrpd's init).
init=$(ps -o pid= --ppid "$(ps -o pid= --ppid $spid | head -1)" | head -1)
kill -TERM $init 2>/dev/null || true
wait $spid || true

python3 scripts/seccomp-syscalls.py "$out"/trace.* >config/seccomp.json
echo "seccomp-trace: wrote config/seccomp.json (traces kept in $out)" >&2
python3 scripts/seccomp-syscalls.py --systemd config/seccomp.json >&2
