#!/bin/sh
# Run fuzz targets for a fixed time each, one after the other, each in one
# libFuzzer process (no -jobs/-workers: those fork and log to fuzz-N.log):
#   fuzz/run.sh SECONDS [TARGET...]
# Targets: endpoint roundtrip bfd config_load convert_keepalived (default: all).
# Needs the nightly toolchain, cargo-fuzz (`cargo install cargo-fuzz --locked`)
# and a C++ compiler (libFuzzer is built from source by libfuzzer-sys).
#
# Corpora live in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>),
# crashes in fuzz/artifacts/<target>; libFuzzer's final stats (executions,
# cov = edges, ft = features) go to fuzz/logs/<target>.log, the build's
# output to fuzz/logs/<target>.build.log.
#
# Exit status: 0 no finding; 1 a target crashed, timed out or ran out of
# memory (input in artifacts/); 2 usage or missing tools; 3 a target did not
# build (nothing was fuzzed: not a finding). The first is reported over the
# others when several targets differ.
set -u
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
cd "$(dirname "$0")" || exit 2
targets=${*:-"endpoint roundtrip bfd config_load convert_keepalived"}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "!! needs the nightly toolchain and cargo-fuzz: rustup toolchain install nightly; cargo install cargo-fuzz --locked" >&2
    exit 2
fi
mkdir -p logs
crashed=0
unbuilt=0
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    if [ -d "seeds/$t" ]; then cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true; fi
    echo "== $t: build"
    # Build on its own first: a compile error is no crash. The first build
    # compiles every dependency with sanitizer flags (minutes; see README).
    if ! nice -n 10 cargo +nightly fuzz build -a "$t" >"logs/$t.build.log" 2>&1; then
        unbuilt=1
        echo "!! $t: BUILD FAILED (not a crash), see fuzz/logs/$t.build.log:"
        grep -E '^error' "logs/$t.build.log" | head -5
        continue
    fi
    before=$(ls "artifacts/$t" | wc -l)
    echo "== $t: ${secs}s"
    if ! nice -n 10 cargo +nightly fuzz run -a "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -timeout=60 \
        -print_final_stats=1 >"logs/$t.log" 2>&1; then
        after=$(ls "artifacts/$t" | wc -l)
        if [ "$after" -gt "$before" ] || grep -qE '^(==[0-9]+== ?ERROR|SUMMARY): libFuzzer|deadly signal|panicked at' "logs/$t.log"; then
            crashed=1
            echo "!! $t: CRASH / timeout / OOM, see fuzz/logs/$t.log and fuzz/artifacts/$t/:"
            grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "logs/$t.log" | head -3
            ls -t "artifacts/$t" | head -3
        else
            unbuilt=1
            echo "!! $t: cargo fuzz failed before fuzzing (no finding), see fuzz/logs/$t.log"
            tail -3 "logs/$t.log"
        fi
    fi
    grep -E '^#[0-9]+.*(DONE|cov:)' "logs/$t.log" | tail -1 || true
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "logs/$t.log" || true
done
[ $crashed -eq 1 ] && exit 1
[ $unbuilt -eq 1 ] && exit 3
exit 0
