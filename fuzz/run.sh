#!/bin/sh
# Run every fuzz target for a fixed time each, one after the other:
#   fuzz/run.sh SECONDS [TARGET...]
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`). Corpora live in
# fuzz/corpus/<target> (seeded from fuzz/seeds/<target> when present), crashes
# in fuzz/artifacts/<target>; libFuzzer's final stats (executions, cov =
# edges, ft = features) are in fuzz/logs/<target>.log. Exit status 1 when a
# target found a crash.
set -eu
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
cd "$(dirname "$0")"
targets=${*:-"packet_parse config_load convert_keepalived"}
mkdir -p logs
status=0
for t in $targets; do
    mkdir -p "corpus/$t"
    if [ -d "seeds/$t" ]; then cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true; fi
    echo "== $t: ${secs}s"
    if ! cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -timeout=60 -print_final_stats=1 \
        >"logs/$t.log" 2>&1; then
        status=1
        echo "!! $t: crash, see logs/$t.log and artifacts/$t/"
    fi
    grep -E '^#[0-9]+.*(DONE|cov:)' "logs/$t.log" | tail -1 || true
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "logs/$t.log" || true
done
exit $status
