#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz (clang-19, AddressSanitizer + UBSan, leak detection on),
# make their seed corpora from the test fixtures, replay the inputs that once failed
# (tests/fuzz/regressions/<target>/), then fuzz each target for N seconds (default 20).
# Exits 1 on any crash, leak, timeout, out-of-memory or property failure, naming the reproducer;
# prints the executions per target at the end.
#
# Usage: scripts/fuzz.sh [--seconds N | --runs N] [TARGET...]   (TARGET: fuzz_har_file, ...; default: all)
# --runs N stops each target after N executions instead (the long run: --runs 10000000).
# FUZZ_BUILD_DIR overrides the build folder (default: $BUILD_DIR-fuzz, i.e. build-fuzz).
# A reproducer replays with: $FUZZ_BUILD_DIR/tests/fuzz/TARGET REPRODUCER
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${FUZZ_BUILD_DIR:-${BUILD_DIR:-$root/build}-fuzz}"

seconds=20
runs_limit=""
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --runs) runs_limit="$2"; shift 2 ;;
    --runs=*) runs_limit="${1#*=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in "$root"/tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
for target in "${targets[@]}"; do
  [[ -f "$root/tests/fuzz/$target.cpp" ]] || { echo "fuzz.sh: no target $target (tests/fuzz/$target.cpp)" >&2; exit 2; }
done

"$root/scripts/install-deps.sh" fuzz
# Debug with -O1: assertions stay on (nlohmann's and Beast's too) and the build stays a few minutes.
CC=clang-19 CXX=clang++-19 cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DREGTRACE_FUZZ=ON >/dev/null
ninja -C "$build_dir" -j"$(nproc)" "${targets[@]}"

corpus="$build_dir/fuzz-corpus"
rm -rf "$corpus/seeds"
python3 "$root/tests/fuzz/make_corpus.py" "$corpus/seeds" >/dev/null

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
symbolizer="$(command -v llvm-symbolizer-19 || true)"
[[ -n "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH="$symbolizer"

failed=0
summary=()
for target in "${targets[@]}"; do
  binary="$build_dir/tests/fuzz/$target"
  runs="$build_dir/fuzz-runs/$target"
  live="$corpus/live/$target"  # what the fuzzer found, kept from run to run
  mkdir -p "$runs" "$live"
  dict=()
  [[ -f "$corpus/seeds/$target.dict" ]] && dict=(-dict="$corpus/seeds/$target.dict")

  regressions=("$root/tests/fuzz/regressions/$target"/*)
  if [[ -e "${regressions[0]}" ]]; then
    if ! "$binary" -runs=1 "${regressions[@]}" >"$runs/regressions.log" 2>&1; then
      echo "fuzz.sh: $target fails on an input that failed before (tests/fuzz/regressions/$target/):" >&2
      tail -n 30 "$runs/regressions.log" >&2
      failed=1
      summary+=("$target: FAILED on a regression input")
      continue
    fi
  fi

  log="$runs/fuzz.log"
  status=0
  limit=(-max_total_time="$seconds")
  [[ -n "$runs_limit" ]] && limit=(-runs="$runs_limit")
  "$binary" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$runs/" "${dict[@]}" "$live" "$corpus/seeds/$target" >"$log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [[ $status -ne 0 ]]; then
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz.sh: $target FAILED (exit $status) after ${executions:-?} executions; reproducer: ${reproducer:-none written}" >&2
    grep -m 3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|PROPERTY FAILED' "$log" >&2 || true
    echo "  log: $log; replay: $binary ${reproducer:-}" >&2
    failed=1
    summary+=("$target: FAILED, reproducer ${reproducer:-none}")
  else
    elapsed=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    summary+=("$target: ${executions:-?} executions in ${elapsed:-$seconds} s, no failure")
  fi
done

each="$seconds s"
[[ -n "$runs_limit" ]] && each="$runs_limit runs"
echo "fuzz.sh: ${#targets[@]} targets, $each each:"
printf '  %s\n' "${summary[@]}"
exit "$failed"
