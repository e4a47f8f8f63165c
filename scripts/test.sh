#!/usr/bin/env bash
# Install what the tests use, build, and run every test (unit, integration, e2e) with ctest.
# This is what CI runs (.ci/run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh" test
BUILD_DIR="$build_dir" "$root/scripts/build.sh"
ctest --test-dir "$build_dir" --output-on-failure
