#!/usr/bin/env bash
# End to end: the two connection patterns of registry clients, through regtrace to the distribution
# registry. Docker Engine 20.10 opens a new connection per registry request, and so do skopeo and
# podman (containers/image turns keep-alive off); Docker Engine 29.4+ and containerd keep one
# connection for many requests (test-containerd.sh checks ctr's reuse).
#  1. skopeo pulls a 3-layer image: the trace must show one request per connection, hold every request
#     the registry served, raise no ERROR or CRITICAL finding, and the report must name skopeo.
#  2. hey (Go's HTTP client, as dockerd's) sends the same refused request 12 times, once on one
#     kept-alive connection and once with a new connection per request: each trace must show its
#     pattern (request_index 1..12 on one connection_id, or 12 connections), and both must give the same
#     findings (B-05, once, with all 12 requests as evidence).
#
# usage: test-keepalive.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"
[[ $# -eq 1 && -x $1 ]] || fail "usage: $0 REGTRACE_BIN (got '${1:-}', which is not an executable)"
bin="$(realpath "$1")"

"$E2E_ROOT/scripts/install-deps.sh" test
command -v hey >/dev/null || fail "hey is not installed (scripts/install-deps.sh test installs it)"
e2e_init

start_registry_with_user
log "registry $registry (user $user)"
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,1M,8M >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/app:v1 "$user:$password"

# ---- 1. skopeo pulls, a new connection per request ----
start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
mkdir -p "$RUN_DIR/regtrace-ca"
cp "$REGTRACE_CA" "$RUN_DIR/regtrace-ca/ca.crt"
# The registry's access log has one line per request it answered: "GET /v2/ HTTP/1.1" 401 ...
access_lines() { grep -cE '"(GET|HEAD|POST|PUT|PATCH|DELETE) [^"]* HTTP/[0-9.]+" [0-9]{3} ' "$RUN_DIR/registry/registry.log" || true; }
served_before="$(access_lines)"
run_logged skopeo-pull env HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT" REGISTRY_AUTH_FILE="$RUN_DIR/auth.json" \
  skopeo --policy "$(skopeo_policy)" copy --src-cert-dir "$RUN_DIR/regtrace-ca" --src-creds "$user:$password" \
  "docker://$registry/e2e/app:v1" "oci:$RUN_DIR/pulled:v1"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
served=$(($(access_lines) - served_before))
python3 "$here/lib/check_connections.py" "$REGTRACE_HAR" --pattern per-request --served "$served" ||
  fail "the skopeo trace does not show one request per connection, or misses requests (see above)"
assert_no_error_findings "$REGTRACE_HAR"
assert_report_clean "$bin" "$REGTRACE_HAR"
"$bin" report --format json -o "$RUN_DIR/skopeo-report.json" "$REGTRACE_HAR" 2>/dev/null
python3 - "$RUN_DIR/skopeo-report.json" "$REGTRACE_HAR" <<'PY' || fail "the report or the trace does not name skopeo as the only client"
import json, sys
in_report = json.load(open(sys.argv[1]))["clients"]
in_trace = json.load(open(sys.argv[2]))["log"]["_regtrace"]["clients"]
assert [c["runtime"] for c in in_report] == ["skopeo"], in_report
assert in_trace == in_report, f"trace {in_trace} != report {in_report}"
PY
log "skopeo's pull: every request recorded on its own connection, no ERROR finding, skopeo named"

# ---- 2. the same refused request, kept alive and a new connection each time ----
wrong="$(printf '%s' "$user:wrong-$(openssl rand -hex 4)" | base64 -w0)"
# refused_by_hey NAME [HEY_OPTIONS]: 12 requests with refused credentials through a fresh regtrace.
refused_by_hey() {
  local name="$1"; shift
  start_regtrace "$bin" "$RUN_DIR/$name" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
  run_logged "hey-$name" hey -n 12 -c 1 "$@" -x "http://127.0.0.1:$REGTRACE_PORT" -H "Authorization: Basic $wrong" \
    "https://$registry/v2/e2e/app/manifests/v1"
  stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
}
refused_by_hey kept-alive
kept_har="$REGTRACE_HAR"
refused_by_hey new-connections -disable-keepalive
new_har="$REGTRACE_HAR"
python3 - "$kept_har" "$new_har" <<'PY' || fail "the two connection patterns do not give the same findings (see above)"
import json, sys
def read(path):
    log = json.load(open(path))["log"]
    entries = log["entries"]
    assert len(entries) == 12 and all(e["response"]["status"] == 401 for e in entries), \
        f"{path}: {[e['response']['status'] for e in entries]}"
    connections = [(e["_regtrace"]["connection_id"], e["_regtrace"]["request_index"]) for e in entries]
    findings = sorted((f["id"], f["severity"], len(f["evidence"])) for f in log.get("_findings", []))
    return connections, findings
kept, kept_findings = read(sys.argv[1])
new, new_findings = read(sys.argv[2])
assert len({c for c, _ in kept}) == 1 and [i for _, i in kept] == list(range(1, 13)), f"kept alive: {kept}"
assert len({c for c, _ in new}) == 12 and {i for _, i in new} == {1}, f"new connections: {new}"
assert kept_findings == new_findings, f"kept alive {kept_findings} != new connections {new_findings}"
assert ("B-05", "critical", 12) in kept_findings, f"no single B-05 with the 12 requests: {kept_findings}"
print(f"both patterns: {kept_findings}")
PY
assert_no_secret "$kept_har" "$wrong"
assert_no_secret "$new_har" "$wrong"
log "PASS: kept-alive and per-request connections through regtrace: reuse recorded, every request an entry, same findings"
