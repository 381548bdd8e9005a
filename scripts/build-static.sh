#!/bin/sh
# Build the fully static vrrpd release binary (static-pie, glibc linked in,
# no runtime libraries) and print its path on stdout.
#
#   scripts/build-static.sh                      # uses ./target
#   CARGO_TARGET_DIR=/var/cache/vrrpd scripts/build-static.sh
#
# Equivalent to:
#   RUSTFLAGS="-C target-feature=+crt-static" \
#       cargo build --release --target x86_64-unknown-linux-gnu
# (An explicit --target keeps RUSTFLAGS away from build scripts and
# proc-macros, which must stay dynamic.)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
target=${VRRPD_STATIC_TARGET:-$(uname -m)-unknown-linux-gnu}
target_dir=${CARGO_TARGET_DIR:-$root/target}
cd "$root"
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
    cargo build --release --locked --bin vrrpd --target "$target" \
    --target-dir "$target_dir" >&2
bin="$target_dir/$target/release/vrrpd"
# Refuse a binary that would need a loader or shared libraries.
if command -v readelf >/dev/null 2>&1; then
    if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
        echo "build-static: $bin is not static (NEEDED entries)" >&2
        exit 1
    fi
    if readelf -l "$bin" 2>/dev/null | grep -q 'INTERP'; then
        echo "build-static: $bin has a program interpreter" >&2
        exit 1
    fi
fi
echo "$bin"
