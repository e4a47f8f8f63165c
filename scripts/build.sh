#!/usr/bin/env bash
# Configure and build with Ninja: the given targets (for example `regtrace`), or everything, tests
# included, when none are given. BUILD_DIR overrides the build folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build_dir" -j"$(nproc)" "$@"
