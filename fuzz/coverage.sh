#!/bin/sh
# Per-function coverage of a fuzz target's corpus:
#   fuzz/coverage.sh TARGET [SOURCE_FILE...]
# Builds TARGET with -Cinstrument-coverage (`cargo fuzz coverage`, its own
# target dir: the first build takes as long as a fuzz build), runs every
# input of fuzz/corpus/TARGET (after fuzz/run.sh; the seeds otherwise),
# then prints llvm-cov's per-function and per-file report for the given
# files (default: the receive pipeline, auth, state machine and transmit of
# proto/, or proto/src/bfd for the bfd target). For `endpoint` it also
# replays the corpus through the shared harness under `cargo test` and
# prints how often each DropReason was returned.
# Needs nightly with llvm-tools: rustup component add llvm-tools-preview --toolchain nightly
# FUZZ_TARGET_DIR (optional) is where the fuzz crate builds; CARGO_TARGET_DIR
# stays the workspace's (for the replay).
set -u
t=${1:?usage: fuzz/coverage.sh TARGET [SOURCE_FILE...]}
shift
cd "$(dirname "$0")" || exit 2
if [ $# -gt 0 ]; then files=$*
elif [ "$t" = bfd ]; then files="../proto/src/bfd/packet.rs ../proto/src/bfd/session.rs ../proto/src/bfd/mod.rs"
else files="../proto/src/receive.rs ../proto/src/auth.rs ../proto/src/instance.rs ../proto/src/router.rs ../proto/src/transmit.rs ../proto/src/wire/*.rs"
fi
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
llvm_cov=$(rustc +nightly --print sysroot)/lib/rustlib/$triple/bin/llvm-cov
if [ ! -x "$llvm_cov" ]; then
    echo "!! no llvm-cov: rustup component add llvm-tools-preview --toolchain nightly" >&2
    exit 2
fi
cov_dir=${FUZZ_TARGET_DIR:-$PWD/target}/coverage
mkdir -p logs "corpus/$t"
if [ -d "seeds/$t" ]; then cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true; fi
echo "== $t: coverage build and replay of $(ls "corpus/$t" | wc -l) inputs (log: fuzz/logs/$t.coverage.log)"
if ! nice -n 10 cargo +nightly fuzz coverage -a --target-dir "$cov_dir" "$t" "corpus/$t" \
    >"logs/$t.coverage.log" 2>&1; then
    echo "!! $t: coverage build or replay failed, see fuzz/logs/$t.coverage.log" >&2
    tail -5 "logs/$t.coverage.log" >&2
    exit 3
fi
bin=$cov_dir/$triple/release/$t
prof=coverage/$t/coverage.profdata
# c++filt demangles Rust symbols (legacy and v0); strip the hashes.
# shellcheck disable=SC2086
"$llvm_cov" report --instr-profile="$prof" "$bin" --show-functions -Xdemangler=c++filt $files |
    sed -E 's/::h[0-9a-f]{16}//; s/\[[0-9a-f]{16}\]//g'
echo
echo "== $t: per file"
# shellcheck disable=SC2086
"$llvm_cov" report --instr-profile="$prof" "$bin" $files
if [ "$t" = endpoint ]; then
    echo
    echo "== endpoint: DropReason counts over the corpus (cargo test --test fuzz_seeds corpus_report)"
    VRRPD_FUZZ_CORPUS="$PWD/corpus/endpoint" nice -n 10 cargo test -q --manifest-path ../Cargo.toml --test fuzz_seeds \
        fuzz_corpus_report -- --ignored --nocapture 2>&1 | grep -vE '^(running|test result|$)'
fi
