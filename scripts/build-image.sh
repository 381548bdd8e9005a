#!/bin/sh
# Build the FROM-scratch vrrpd image with no registry access:
#   scripts/build-image.sh [TAG]        (default vrrpd:latest)
# Builds the static binary (scripts/build-static.sh), stages a context holding
# only it and two empty directories, runs `docker build`, prints the tag.
# VRRPD_STATIC_BIN=/path/to/vrrpd skips the cargo build.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-vrrpd:latest}
if [ -n "${VRRPD_STATIC_BIN:-}" ]; then
    bin=$VRRPD_STATIC_BIN
else
    bin=$("$root/scripts/build-static.sh")
fi
ctx=$(mktemp -d "${TMPDIR:-/tmp}/vrrpd-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM
cp "$bin" "$ctx/vrrpd"
chmod 0755 "$ctx/vrrpd"
mkdir -p "$ctx/run/vrrpd" "$ctx/tmp"
chmod 0755 "$ctx/run" "$ctx/run/vrrpd"
chmod 1777 "$ctx/tmp"
cp "$root/Dockerfile" "$root/.dockerignore" "$ctx/"
docker build --pull=false -q -t "$tag" "$ctx" >&2
echo "$tag"
