#!/usr/bin/env bash
# The soak (issue 13): regtrace under many open connections at once, against the distribution
# registry, for several rounds. Not a test (it reports figures, run it by hand); --check makes it
# fail on the targets a test may assert (tests/e2e/test-soak-small.sh runs it that way).
#
# Each round, the load client (scripts/soak/load.py, Python asyncio) opens --tunnels connections
# through regtrace at once (CONNECT + TLS with regtrace's leaf), sends --requests requests over them
# kept alive (the manifest, the config blob, a small layer and /v2/ in turn), then --new-conn-requests
# more each on a connection of its own, and holds the kept-alive connections open and idle while the
# figures are taken. After the last round the connections are opened once more, one request each, and
# regtrace is stopped (SIGTERM) with all of them open.
#
# Figures, per round: requests answered and errors; peak RSS (VmHWM, reset at the start of each round
# through /proc/PID/clear_refs, so each round's peak is its own) and RSS while the connections are held
# idle; regtrace's descriptors at start, while held, right after the clients closed, and once the
# upstream pool's idle timeout has passed; CPU seconds (utime + stime). At the end: HAR completeness
# (entries written against requests sent, and how many are not a clean 200), the stop time with the
# connections open (SIGTERM to exit).
#
# Targets (issue 13): 0 errors; every request an entry; peak RSS <= 100 MiB with 500 connections and
# flat over rounds; descriptors back to the start once the pool's idle timeout passed; stop <= 2 s.
# --check fails the run on the first three that are not about time or memory: errors, completeness and
# descriptors (a test asserts no wall-clock figure; memory depends on the machine).
#
# usage: scripts/soak.sh [--tunnels N] [--requests N] [--new-conn-requests N] [--new-conn-parallel N]
#                        [--rounds N] [--threads N] [--check]
#   --tunnels N            connections open at once (default 500)
#   --requests N           requests over them per round, kept alive (default 10000)
#   --new-conn-requests N  requests on a new connection each, per round (default 1000)
#   --new-conn-parallel N  of those, at a time (default 50)
#   --rounds N             rounds (default 1; 5 shows whether memory stays flat)
#   --threads N            regtrace's worker threads (default 2)
#   --check                exit 1 unless: no error, every request an entry, descriptors back to start
# env: REGTRACE_BIN (default build/regtrace), KEEP_RUN_DIR=1 keeps the run folder, SOAK_AT_HOLD: a
#      command run (bash -c, REGTRACE_PID set) each round while the connections are held, to look
#      closer (e.g. gdb -p "$REGTRACE_PID" -batch -ex 'call (int) malloc_stats()': arenas in regtrace.log),
#      REGTRACE_ENV: environment for regtrace (e.g. "MALLOC_ARENA_MAX=1").
# Needs root for the packages (scripts/install-deps.sh test) and to reset VmHWM (clear_refs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  sed -n '/^# usage:/,/^# Needs root/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
tunnels=500
requests=10000
new_conn_requests=1000
new_conn_parallel=50
rounds=1
threads=2
check=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tunnels) tunnels="${2:?}"; shift ;;
    --requests) requests="${2:?}"; shift ;;
    --new-conn-requests) new_conn_requests="${2:?}"; shift ;;
    --new-conn-parallel) new_conn_parallel="${2:?}"; shift ;;
    --rounds) rounds="${2:?}"; shift ;;
    --threads) threads="${2:?}"; shift ;;
    --check) check=1 ;;
    -h | --help) usage ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
bin="$(realpath "${REGTRACE_BIN:-$root/build/regtrace}")"
[[ -x $bin ]] || { echo "soak.sh: no regtrace binary at $bin (build it, or set REGTRACE_BIN)" >&2; exit 2; }
pool_idle_seconds=15 # proxy_config::pool_idle_timeout's default

# shellcheck source=../tests/e2e/lib/lib.sh
source "$root/tests/e2e/lib/lib.sh"
"$root/scripts/install-deps.sh" test
e2e_init
ulimit -n "$(ulimit -Hn)" # the client and regtrace each hold several descriptors per connection

# ---- figures of the regtrace process ----
fd_count() { find "/proc/$REGTRACE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
status_kib() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$REGTRACE_PID/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$REGTRACE_PID/stat"; }
reset_peak() { echo 5 >"/proc/$REGTRACE_PID/clear_refs" 2>/dev/null || true; }
# settle_fds LIMIT: wait (up to 30 s) until regtrace holds at most LIMIT descriptors; prints the count.
settle_fds() {
  local n
  for _ in $(seq 300); do
    n=$(fd_count)
    ((n <= $1)) && break
    sleep 0.1
  done
  fd_count
}

# ---- the registry and a small image to ask for ----
start_registry "$RUN_DIR/registry" "$(free_port)"
registry="registry.test:$REGISTRY_PORT"
python3 "$root/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/layout" --tag v1 --layers 4K >/dev/null
# The registry asks for no credentials; skopeo's helper wants some and never sends them unasked.
push_layout_with_skopeo "$RUN_DIR/layout:v1" soak/small:v1 soak:unused
paths="$(python3 - "$RUN_DIR/layout" <<'PY'
import json, os, sys
blobs = os.path.join(sys.argv[1], "blobs", "sha256")
index = json.load(open(os.path.join(sys.argv[1], "index.json")))
manifest = json.load(open(os.path.join(blobs, index["manifests"][0]["digest"].split(":")[1])))
print(",".join(["/v2/soak/small/manifests/v1", "/v2/soak/small/blobs/" + manifest["config"]["digest"],
                "/v2/soak/small/blobs/" + manifest["layers"][0]["digest"], "/v2/"]))
PY
)"

# shellcheck disable=SC2086,SC2163 # REGTRACE_ENV is a list of NAME=VALUE words, exported each
[[ -z ${REGTRACE_ENV:-} ]] || export ${REGTRACE_ENV}
start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --threads "$threads"
fds_start=$(fd_count)
log "regtrace $bin on 127.0.0.1:$REGTRACE_PORT ($threads threads, $fds_start descriptors), registry $registry"

# run_load NAME TUNNELS REQUESTS NEW_CONN: starts the load client in the background (LOAD_PID); it holds
# its connections once RUN_DIR/NAME.ready exists, until RUN_DIR/NAME.release does.
run_load() {
  local name="$1"
  rm -f "$RUN_DIR/$name.ready" "$RUN_DIR/$name.release"
  python3 "$root/scripts/soak/load.py" --proxy "127.0.0.1:$REGTRACE_PORT" --target "$registry" \
    --ca "$REGTRACE_CA" --paths "$paths" --tunnels "$2" --requests "$3" --new-conn-requests "$4" \
    --new-conn-parallel "$new_conn_parallel" --ready "$RUN_DIR/$name.ready" --release "$RUN_DIR/$name.release" \
    --out "$RUN_DIR/$name.json" >"$RUN_DIR/$name.log" 2>&1 &
  LOAD_PID=$!
  E2E_PIDS+=("$LOAD_PID")
}
# wait_held NAME: until the load client holds its connections (or ended).
wait_held() {
  until [[ -e $RUN_DIR/$1.ready ]] || ! kill -0 "$LOAD_PID" 2>/dev/null; do sleep 0.1; done
}
# finish_load NAME: lets the load client go and waits for it (its exit status is its errors: not fatal).
finish_load() {
  touch "$RUN_DIR/$1.release"
  wait "$LOAD_PID" || true
  [[ -s $RUN_DIR/$1.json ]] || fail "the load client of $1 wrote no result (its log: $1.log)"
}
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$RUN_DIR/$1.json" "$2"; }

sent=0
errors=0
printf '%-6s %8s %7s %9s %9s %8s %9s %10s %8s %8s\n' round ok errors peak_MiB held_MiB fds_held fds_after fds_idle cpu_s seconds
for ((round = 1; round <= rounds; round++)); do
  reset_peak
  cpu_before=$(cpu_seconds)
  started=$SECONDS
  run_load "round$round" "$tunnels" "$requests" "$new_conn_requests"
  wait_held "round$round"
  peak=$(status_kib VmHWM)
  held=$(status_kib VmRSS)
  fds_held=$(fd_count)
  [[ -z ${SOAK_AT_HOLD:-} ]] || REGTRACE_PID="$REGTRACE_PID" bash -c "$SOAK_AT_HOLD" || true
  finish_load "round$round"
  elapsed=$((SECONDS - started))
  cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds)" 'BEGIN {printf "%.2f", b - a}')
  # Right after: the clients' connections are gone; the pool keeps up to 16 idle per host and worker.
  fds_after=$(settle_fds $((fds_start + 16 * threads)))
  # Once the pool's idle timeout passed, with no request since: the pool closed them too.
  sleep $((pool_idle_seconds + 1))
  fds_idle=$(settle_fds "$fds_start")
  ok=$(field "round$round" requests_ok)
  round_errors=$(field "round$round" errors)
  sent=$((sent + requests + new_conn_requests))
  errors=$((errors + round_errors))
  printf '%-6s %8s %7s %9s %9s %8s %9s %10s %8s %8s\n' "$round" "$ok" "$round_errors" "$(mib "$peak")" \
    "$(mib "$held")" "$fds_held" "$fds_after" "$fds_idle" "$cpu" "$elapsed"
  [[ $round_errors == 0 ]] || python3 -c 'import json, sys; [print("  ", s) for s in json.load(open(sys.argv[1]))["error_samples"]]' "$RUN_DIR/round$round.json"
  ((fds_idle <= fds_start)) || log "round $round: $fds_idle descriptors after the pool's idle timeout, $fds_start at start"
  ((check == 0 || fds_idle <= fds_start)) || fail "descriptors not back to start: $fds_idle (start $fds_start)"
done

# ---- the stop, with every connection open (one request each first, so each is a kept-alive tunnel) ----
run_load stop "$tunnels" "$tunnels" 0
wait_held stop
sent=$((sent + tunnels))
log "stopping regtrace with $(cat "$RUN_DIR/stop.ready" 2>/dev/null || echo 0) connections open ($(fd_count) descriptors)"
stop_started=$(date +%s.%N)
kill -TERM "$REGTRACE_PID"
while kill -0 "$REGTRACE_PID" 2>/dev/null && [[ -d /proc/$REGTRACE_PID ]] &&
  [[ $(awk '{print $3}' "/proc/$REGTRACE_PID/stat" 2>/dev/null) != Z ]]; do
  sleep 0.01
done
stop_seconds=$(awk -v a="$stop_started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
wait "$REGTRACE_PID" || log "regtrace exited with status $? on SIGTERM"
finish_load stop
stop_errors=$(field stop errors)
errors=$((errors + stop_errors))

# ---- the trace: every request an entry ----
read -r entries clean upstreams < <(python3 - "$REGTRACE_HAR" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
clean = sum(1 for e in entries if e["response"]["status"] == 200 and not e.get("_regtrace", {}).get("failure"))
upstreams = len({e.get("_regtrace", {}).get("upstream_connection_id") for e in entries})
print(len(entries), clean, upstreams)
PY
)
log "stop with $tunnels connections open: $stop_seconds s (target <= 2 s)"
log "errors: $errors; HAR: $entries entries for $sent requests sent, $clean of them a clean 200;" \
  "$upstreams upstream connections opened for them"
((check == 0)) || {
  ((errors == 0)) || fail "$errors requests failed"
  ((entries == sent)) || fail "the HAR holds $entries entries for $sent requests"
  ((clean == sent)) || fail "$((sent - clean)) entries are not a clean 200"
}
log "done"
