#!/usr/bin/env bash
# Performance measures of SPEC.md §7, side by side in one run on this machine (not a test: it
# reports, it does not fail on a missed target). TLS on every leg, regtrace recording and hashing.
#
# usage: scripts/bench.sh [--out FILE]   (default bench-results.json; env BENCH_ROUNDS=3,
#        BENCH_BLOB_MIB=1024, BUILD_DIR)
# To add a measure: write a measure_* function that calls `record`, and call it from main.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${BENCH_RESULTS:-bench-results.json}"
[[ ${1:-} == --out && -n ${2:-} ]] && out="$2"
rounds="${BENCH_ROUNDS:-3}"
blob_mib="${BENCH_BLOB_MIB:-1024}"

"$root/scripts/install-deps.sh" bench
"$root/scripts/build.sh" >&2
bin="${BUILD_DIR:-$root/build}/regtrace"
# shellcheck source=e2e/lib.sh
source "$root/scripts/e2e/lib.sh"
e2e_init
results="$RUN_DIR/results.tsv" # name, value, unit, target, direction (min|max), note

# record NAME VALUE UNIT [TARGET DIRECTION NOTE]
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" "${5:-}" "${6:-}" >>"$results"
  log "$1 = $2 $3"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# --- the set-up shared by the measures: a TLS registry holding one big blob, and regtrace in front.
setup() {
  registry_port="$(free_port)"
  registry="registry.test:$registry_port"
  start_registry "$RUN_DIR/registry" "$registry_port"
  direct=(--resolve "$registry:127.0.0.1" --cacert "$E2E_CERTS/ca.crt")

  log "pushing a ${blob_mib} MiB random blob (monolithic upload)"
  head -c "$((blob_mib << 20))" /dev/urandom >"$RUN_DIR/blob"
  blob_digest="sha256:$(sha256sum "$RUN_DIR/blob" | cut -d' ' -f1)"
  local location
  location="$(curl -sS -f "${direct[@]}" -X POST -D - -o /dev/null "https://$registry/v2/bench/blob/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')"
  [[ -n $location ]] || fail "the registry gave no upload location"
  # -T streams the file; --data-binary @file would read all of it into memory first.
  curl -sS -f "${direct[@]}" -T "$RUN_DIR/blob" -o /dev/null "$location&digest=$blob_digest"
  rm -f "$RUN_DIR/blob"
  blob_url="https://$registry/v2/bench/blob/blobs/$blob_digest"

  start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
  via_regtrace=(-x "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA")
}

# get_speed CURL_ARGS...: one GET of the blob to /dev/null; prints bytes/s, checks status and size.
get_speed() {
  local status size speed
  read -r status size speed < <(curl -sS --http1.1 -o /dev/null \
    -w '%{http_code} %{size_download} %{speed_download}\n' "$@" "$blob_url")
  [[ $status == 200 && $size == $((blob_mib << 20)) ]] ||
    fail "blob GET answered $status with $size bytes (curl $*)"
  echo "$speed"
}

# 1 GiB layer GET, direct vs through regtrace; rounds alternate so both see the same page cache and
# machine load. Both legs speak HTTP/1.1, as regtrace does (the registry would offer h2 directly).
measure_blob_get() {
  get_speed "${direct[@]}" >/dev/null # warm the page cache
  local d=() p=()
  for ((r = 1; r <= rounds; r++)); do
    d+=("$(get_speed "${direct[@]}")")
    p+=("$(get_speed "${via_regtrace[@]}")")
    log "round $r: direct $(awk -v s="${d[-1]}" 'BEGIN {printf "%.0f", s / 1e6}') MB/s," \
      "regtrace $(awk -v s="${p[-1]}" 'BEGIN {printf "%.0f", s / 1e6}') MB/s"
  done
  local dm pm
  dm="$(printf '%s\n' "${d[@]}" | median)"
  pm="$(printf '%s\n' "${p[@]}" | median)"
  record blob_get_direct_mbps "$(awk -v s="$dm" 'BEGIN {printf "%.1f", s / 1e6}')" MB/s "" "" \
    "median of $rounds, ${blob_mib} MiB blob, curl --http1.1"
  record blob_get_regtrace_mbps "$(awk -v s="$pm" 'BEGIN {printf "%.1f", s / 1e6}')" MB/s "" "" \
    "median of $rounds, recording on"
  record blob_get_ratio "$(awk -v a="$pm" -v b="$dm" 'BEGIN {printf "%.3f", a / b}')" ratio 0.85 min \
    "regtrace / direct"
}

# Peak resident memory of regtrace over everything measured so far (VmHWM).
measure_peak_rss() {
  local kib
  kib="$(awk '/^VmHWM:/ {print $2}' "/proc/$REGTRACE_PID/status")"
  record regtrace_peak_rss_mib "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k / 1024}')" MiB 40 max \
    "VmHWM after the blob GETs"
}

report() {
  python3 - "$results" "$out" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
measures = []
print(f"{'measure':<26} {'value':>10} {'unit':<6} {'target':<8} {'met':<4} note")
for name, value, unit, target, direction, note in rows:
    met = None
    if target:
        met = float(value) >= float(target) if direction == "min" else float(value) <= float(target)
    shown_target = (">= " if direction == "min" else "<= ") + target if target else ""
    print(f"{name:<26} {value:>10} {unit:<6} {shown_target:<8} {'' if met is None else 'yes' if met else 'NO':<4} {note}")
    measures.append({"name": name, "value": float(value), "unit": unit,
                     "target": float(target) if target else None, "direction": direction or None,
                     "met": met, "note": note})
with open(sys.argv[2], "w") as f:
    json.dump({"measures": measures}, f, indent=2)
print(f"written to {sys.argv[2]}")
PY
}

# Other work on the machine skews every figure: keep the load beside them.
measure_load() {
  record load_average_1min "$(cut -d' ' -f1 /proc/loadavg)" "" "" "" "at the start, $(nproc) cores"
}

measure_load
setup
measure_blob_get
measure_peak_rss
stop_pid "$REGTRACE_PID" regtrace || log "regtrace exited with status $? on SIGTERM"
report
