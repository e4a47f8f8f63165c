#!/usr/bin/env bash
# Performance measures of SPEC.md §7, side by side in one run on this machine (not a test: it
# reports, it does not fail on a missed target). Four set-ups do the same work against one TLS
# registry: direct (no proxy), regtrace (recording and hashing on), mitmproxy (Debian's mitmdump,
# default: holds whole bodies) and mitmproxy-stream (mitmdump --set stream_large_bodies=1m).
# TLS on every leg; through a proxy the client sends CONNECT and does TLS with the proxy's leaf.
#
#  blob_get_mbps        a GET of the image's big layer blob (curl --http1.1), 1 GiB unless --quick
#  cpu_s_per_gib        the proxy's CPU seconds (utime + stime from /proc/PID/stat) per GiB relayed
#  machine_cpu_s_per_gib  the whole machine's busy CPU seconds (/proc/stat) per GiB during that GET:
#                       client, registry, kernel and proxy together. On a machine whose cores the
#                       direct GET already keeps busy, it bounds what any proxy can reach
#  crypto_floor_s_per_gib  regtrace only: the cryptography its relay cannot avoid, per GiB, measured with
#                       `openssl speed` in the same run (16 KiB blocks): decrypting with the upstream leg's
#                       suite, encrypting with the client leg's (both read from the trace) and SHA-256
#  cpu_over_floor       regtrace's cpu_s_per_gib / crypto_floor_s_per_gib: the relay's own cost (copies,
#                       system calls, the kernel's TCP work, wake-ups) on top of that floor
#  tcp_relay_s_per_gib  the CPU per GiB of a plain TCP relay over loopback (scripts/bench/tcp_relay_cost.py):
#                       the kernel's copies and TCP work that any user-space TLS relay pays on top of the
#                       cryptography (without kernel TLS, which moves the cryptography into the kernel)
#  cpu_over_relay_floor regtrace's cpu_s_per_gib / (crypto floor + tcp relay): its cost over the sum of the
#                       two things it cannot avoid
#  get_of_cpu_ceiling   regtrace's GET against the fastest the machine's cores allow at the busy CPU that GET
#                       used per GiB (cores / machine_cpu_s_per_gib): near 1, the cores were the limit
#  peak_rss_mib         each proxy's VmHWM right after the blob GETs
#  head_latency_ms      median time of a manifest HEAD on one kept-alive connection (curl, sequential)
#  keepalive_rps        manifest HEADs/s, 64 clients on kept-alive connections (hey)
#  new_conn_rps         manifest HEADs/s, 64 clients, a new connection per request (hey
#                       -disable-keepalive: TCP + CONNECT + TLS each time, as dockerd does)
#  docker_pull_s        `docker pull` of the image (one layer of the blob's size), one dockerd per set-up
#  leaf_new_host_ms     regtrace only: CONNECT + TLS handshake to a host name it has not seen, minus
#                       the same to a name it has (the leaf certificate it mints), curl per connection
#  connect_tls_ms       regtrace only: CONNECT + TLS handshake to a name it has seen (context)
# Rounds alternate the set-ups so all see the same page cache and machine load; each figure is the
# median of the rounds. Tools: hey, not wrk, for the load (wrk cannot use a proxy, so no CONNECT; hey
# is Go's HTTP client, as dockerd is: CONNECT + TLS per connection, TCP_NODELAY); curl for the latency
# (hey prints times to 0.1 ms, too coarse against a 0.2 ms target; curl's are to the microsecond).
#
# usage: scripts/bench.sh [--quick] [--rounds N] [--blob-mib N] [--max-seconds N] [--no-docker] [--out FILE]
#   --quick      64 MiB, 1 round, short load phases: to check the script, not to quote figures
#   --max-seconds N  time allowed to one big transfer (default 300). Only mitmproxy's default mode
#                may run out of it (it buffers whole bodies, at a cost that grows faster than the
#                size): it then gets a bound ("<" or ">") and is left out of later big transfers
#   --no-docker  skip the docker pull measure (it needs root: dockerd, /etc/docker/certs.d)
#   --out FILE   the JSON results (default: bench-results.json in the current folder)
# env: BUILD_DIR (default build/), REGTRACE_BIN (use this binary instead of building), KEEP_RUN_DIR=1.
# Needs root: packages, dockerd, and an /etc/hosts line for the registry's name (removed at exit).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# usage [CODE]: the usage lines of the header; on stdout for --help, on stderr after a mistake.
usage() {
  local code="${1:-2}"
  sed -n '/^# usage:/,/^# Needs root/p' "$0" | sed 's/^# \{0,1\}//' >&"$((code == 0 ? 1 : 2))"
  exit "$code"
}
out="bench-results.json"
rounds=3
blob_mib=1024
load_seconds=10     # each hey phase
latency_requests=1000
leaf_names=30       # new host names per round
clients=64
max_seconds=300     # per big transfer (layer GET, docker pull)
docker=1
quick=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; rounds=1; blob_mib=64; load_seconds=2; latency_requests=200; leaf_names=10 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --blob-mib) blob_mib="${2:?--blob-mib needs a number}"; shift ;;
    --max-seconds) max_seconds="${2:?--max-seconds needs a number}"; shift ;;
    --no-docker) docker=0 ;;
    --out) out="${2:?--out needs a file name}"; shift ;;
    -h | --help) usage 0 ;;
    *) echo "bench.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
for n in "$rounds" "$blob_mib" "$max_seconds"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --rounds, --blob-mib and --max-seconds take positive numbers (got '$n')" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "bench.sh: run as root (packages, dockerd, /etc/hosts, /etc/docker/certs.d)" >&2; exit 1; }
out="$(realpath -m "$out")"

"$root/scripts/install-deps.sh" bench
bin="${REGTRACE_BIN:-}"
if [[ -z $bin ]]; then
  build_dir="${BUILD_DIR:-$root/build}"
  [[ -f $build_dir/build.ninja ]] || cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  ninja -C "$build_dir" regtrace >&2
  bin="$build_dir/regtrace"
fi
[[ -x $bin ]] || { echo "bench.sh: no regtrace binary at $bin" >&2; exit 1; }

# shellcheck source=../tests/e2e/lib/lib.sh
source "$root/tests/e2e/lib/lib.sh"
# shellcheck source=bench/setup.sh
source "$root/scripts/bench/setup.sh"
e2e_init
measures="$RUN_DIR/measures.tsv" # name, unit, compare, target, direction, description
samples="$RUN_DIR/samples.tsv"   # name, setup, value (one line per round; <N or >N: a bound)
notes="$RUN_DIR/notes.tsv"       # setup, text
: >"$measures"
: >"$samples"
: >"$notes"
declare -A too_slow # setups that ran out of max_seconds on a big transfer: not run again on those
setups=(direct regtrace mitmproxy mitmproxy-stream)
proxies=(regtrace mitmproxy mitmproxy-stream)

# define NAME UNIT COMPARE TARGET DIRECTION DESCRIPTION: a row of the table (SPEC.md §7 target).
define() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$measures"; }
# sample NAME SETUP VALUE: one round's figure.
sample() {
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$samples"
  log "$1 $2 = $3"
}
# note SETUP TEXT: a remark printed under the table and kept in the JSON.
note() {
  printf '%s\t%s\n' "$1" "$2" >>"$notes"
  log "note on $1: $2"
}
# may_time_out SETUP: only mitmproxy's default mode (whole bodies in memory, and its cost grows faster
# than the size: about 60 s for 128 MiB on the 2-core VM) may run out of --max-seconds; a bound is
# recorded for it. Anything else out of time is a failure.
may_time_out() { [[ $1 == mitmproxy ]]; }
peak_rss_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/${proxy_pid[$1]}/status"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# --- (1) and (5): the big layer GET, the proxies' CPU per GiB and their peak RSS.

# get_speed SETUP: one GET of the layer blob to /dev/null, at most max_seconds; prints bytes/s, or
# "timeout" when only mitmproxy's buffering mode ran out of time (anything else out of time fails).
get_speed() {
  local status size speed
  via_args curl "$1"
  read -r status size speed < <(curl -sS --http1.1 -o /dev/null --max-time "$max_seconds" \
    -w '%{http_code} %{size_download} %{speed_download}\n' "${via[@]}" \
    "https://$registry/v2/bench/big/blobs/$layer_digest" 2>"$RUN_DIR/get-$1.err" || true)
  if [[ $status == 200 && $size == "$layer_size" ]]; then echo "$speed"; return; fi
  grep -q 'Operation timed out' "$RUN_DIR/get-$1.err" && may_time_out "$1" && { echo timeout; return; }
  fail "the layer GET ($1) answered ${status:-nothing} with ${size:-0} bytes, expected 200 with $layer_size: $(cat "$RUN_DIR/get-$1.err")"
}

measure_blob_get() {
  define blob_get_mbps MB/s ratio 0.85 min "GET of a ${blob_mib} MiB layer blob, curl --http1.1"
  define cpu_s_per_gib s value "" "" "the proxy's CPU seconds (user + system) per GiB during blob_get"
  define machine_cpu_s_per_gib s value "" "" "the machine's busy CPU seconds per GiB during blob_get (all processes and the kernel)"
  define peak_rss_mib MiB value 40 max "the proxy's peak RSS (VmHWM) after the blob GETs"
  get_speed direct >/dev/null # warm the page cache
  local r s before speed machine_before machine_after
  for ((r = 1; r <= rounds; r++)); do
    for s in "${setups[@]}"; do
      [[ -z ${too_slow[$s]:-} ]] || continue
      [[ $s == direct ]] || before="$(cpu_ticks "${proxy_pid[$s]}")"
      machine_before="$(machine_busy_ticks)"
      speed="$(get_speed "$s")"
      machine_after="$(machine_busy_ticks)"
      if [[ $speed == timeout ]]; then
        # The bound, the memory it had reached, and a fresh process: the old one would go on
        # buffering and take CPU from the next measures.
        sample blob_get_mbps "$s" "<$(awk -v b="$layer_size" -v t="$max_seconds" 'BEGIN {printf "%.1f", b / t / 1e6}')"
        sample peak_rss_mib "$s" ">$(peak_rss_mib "$s")"
        note "$s" "did not deliver the ${blob_mib} MiB layer within ${max_seconds}s (--max-seconds); not run again on big transfers"
        too_slow[$s]=1
        restart_mitmdump "$s"
        continue
      fi
      sample blob_get_mbps "$s" "$(awk -v v="$speed" 'BEGIN {printf "%.1f", v / 1e6}')"
      sample machine_cpu_s_per_gib "$s" "$(awk -v t="$((machine_after - machine_before))" \
        -v hz="$(getconf CLK_TCK)" -v b="$layer_size" 'BEGIN {printf "%.3f", t / hz / (b / 2^30)}')"
      [[ $s == direct ]] || sample cpu_s_per_gib "$s" "$(awk -v t="$(($(cpu_ticks "${proxy_pid[$s]}") - before))" \
        -v hz="$(getconf CLK_TCK)" -v b="$layer_size" 'BEGIN {printf "%.3f", t / hz / (b / 2^30)}')"
    done
  done
  for s in "${proxies[@]}"; do
    [[ -n ${too_slow[$s]:-} ]] || sample peak_rss_mib "$s" "$(peak_rss_mib "$s")"
  done
}

# suite_cipher SUITE: the `openssl speed -evp` name of a TLS suite's bulk cipher (TLS 1.3 and 1.2 names).
suite_cipher() {
  case "$1" in
    *AES_128_GCM* | *AES128-GCM*) echo aes-128-gcm ;;
    *AES_256_GCM* | *AES256-GCM*) echo aes-256-gcm ;;
    *CHACHA20*) echo chacha20-poly1305 ;;
    *) return 1 ;;
  esac
}

# speed_s_per_gib ARGS...: CPU seconds per GiB of `openssl speed -evp ARGS` on 16 KiB blocks.
speed_s_per_gib() {
  openssl speed -seconds 3 -bytes 16384 -evp "$@" 2>/dev/null |
    awk 'END {v = $NF; sub(/k$/, "", v); printf "%.4f", 2^30 / (v * 1000)}'
}

# measure_crypto_floor: regtrace's CPU per GiB against the cryptography it must do (see the header).
measure_crypto_floor() {
  define crypto_floor_s_per_gib s value "" "" "decrypt (upstream suite) + encrypt (client suite) + SHA-256 per GiB, openssl speed"
  define cpu_over_floor x value 1.15 max "regtrace's CPU per GiB over the crypto floor measured in this run"
  define tcp_relay_s_per_gib s value "" "" "CPU per GiB of a plain TCP relay over loopback (no TLS), same run"
  define cpu_over_relay_floor x value "" "" "regtrace's CPU per GiB over crypto floor + plain TCP relay"
  define get_of_cpu_ceiling x value "" "" "regtrace's GET / (cores / machine CPU s per GiB of that GET)"
  local suites client upstream floor cpu machine mbps tcp_relay
  read -r client upstream < <(python3 - "$REGTRACE_HAR" "$layer_digest" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
for e in reversed(entries):
    r = e.get("_regtrace", {})
    if e["request"]["url"].endswith(sys.argv[2]) and "client_tls" in r and "upstream_tls" in r:
        print(r["client_tls"]["cipher"], r["upstream_tls"]["cipher"])
        break
PY
  )
  client="$(suite_cipher "${client:-}")" && upstream="$(suite_cipher "${upstream:-}")" ||
    { note regtrace "no crypto floor: the trace names no known suites for the layer GET"; return; }
  floor="$(awk -v d="$(speed_s_per_gib "$upstream" -decrypt)" -v e="$(speed_s_per_gib "$client")" \
    -v h="$(speed_s_per_gib sha256)" 'BEGIN {printf "%.3f", d + e + h}')"
  note regtrace "crypto floor: $upstream decrypt + $client encrypt + sha256 = $floor s/GiB"
  cpu="$(awk -F'\t' '$1 == "cpu_s_per_gib" && $2 == "regtrace" {print $3}' "$samples" | median)"
  machine="$(awk -F'\t' '$1 == "machine_cpu_s_per_gib" && $2 == "regtrace" {print $3}' "$samples" | median)"
  mbps="$(awk -F'\t' '$1 == "blob_get_mbps" && $2 == "regtrace" {print $3}' "$samples" | median)"
  sample crypto_floor_s_per_gib regtrace "$floor"
  sample cpu_over_floor regtrace "$(awk -v c="$cpu" -v f="$floor" 'BEGIN {printf "%.3f", c / f}')"
  tcp_relay="$(python3 "$root/scripts/bench/tcp_relay_cost.py" "$(awk -v b="$layer_size" 'BEGIN {print b / 2^30}')")"
  note regtrace "plain TCP relay of the same bytes over loopback: $tcp_relay s/GiB"
  sample tcp_relay_s_per_gib regtrace "$tcp_relay"
  sample cpu_over_relay_floor regtrace "$(awk -v c="$cpu" -v f="$floor" -v t="$tcp_relay" 'BEGIN {printf "%.3f", c / (f + t)}')"
  sample get_of_cpu_ceiling regtrace "$(awk -v m="$mbps" -v b="$machine" -v n="$(nproc)" \
    'BEGIN {printf "%.3f", m * 1e6 / (n / b * 2^30)}')"
}

# --- (2) small requests: latency on one kept-alive connection, and 64 clients kept alive.

measure_head_latency() {
  define head_latency_ms ms added 0.2 max \
    "median of $latency_requests manifest HEADs in a row on one kept-alive connection (curl), the first left out"
  local config="$RUN_DIR/latency.curlrc" r s i
  for ((i = 0; i < latency_requests + 1; i++)); do
    printf 'url = "%s"\noutput = "/dev/null"\n' "$manifest_url"
  done >"$config"
  for ((r = 1; r <= rounds; r++)); do
    for s in "${setups[@]}"; do
      via_args curl "$s"
      curl -sS --http1.1 --head -H "Accept: $oci_manifest" -w '%{http_code} %{num_connects} %{time_total}\n' \
        "${via[@]}" -K "$config" >"$RUN_DIR/latency-$s.txt" || fail "curl failed measuring the HEAD latency ($s)"
      # Every answer 200, one connection for all of them (curl says how many it opened per transfer).
      awk 'NR > 1 && $2 != 0 {exit 1} $1 != 200 {exit 1}' "$RUN_DIR/latency-$s.txt" ||
        fail "the HEAD latency run ($s) did not get 200 on one kept-alive connection (see latency-$s.txt)"
      sample head_latency_ms "$s" "$(awk 'NR > 1 {printf "%.4f\n", $3 * 1000}' "$RUN_DIR/latency-$s.txt" | median)"
    done
  done
}

# run_hey NAME SETUP HEY_ARGS...: hey for load_seconds against the manifest; prints requests/s after
# checking that every answer was a 200 and no request failed.
run_hey() {
  local name="$1" setup="$2" file="$RUN_DIR/hey-$1-$2.txt"; shift 2
  via_args hey "$setup"
  hey -z "${load_seconds}s" -c "$clients" -m HEAD -H "Accept: $oci_manifest" "${via[@]}" "$@" \
    "$manifest_url" >"$file" 2>&1 || fail "hey failed ($name, $setup): see $file"
  ! grep -q 'Error distribution' "$file" || fail "requests failed under load ($name, $setup): $(grep -A3 'Error distribution' "$file" | tr -s ' \n' ' ')"
  ! grep -E '^\s+\[[0-9]+\]' "$file" | grep -qv '\[200\]' || fail "answers other than 200 under load ($name, $setup): see $file"
  awk '/Requests\/sec:/ {printf "%.1f", $2}' "$file"
}

measure_keepalive() {
  define keepalive_rps req/s ratio 0.5 min "manifest HEADs, $clients clients on kept-alive connections for ${load_seconds}s (hey)"
  local r s
  for ((r = 1; r <= rounds; r++)); do
    for s in "${setups[@]}"; do sample keepalive_rps "$s" "$(run_hey keepalive "$s")"; done
  done
}

# --- (3) a new connection for every request: TCP, CONNECT, TLS with the proxy, TLS upstream.

measure_new_connections() {
  define new_conn_rps req/s ratio 0.5 min \
    "manifest HEADs, $clients clients, a new connection per request for ${load_seconds}s (hey -disable-keepalive)"
  local r s
  for ((r = 1; r <= rounds; r++)); do
    for s in "${setups[@]}"; do sample new_conn_rps "$s" "$(run_hey new-conn "$s" -disable-keepalive)"; done
  done
}

# --- (6) regtrace's leaf certificate for a new host, seen from the client.

# handshake_ms NAME: CONNECT + TLS handshake through regtrace to https://NAME/v2/ (a fresh curl, so
# no TLS session to resume), in ms.
handshake_ms() {
  local code connect app
  via_args curl regtrace
  read -r code connect app < <(curl -sS --http1.1 -o /dev/null -w '%{http_code} %{time_connect} %{time_appconnect}\n' \
    "${via[@]}" "https://$1/v2/")
  [[ $code == 200 ]] || fail "GET https://$1/v2/ through regtrace answered $code"
  awk -v c="$connect" -v a="$app" 'BEGIN {printf "%.4f", (a - c) * 1000}'
}

measure_leaf() {
  define leaf_new_host_ms ms value 5 max \
    "median CONNECT+TLS to a new host name minus to a known one, $leaf_names names per round (curl)"
  define connect_tls_ms ms value "" "" "median CONNECT+TLS handshake through the proxy to a known host name"
  local r i new=() known=()
  handshake_ms "$registry" >/dev/null # the known name's leaf exists from here on
  for ((r = 1; r <= rounds; r++)); do
    new=() known=()
    for ((i = 1; i <= leaf_names; i++)); do
      new+=("$(handshake_ms "$(leaf_name "$r" "$i")")")
      known+=("$(handshake_ms "$registry")")
    done
    local n k
    n="$(printf '%s\n' "${new[@]}" | median)"
    k="$(printf '%s\n' "${known[@]}" | median)"
    sample leaf_new_host_ms regtrace "$(awk -v n="$n" -v k="$k" 'BEGIN {printf "%.4f", n - k}')"
    sample connect_tls_ms regtrace "$k"
  done
}

# --- (4) docker pull, one daemon per set-up, all of them trusting the three CAs for the registry.

measure_docker_pull() {
  define docker_pull_s s ratio 1.15 max "docker pull of the image (one ${blob_mib} MiB layer), dockerd 20.10, vfs"
  start_dockerds
  local r s t0 t1 rc
  for ((r = 1; r <= rounds; r++)); do
    for s in "${setups[@]}"; do
      if [[ -n ${too_slow[$s]:-} ]]; then
        # The layer GET alone took longer than max_seconds; the pull includes that GET.
        ((r > 1)) || sample docker_pull_s "$s" ">$max_seconds"
        continue
      fi
      t0="$(date +%s.%N)"
      rc=0
      timeout "$max_seconds" "$DOCKER_CLI" -H "${docker_host[$s]}" pull "$image" >"$RUN_DIR/docker-pull-$s.log" 2>&1 || rc=$?
      t1="$(date +%s.%N)"
      if ((rc == 124)) && may_time_out "$s"; then
        sample docker_pull_s "$s" ">$max_seconds"
        note "$s" "docker pull did not finish within ${max_seconds}s (--max-seconds)"
        too_slow[$s]=1
        restart_mitmdump "$s"
        continue
      fi
      ((rc == 0)) || fail "docker pull through $s failed (exit $rc): $(tail -n 3 "$RUN_DIR/docker-pull-$s.log")"
      sample docker_pull_s "$s" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')"
      run_logged "docker-rmi-$s" "$DOCKER_CLI" -H "${docker_host[$s]}" rmi "$image"
    done
  done
}

report() {
  python3 - "$RUN_DIR/run.json" <<PY
import json, os, subprocess, sys
def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return ""
json.dump({
    "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "cores": os.cpu_count(), "rounds": $rounds, "quick": bool($quick),
    "layer_bytes": $layer_size, "clients": $clients, "load_seconds": $load_seconds,
    "load_average_start": "$load_start", "load_average_end": open("/proc/loadavg").read().split()[0],
    "note": "load average $load_start at the start on $(nproc) cores" + (", --quick: not for quoting" if $quick else ""),
    "versions": {"regtrace": version(["$bin", "--version"]), "mitmdump": version(["mitmdump", "--version"]),
                 "curl": version(["curl", "--version"]), "docker": version(["$DOCKER_CLI", "--version"])},
}, open(sys.argv[1], "w"))
PY
  python3 "$root/scripts/bench/report.py" "$measures" "$samples" "$notes" "$RUN_DIR/run.json" "$out"
}

load_start="$(cut -d' ' -f1 /proc/loadavg)"
setup_registry
start_proxies
measure_blob_get
measure_crypto_floor
measure_head_latency
measure_keepalive
measure_new_connections
measure_leaf
if ((docker)); then measure_docker_pull; fi
report
