#!/usr/bin/env bash
# Install what the tests use, build, and run every test (unit, integration, e2e) with ctest, the
# sanitizer run and the fuzz targets. This is what CI runs (.ci/run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh" test
# The layout's include direction first: it takes a second, the build takes minutes.
python3 "$root/scripts/check-layers.py" "$root"
BUILD_DIR="$build_dir" "$root/scripts/build.sh"
ctest --test-dir "$build_dir" --output-on-failure

# The unit and integration tests once more under AddressSanitizer and UBSan (STYLE.md habits).
# Optimised lightly (-O1) so the build stays a few minutes on 2 cores. REGTRACE_SANITIZE=0 skips it.
if [[ ${REGTRACE_SANITIZE:-1} != 0 ]]; then
  sanitize_dir="$build_dir-sanitize"
  cmake -S "$root" -B "$sanitize_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DREGTRACE_SANITIZE=ON
  ninja -C "$sanitize_dir" -j"$(nproc)" regtrace_tls_tests regtrace_capture_tests regtrace_proxy_tests \
    regtrace_integration_tests
  ctest --test-dir "$sanitize_dir" -R '^(unit|integration)' --output-on-failure
fi

# Every fuzz target for a short time (README "Fuzzing"): clang-19 build, seed corpora from the fixtures,
# the inputs that once failed, then FUZZ_SECONDS (20) of fuzzing each. REGTRACE_FUZZ=0 skips it.
if [[ ${REGTRACE_FUZZ:-1} != 0 ]]; then
  BUILD_DIR="$build_dir" "$root/scripts/fuzz.sh" --seconds "${FUZZ_SECONDS:-20}"
fi
