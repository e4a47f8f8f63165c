# Helpers for the end-to-end tests: a real TLS registry, regtrace, process and temp-dir hygiene.
# Source it, then call e2e_init. Everything started through these helpers is stopped, and the run
# folder removed, when the script exits for any reason; on failure the tail of every log is printed
# first (KEEP_RUN_DIR=1 keeps the folder for a closer look).
# shellcheck shell=bash

E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
E2E_PIDS=()
E2E_EXIT_HOOKS=() # commands (strings) run at exit, last registered first, before E2E_PIDS are stopped
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

# e2e_begin "$@": a test script's start. Checks its one argument (the regtrace binary, set as `bin`),
# installs the test packages and creates the run folder.
e2e_begin() {
  [[ $# -eq 1 && -x $1 ]] || fail "usage: $0 REGTRACE_BIN (got '${1:-}', which is not an executable)"
  bin="$(realpath "$1")"
  "$E2E_ROOT/scripts/install-deps.sh" test
  e2e_init
}

# on_exit CMD: run CMD (one string) when the script exits for any reason. For what the PID list cannot
# undo: a daemon with children and mounts, a file outside the run folder.
on_exit() { E2E_EXIT_HOOKS+=("$1"); }

e2e_cleanup() {
  local rc=$? pid i
  set +e
  for ((i = ${#E2E_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do eval "${E2E_EXIT_HOOKS[i]}"; done
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
# in DIR/data, deletes enabled, Basic auth when an htpasswd file is given. Sets REGISTRY_PID and
# REGISTRY_PORT.
start_registry() {
  local dir="$1" port="$2" htpasswd="${3:-}"
  REGISTRY_PORT="$port"
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

# start_registry_with_user: start_registry with htpasswd Basic auth for a fresh random user. Sets user,
# password and registry (the name regtrace resolves: registry.test:PORT).
start_registry_with_user() {
  user="e2e-$(openssl rand -hex 3)"
  password="$(openssl rand -hex 12)"
  htpasswd -Bbn "$user" "$password" >"$RUN_DIR/htpasswd"
  start_registry "$RUN_DIR/registry" "$(free_port)" "$RUN_DIR/htpasswd"
  registry="registry.test:$REGISTRY_PORT"
}

# skopeo_policy: a signature policy that accepts anything, in the run folder (never the machine's).
skopeo_policy() {
  local policy="$RUN_DIR/policy.json"
  [[ -s $policy ]] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$policy"
  echo "$policy"
}

# push_layout_with_skopeo LAYOUT:TAG REPO:TAG USER:PASS: copy an OCI layout straight to the registry of
# start_registry (no proxy: seeding, not under test), blob digests preserved (TESTBED.md).
push_layout_with_skopeo() {
  run_logged skopeo-seed env REGISTRY_AUTH_FILE="$RUN_DIR/seed-auth.json" skopeo --policy "$(skopeo_policy)" \
    copy --preserve-digests --dest-cert-dir "$E2E_CA_DIR" --dest-creds "$3" "oci:$1" \
    "docker://localhost:$REGISTRY_PORT/$2"
}

# registry_manifest_digest REPO REF USER:PASS: the Docker-Content-Digest the registry answers for a
# manifest, asked directly (no proxy), accepting the Docker and OCI manifest types.
registry_manifest_digest() {
  curl -sSfI --cacert "$E2E_CERTS/ca.crt" -u "$3" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "https://localhost:$REGISTRY_PORT/v2/$1/manifests/$2" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}'
}

# start_regtrace BIN DIR ARGS...: regtrace proxy on a free loopback port, CA in DIR/ca, trace in
# DIR/trace.har. Sets REGTRACE_PID, REGTRACE_PORT, REGTRACE_CA (its ca.crt) and REGTRACE_HAR.
start_regtrace() {
  local bin="$1" dir="$2"; shift 2
  mkdir -p "$dir"
  # REGTRACE_REUSE_PORT: listen where a stopped regtrace listened (dockerd keeps its proxy address).
  REGTRACE_PORT="${REGTRACE_REUSE_PORT:-$(free_port)}"
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

# trace_failure BIN NAME REGISTRY: a fresh regtrace recording into RUN_DIR/NAME/trace.har, with the CA of
# RUN_DIR/regtrace (the one the client already trusts), REGISTRY mapped to loopback: one failure, one
# trace, as a support engineer would send it.
trace_failure() {
  local bin="$1" name="$2" registry="$3"
  mkdir -p "$RUN_DIR/$name"
  cp -a "$RUN_DIR/regtrace/ca" "$RUN_DIR/$name/ca"
  start_regtrace "$bin" "$RUN_DIR/$name" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
}

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

# ---- the Docker daemon (TESTBED.md): vfs, no network setup, its own data root, exec root and socket ----

# The programs of Debian's docker.io, by path: another docker CLI earlier on PATH (a newer one installed
# by hand) would make the run depend on the machine.
DOCKER_CLI=/usr/bin/docker
DOCKERD_BIN=/usr/sbin/dockerd
# shellcheck disable=SC2034 # used by the test scripts
CTR_BIN=/usr/bin/ctr

docker_answers() { "$DOCKER_CLI" version >/dev/null 2>&1; }

# start_dockerd DIR PROXY_URL: dockerd with HTTPS_PROXY=PROXY_URL (it reads its proxy only from the
# environment it starts with), everything under DIR. Exports DOCKER_HOST and DOCKER_CONFIG (the CLI's
# credentials stay in DIR, never in the machine's ~/.docker). Sets DOCKERD_PID and CONTAINERD_SOCK.
# stop_dockerd runs at exit whatever happens.
start_dockerd() {
  local dir="$1" proxy="$2"
  mkdir -p "$dir/config"
  export DOCKER_HOST="unix://$dir/docker.sock" DOCKER_CONFIG="$dir/config"
  # shellcheck disable=SC2034 # used by the test scripts
  CONTAINERD_SOCK="$dir/exec/containerd/containerd.sock"
  on_exit "stop_dockerd '$dir'"
  HTTPS_PROXY="$proxy" "$DOCKERD_BIN" --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    --data-root "$dir/root" --exec-root "$dir/exec" -H "$DOCKER_HOST" --pidfile "$dir/docker.pid" \
    >"$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  wait_until "dockerd (log: $dir/dockerd.log)" "$DOCKERD_PID" docker_answers
}

# kill_and_wait PID SECONDS: SIGTERM, then SIGKILL after SECONDS; never fails.
kill_and_wait() {
  local pid="$1" deadline=$((SECONDS + $2))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# stop_dockerd DIR: stop dockerd by its pid and the containerd it started (a SIGKILLed dockerd leaves
# it running), unmount whatever is still mounted under DIR (dockerd bind-mounts its data root onto
# itself) and remove the data. Safe to call twice and after a failed start.
stop_dockerd() {
  local dir="$1" pid mnt
  # Called under set -e by the test and by the exit trap: nothing here may end the script.
  pid="${DOCKERD_PID:-$(cat "$dir/docker.pid" 2>/dev/null || true)}"
  if [[ -n $pid ]]; then
    kill_and_wait "$pid" 30
    wait "$pid" 2>/dev/null || true
  fi
  pid="$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null || true)"
  if [[ -n $pid ]]; then kill_and_wait "$pid" 10; fi
  # Deepest first; the mount points are in field 5 of mountinfo.
  while IFS= read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done \
    < <(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf "$dir/root" "$dir/exec"
}

# docker_trust_regtrace BIN REGISTRY: regtrace's own `ca docker-trust` writes its CA (REGTRACE_CA's
# folder) as /etc/docker/certs.d/REGISTRY/ca.crt; the folder is removed at exit.
docker_trust_regtrace() {
  local bin="$1" registry="$2" entry="/etc/docker/certs.d/$2"
  [[ ! -e $entry ]] || fail "$entry already exists: it belongs to someone else, refusing to replace it"
  on_exit "rm -rf '$entry'"
  run_logged docker-trust "$bin" ca --ca-dir "$(dirname "$REGTRACE_CA")" docker-trust "$registry"
  # The file is the CA after regtrace's marker line (which untrust looks for).
  tail -n +2 "$entry/ca.crt" | cmp -s - "$REGTRACE_CA" || fail "regtrace ca docker-trust did not write $entry/ca.crt"
  head -n 1 "$entry/ca.crt" | grep -q 'regtrace ca untrust' || fail "$entry/ca.crt has no regtrace marker line"
}

# ---- assertions on a trace ----

# assert_no_secret HAR SECRET...: none of the secrets appears in the file's raw bytes.
assert_no_secret() {
  local har="$1" secret; shift
  for secret in "$@"; do
    ! grep -qF -e "$secret" "$har" || fail "a credential (${#secret} characters, starting ${secret:0:3}) appears in clear in $har"
  done
}

# assert_no_error_findings HAR: regtrace's own diagnosis (log._findings) names nothing at ERROR or
# CRITICAL on a flow that worked. Lists every finding (with its evidence) so a false alarm is a bug
# report by itself.
assert_no_error_findings() {
  python3 "$E2E_ROOT/tests/e2e/lib/har_findings.py" "$1" --fail-on error ||
    fail "regtrace diagnosed a healthy flow as failing (false alarm, see above)"
}

# assert_report_clean BIN HAR: the same through `regtrace report --fail-on error` (exit 0 = nothing at
# ERROR or above, 2 = a finding at or above, 1 = the trace could not be read).
assert_report_clean() {
  local rc=0
  "$1" report "$2" --fail-on error >"$RUN_DIR/report.log" 2>&1 || rc=$?
  ((rc == 0)) || fail "regtrace report --fail-on error exited $rc on a healthy trace (its output: report.log, below)"
}
