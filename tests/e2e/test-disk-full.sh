#!/usr/bin/env bash
# End to end, issue 13: the trace's disk fills up while curl goes through regtrace to the distribution
# registry. The trace is on a 256 KiB tmpfs; a filler file takes the rest of it. regtrace must keep
# relaying (every curl succeeds), say once that records are lost (not a line per record), and when the
# filler is deleted say that writing resumed and how many records were lost; the HAR is then valid JSON
# whose log._regtrace.failed_records counts them, entries + lost = requests, and `regtrace report`
# reads it. The closing summary warns with the same count.
#
# usage: test-disk-full.sh REGTRACE_BIN      (needs root: it mounts a tmpfs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

[[ $(id -u) -eq 0 ]] || fail "mounting a small tmpfs for the trace needs root; run this test as root"

e2e_begin "$@"

start_registry "$RUN_DIR/registry" "$(free_port)"
registry="registry.test:$REGISTRY_PORT"

disk="$RUN_DIR/disk"
mkdir -p "$disk"
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$disk"
on_exit "umount -l '$disk'"
log "trace on a 256 KiB tmpfs at $disk"

# regtrace by hand rather than start_regtrace: its log must not be on the disk that fills up.
dir="$RUN_DIR/regtrace"
mkdir -p "$dir"
REGTRACE_PORT="$(free_port)"
REGTRACE_CA="$dir/ca/ca.crt"
har="$disk/trace.har"
"$bin" proxy --listen "127.0.0.1:$REGTRACE_PORT" --ca-dir "$dir/ca" --har "$har" -q \
  --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" >"$dir/regtrace.log" 2>&1 &
REGTRACE_PID=$!
E2E_PIDS+=("$REGTRACE_PID")
wait_until "regtrace on port $REGTRACE_PORT" "$REGTRACE_PID" regtrace_ready
console="$dir/regtrace.log"

requests=0
# get: one GET /v2/ through regtrace; it must succeed whatever the trace's disk says.
get() {
  local code
  code="$(curl -q -sS --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" -o /dev/null \
    -w '%{http_code}' "https://$registry/v2/")" || fail "curl through regtrace failed (request $((requests + 1)))"
  [[ $code == 200 ]] || fail "GET /v2/ through regtrace answered $code, expected 200 (request $((requests + 1)))"
  requests=$((requests + 1))
}
# har_entries: the number of entries in the trace, or -1 when it is not valid JSON now.
har_entries() {
  python3 -c 'import json, sys
try: print(len(json.load(open(sys.argv[1]))["log"]["entries"]))
except Exception: print(-1)' "$har"
}
# wait_for WHAT CMD...: poll CMD (bounded, so a broken regtrace ends the test).
wait_for() {
  local what="$1"; shift
  wait_until "$what" "$REGTRACE_PID" "$@"
}
console_has() { grep -qF -- "$1" "$console"; }
entries_are() { [[ $(har_entries) == "$1" ]]; }

log "3 requests with room on the disk"
for _ in 1 2 3; do get; done
wait_for "3 entries in the trace" entries_are 3

log "fill the disk, then 30 requests"
dd if=/dev/zero of="$disk/filler" bs=1k >/dev/null 2>&1 || true
df -k "$disk" | tail -n1 >&2
for _ in $(seq 30); do get; done
wait_for "the console saying records are lost" console_has "trace writing failed"
failed_lines="$(grep -c 'trace writing failed' "$console" || true)"
[[ $failed_lines == 1 ]] || fail "the console said $failed_lines times that trace writing failed (once expected)"
grep 'trace writing failed' "$console" | grep -qF 'No space left on device' ||
  fail "the console line does not name the cause: $(grep 'trace writing failed' "$console")"
grep -qF 'records are being counted as lost' "$console" || fail "the console does not say records are counted"
error_lines="$(grep -c ' error ' "$console" || true)"
[[ $error_lines == 1 ]] || fail "$error_lines error lines on the console while the disk was full (1 expected)"

# Not asserted: whether the file is valid JSON while the disk is full depends on the room left in
# the file's last page (a cut entry is repaired by rewriting the shorter tail when that fits).
log "while the disk is full the trace holds $(har_entries) entries (-1: not valid JSON now)"
log "space returns: delete the filler, 3 more requests"
rm -f "$disk/filler"
for _ in 1 2 3; do get; done
wait_for "the console saying writing resumed" console_has "trace writing resumed after"
resumed="$(grep -o 'trace writing resumed after [0-9]* record' "$console")"
lost="$(grep -o '[0-9][0-9]*' <<<"$resumed")"
log "regtrace: '$resumed'; $requests requests"
((lost >= 1 && lost <= 30)) || fail "lost $lost records, expected between 1 and the 30 sent while the disk was full"
wait_for "$((requests - lost)) entries in the trace" entries_are "$((requests - lost))"
python3 - "$har" "$lost" <<'PY' || fail "the trace does not count the lost records (above)"
import json, sys
log = json.load(open(sys.argv[1]))["log"]
counters = log.get("_regtrace", {})
print("log._regtrace:", counters, file=sys.stderr)
assert counters.get("failed_records") == int(sys.argv[2]), "failed_records is not the count the console gave"
assert counters.get("dropped_records") == 0
PY
"$bin" report "$har" >"$RUN_DIR/report.log" 2>&1 || fail "regtrace report could not read the trace after the disk full"

log "stop regtrace: the summary warns with the same count"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited non-zero on SIGTERM"
grep -qF "Warning: $lost exchanges could not be recorded" "$console" ||
  fail "the summary does not warn that $lost exchanges could not be recorded"
[[ $(har_entries) == $((requests - lost)) ]] || fail "the closed trace does not hold $((requests - lost)) entries"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["log"]["_regtrace"]["failed_records"] == int(sys.argv[2])' \
  "$har" "$lost" || fail "the closed trace lost its failed_records count"
log "PASS: $requests requests relayed, $lost records lost and counted, one line each way on the console"
