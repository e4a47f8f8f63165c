# Helpers for the end-to-end tests: a real TLS registry, regtrace, process and temp-dir hygiene.
# Source it, then call e2e_init. Everything started through these helpers is stopped, and the run
# folder removed, when the script exits for any reason; on failure the tail of every log is printed
# first (KEEP_RUN_DIR=1 keeps the folder for a closer look).
# shellcheck shell=bash

E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_PIDS=()
E2E_READY_SECONDS="${E2E_READY_SECONDS:-60}" # readiness bound, not a performance assertion

log() { echo "== $*" >&2; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Create the run folder (RUN_DIR) and arm the cleanup.
e2e_init() {
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/regtrace-e2e.XXXXXX")"
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # A proxy or a no-proxy list inherited from the machine would change where clients connect.
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
}

e2e_cleanup() {
  local rc=$? pid
  for pid in "${E2E_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${E2E_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 && -d ${RUN_DIR:-} ]]; then
    local f
    while IFS= read -r f; do
      echo "---- last lines of ${f#"$RUN_DIR"/} ----" >&2
      tail -n 40 "$f" >&2 || true
    done < <(find "$RUN_DIR" -name '*.log' -type f | sort)
  fi
  if [[ -d ${RUN_DIR:-} ]]; then
    if [[ ${KEEP_RUN_DIR:-0} == 1 ]]; then echo "run folder kept: $RUN_DIR" >&2; else rm -rf "$RUN_DIR"; fi
  fi
  exit "$rc"
}

# Print a TCP port that was free on 127.0.0.1 a moment ago.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Succeed when something listens on 127.0.0.1:PORT. Reads the socket table instead of connecting,
# so the check never shows up as an exchange in regtrace's trace.
port_listening() {
  [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# run_logged NAME CMD...: run CMD with its output in RUN_DIR/NAME.log; on failure say which step failed.
run_logged() {
  local name="$1"; shift
  "$@" >"$RUN_DIR/$name.log" 2>&1 || fail "$name failed (exit $?): $*"
}

# The test CA and server certificate, made once per run: E2E_CERTS/{ca.crt,ca.key,server.crt,server.key}.
# E2E_CA_DIR holds only ca.crt, the form skopeo's --*-cert-dir wants (a lone *.key there is an error).
e2e_certs() {
  E2E_CERTS="$RUN_DIR/certs"
  E2E_CA_DIR="$RUN_DIR/test-ca"
  [[ -s $E2E_CERTS/ca.crt ]] && return 0
  "$E2E_ROOT/scripts/gen-test-certs.sh" "$E2E_CERTS"
  mkdir -p "$E2E_CA_DIR"
  cp "$E2E_CERTS/ca.crt" "$E2E_CA_DIR/ca.crt"
}

# wait_until WHAT PID CMD...: poll CMD until it succeeds, failing early if PID dies.
wait_until() {
  local what="$1" pid="$2"; shift 2
  local deadline=$((SECONDS + E2E_READY_SECONDS))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited before it was ready"
    ((SECONDS < deadline)) || fail "$what was not ready after ${E2E_READY_SECONDS}s"
    sleep 0.1
  done
}

registry_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$E2E_CERTS/ca.crt" \
    --resolve "registry.test:$1:127.0.0.1" "https://registry.test:$1/v2/" || true)
  [[ $code == 200 || $code == 401 ]]
}

# start_registry DIR PORT [HTPASSWD]: the distribution registry with TLS on 127.0.0.1:PORT, storage
# in DIR/data, deletes enabled, Basic auth when an htpasswd file is given. Sets REGISTRY_PID.
start_registry() {
  local dir="$1" port="$2" htpasswd="${3:-}"
  e2e_certs
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: info, formatter: text}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
  tls: {certificate: $E2E_CERTS/server.crt, key: $E2E_CERTS/server.key}
YAML
  if [[ -n $htpasswd ]]; then
    printf 'auth: {htpasswd: {realm: regtrace-e2e, path: %s}}\n' "$htpasswd" >>"$dir/config.yml"
  fi
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  E2E_PIDS+=("$REGISTRY_PID")
  wait_until "the registry on port $port" "$REGISTRY_PID" registry_answers "$port"
}

# start_regtrace BIN DIR ARGS...: regtrace proxy on a free loopback port, CA in DIR/ca, trace in
# DIR/trace.har. Sets REGTRACE_PID, REGTRACE_PORT, REGTRACE_CA (its ca.crt) and REGTRACE_HAR.
start_regtrace() {
  local bin="$1" dir="$2"; shift 2
  mkdir -p "$dir"
  REGTRACE_PORT="$(free_port)"
  REGTRACE_CA="$dir/ca/ca.crt"
  REGTRACE_HAR="$dir/trace.har"
  "$bin" proxy --listen "127.0.0.1:$REGTRACE_PORT" --ca-dir "$dir/ca" --har "$REGTRACE_HAR" -q "$@" \
    >"$dir/regtrace.log" 2>&1 &
  REGTRACE_PID=$!
  E2E_PIDS+=("$REGTRACE_PID")
  wait_until "regtrace on port $REGTRACE_PORT (listening, with its CA at $REGTRACE_CA)" "$REGTRACE_PID" \
    regtrace_ready
}

regtrace_ready() { port_listening "$REGTRACE_PORT" && [[ -s $REGTRACE_CA ]]; }

# stop_pid PID [NAME]: SIGTERM, wait for the exit and return the process's exit status.
stop_pid() {
  local pid="$1" name="${2:-process $1}" rc=0 deadline=$((SECONDS + E2E_READY_SECONDS))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || { kill -KILL "$pid" 2>/dev/null; fail "$name did not exit within ${E2E_READY_SECONDS}s of SIGTERM"; }
    sleep 0.1
  done
  wait "$pid" || rc=$?
  local kept=() p
  for p in "${E2E_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  E2E_PIDS=("${kept[@]}")
  return "$rc"
}
