#!/usr/bin/env bash
# End to end, `--upstream-proxy` (SPEC §2): regtrace behind a corporate proxy, Debian's tinyproxy with
# Basic proxy authentication. curl -> regtrace -> tinyproxy -> the distribution registry: the ping
# challenge, a blob pushed and pulled back, a host that regtrace does not pin (CONNECTed by name, for
# tinyproxy to resolve), then `regtrace replay send` through the same proxy. tinyproxy's log must show
# the CONNECTs; the trace must say which proxy each entry went through and hold none of its
# credentials. Then a regtrace without the proxy credentials: tinyproxy answers 407, curl gets 502
# naming the proxy, and the trace records the failure with an A-02 finding.
#
# usage: test-upstream-proxy.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"
command -v tinyproxy >/dev/null || fail "tinyproxy is not installed (scripts/install-deps.sh test installs it)"

start_registry_with_user

# tinyproxy as the corporate proxy: loopback only, Basic auth, CONNECT allowed to the registry's port
# only (as a corporate ACL would), every CONNECT logged.
proxy_user="corp-$(openssl rand -hex 3)"
proxy_password="$(openssl rand -hex 12)"
proxy_port="$(free_port)"
proxy_url="http://127.0.0.1:$proxy_port"
mkdir -p "$RUN_DIR/tinyproxy"
proxy_log="$RUN_DIR/tinyproxy/tinyproxy.log"
cat >"$RUN_DIR/tinyproxy/tinyproxy.conf" <<CONF
Port $proxy_port
Listen 127.0.0.1
Timeout 60
MaxClients 50
Allow 127.0.0.1
BasicAuth $proxy_user $proxy_password
ConnectPort $REGISTRY_PORT
LogFile "$proxy_log"
LogLevel Connect
PidFile "$RUN_DIR/tinyproxy/tinyproxy.pid"
CONF
tinyproxy -d -c "$RUN_DIR/tinyproxy/tinyproxy.conf" >"$RUN_DIR/tinyproxy/stdout.log" 2>&1 &
proxy_pid=$!
E2E_PIDS+=("$proxy_pid")
wait_until "tinyproxy on port $proxy_port" "$proxy_pid" port_listening "$proxy_port"

# The proxy variables of regtrace's own environment point nowhere: only the flag may count.
dead="http://127.0.0.1:$(free_port)"
HTTPS_PROXY="$dead" https_proxy="$dead" HTTP_PROXY="$dead" http_proxy="$dead" ALL_PROXY="$dead" \
  start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --upstream-proxy "http://$proxy_user:$proxy_password@127.0.0.1:$proxy_port"
log "registry $registry behind tinyproxy on $proxy_port, regtrace on 127.0.0.1:$REGTRACE_PORT in front"
grep -qF "Upstream proxy: $proxy_url (user $proxy_user)" "$RUN_DIR/regtrace/regtrace.log" ||
  fail "regtrace's start-up lines do not name the upstream proxy: $(head -c 500 "$RUN_DIR/regtrace/regtrace.log")"

mkdir -p "$RUN_DIR/curl"
requests=0
# req NAME METHOD URL [CURL_ARGS...]: one request through regtrace; sets `status`, body in curl/NAME.body.
req() {
  local name="$1" method="$2" url="$3"; shift 3
  [[ $url == /* ]] && url="https://$registry$url"
  status="$(curl -q -sS --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" -X "$method" \
    -D "$RUN_DIR/curl/$name.headers" -o "$RUN_DIR/curl/$name.body" -w '%{http_code}' "$@" "$url")" ||
    fail "curl $name ($method $url) failed"
  requests=$((requests + 1))
}
expect() { [[ $status == "$2" ]] || fail "$1: expected HTTP $2, got $status ($(head -c 300 "$RUN_DIR/curl/$1.body" 2>/dev/null))"; }
creds=(-u "$user:$password")

log "ping without and with credentials, a blob pushed and pulled back, all through the upstream proxy"
req ping GET /v2/
expect ping 401
req ping-auth GET /v2/ "${creds[@]}"
expect ping-auth 200
head -c 1048576 /dev/urandom >"$RUN_DIR/blob"
digest="sha256:$(sha256sum "$RUN_DIR/blob" | cut -d' ' -f1)"
req post POST /v2/e2e/proxied/blobs/uploads/ "${creds[@]}" -H 'Content-Length: 0'
expect post 202
location="$(tr -d '\r' <"$RUN_DIR/curl/post.headers" | awk 'tolower($1) == "location:" {print $2}')"
[[ -n $location ]] || fail "POST uploads answered 202 without a Location"
[[ $location == *\?* ]] && sep='&' || sep='?'
[[ $location == /* ]] && location="https://$registry$location"
req put PUT "$location${sep}digest=$digest" "${creds[@]}" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$RUN_DIR/blob"
expect put 201
req get GET "/v2/e2e/proxied/blobs/$digest" "${creds[@]}"
expect get 200
cmp -s "$RUN_DIR/blob" "$RUN_DIR/curl/get.body" || fail "the blob came back different through the upstream proxy"

log "a host regtrace does not pin: CONNECTed by name, tinyproxy resolves it"
req by-name GET "https://localhost:$REGISTRY_PORT/v2/" "${creds[@]}"
expect by-name 200

stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
grep -qF "CONNECT 127.0.0.1:$REGISTRY_PORT HTTP/1.1" "$proxy_log" ||
  fail "tinyproxy's log shows no CONNECT to the pinned address 127.0.0.1:$REGISTRY_PORT"
grep -qF "CONNECT localhost:$REGISTRY_PORT HTTP/1.1" "$proxy_log" ||
  fail "tinyproxy's log shows no CONNECT by name for localhost:$REGISTRY_PORT"
connects_before_replay="$(grep -c "Request (file descriptor [0-9]*): CONNECT" "$proxy_log")"

proxy_secrets=("$proxy_password" "$(printf '%s' "$proxy_user:$proxy_password" | base64 -w0)" "$proxy_user")
python3 - "$REGTRACE_HAR" "$proxy_url" "$requests" <<'PY' || fail "the trace does not show the upstream proxy on every entry"
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
assert len(entries) == int(sys.argv[3]), f"{len(entries)} entries for {sys.argv[3]} requests"
for i, e in enumerate(entries):
    r = e["_regtrace"]
    assert r.get("upstream_proxy") == sys.argv[2], f"entry {i}: upstream_proxy is {r.get('upstream_proxy')!r}"
    assert "failure" not in r, f"entry {i} failed: {r['failure']}"
    assert r["upstream_tls"]["verified"], f"entry {i}: the registry's certificate was not verified"
PY
assert_no_secret "$REGTRACE_HAR" "$password" "${proxy_secrets[@]}"
assert_no_error_findings "$REGTRACE_HAR"
assert_report_clean "$bin" "$REGTRACE_HAR"

log "regtrace replay send through the same proxy"
"$bin" replay send "$REGTRACE_HAR" --credentials "$user:$password" --resolve "$registry:127.0.0.1" \
  --upstream-ca "$E2E_CERTS/ca.crt" --upstream-proxy "http://$proxy_user:$proxy_password@127.0.0.1:$proxy_port" \
  -o "$RUN_DIR/replayed.har" >"$RUN_DIR/replay-send.log" 2>&1 ||
  fail "replay send through the upstream proxy found changes or failed: $(tail -20 "$RUN_DIR/replay-send.log")"
connects_after_replay="$(grep -c "Request (file descriptor [0-9]*): CONNECT" "$proxy_log")"
((connects_after_replay > connects_before_replay)) || fail "replay send did not go through tinyproxy"
grep -q '"upstream_proxy"' "$RUN_DIR/replayed.har" || fail "replay send's HAR does not name the upstream proxy"
assert_no_secret "$RUN_DIR/replayed.har" "${proxy_secrets[@]}"

log "regtrace check through the same proxy; without its credentials the check names A-02"
"$bin" check "$registry" --credentials "$user:$password" --resolve "$registry:127.0.0.1" \
  --upstream-ca "$E2E_CERTS/ca.crt" --upstream-proxy "http://$proxy_user:$proxy_password@127.0.0.1:$proxy_port" \
  >"$RUN_DIR/check.log" 2>&1 || fail "regtrace check through the upstream proxy failed: $(cat "$RUN_DIR/check.log")"
connects_after_check="$(grep -c "Request (file descriptor [0-9]*): CONNECT" "$proxy_log")"
((connects_after_check > connects_after_replay)) || fail "regtrace check did not go through tinyproxy"
assert_no_secret "$RUN_DIR/check.log" "${proxy_secrets[@]}"
rc=0
"$bin" check "$registry" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --upstream-proxy "$proxy_url" >"$RUN_DIR/check-refused.log" 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "regtrace check refused by the upstream proxy exited $rc, expected 2"
grep -q "A-02" "$RUN_DIR/check-refused.log" || fail "the refused check names no A-02: $(cat "$RUN_DIR/check-refused.log")"

log "without the proxy credentials: tinyproxy answers 407, the client gets 502 naming the proxy"
start_regtrace "$bin" "$RUN_DIR/regtrace-noauth" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --upstream-proxy "$proxy_url"
req refused GET /v2/ "${creds[@]}"
expect refused 502
grep -qF "the upstream proxy $proxy_url answered CONNECT 127.0.0.1:$REGISTRY_PORT with HTTP/1.0 407" \
  "$RUN_DIR/curl/refused.body" || fail "the 502 does not name the upstream proxy and its 407: $(cat "$RUN_DIR/curl/refused.body")"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 - "$REGTRACE_HAR" <<'PY' || fail "the refused CONNECT is not recorded as it should be"
import json, sys
log = json.load(open(sys.argv[1]))["log"]
(entry,) = log["entries"]
failure = entry["_regtrace"]["failure"]
assert failure["phase"] == "upstream_connect", failure
assert "407" in failure["detail"], failure
assert entry["response"]["status"] == 502, entry["response"]["status"]
assert any(f["id"] == "A-02" for f in log.get("_findings", [])), log.get("_findings")
PY
log "PASS: curl and replay send through regtrace and tinyproxy; the refused CONNECT recorded"
