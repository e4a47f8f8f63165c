#!/usr/bin/env bash
# End to end: curl through regtrace against the distribution registry with Basic auth, every step of
# the registry API by hand. The ping challenge (GET /v2/ -> 401, then 200 with credentials), a
# monolithic push of each blob (HEAD -> 404, POST uploads -> 202, PUT ?digest= -> 201, HEAD -> 200)
# and of the manifest, then a pull (manifest by tag with Accept headers, blobs, HEAD checks). Every
# answer is checked as it comes, then the trace: the sequence, body hashes, no credential, and no
# ERROR or CRITICAL finding on this healthy flow.
#
# usage: test-curl.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

start_registry_with_user
start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
log "registry $registry (user $user) behind regtrace on 127.0.0.1:$REGTRACE_PORT"

python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,2M >/dev/null
blobs="$RUN_DIR/image/blobs/sha256"
manifest_digest="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
  "$RUN_DIR/image/index.json")"
manifest_type=application/vnd.oci.image.manifest.v1+json

mkdir -p "$RUN_DIR/curl"
requests=0
# req NAME METHOD URL [CURL_ARGS...]: one request through regtrace (URL absolute or a path on the
# registry). Sets `status`; headers in RUN_DIR/curl/NAME.headers, body in RUN_DIR/curl/NAME.body.
req() {
  local name="$1" method="$2" url="$3"; shift 3
  [[ $url == /* ]] && url="https://$registry$url"
  local how=(-X "$method")
  [[ $method == HEAD ]] && how=(--head)
  # -q first: no ~/.curlrc. --proxy names regtrace explicitly (CONNECT, then TLS to regtrace's leaf).
  status="$(curl -q -sS --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" "${how[@]}" \
    -D "$RUN_DIR/curl/$name.headers" -o "$RUN_DIR/curl/$name.body" -w '%{http_code}' "$@" "$url")" ||
    fail "curl $name ($method $url) failed"
  requests=$((requests + 1))
}
# expect NAME CODE: the last request answered CODE.
expect() { [[ $status == "$2" ]] || fail "$1: expected HTTP $2, got $status ($(head -c 300 "$RUN_DIR/curl/$1.body" 2>/dev/null))"; }
# header NAME FIELD: a response header of request NAME.
header() { tr -d '\r' <"$RUN_DIR/curl/$1.headers" | awk -v f="${2,,}:" 'tolower($1) == f {print $2}' | tail -n1; }
creds=(-u "$user:$password")

log "ping: GET /v2/ without, then with credentials"
req ping GET /v2/
expect ping 401
ping_headers="$(<"$RUN_DIR/curl/ping.headers")"
[[ ${ping_headers,,} == *"www-authenticate: basic realm="* ]] ||
  fail "the 401 on GET /v2/ has no Basic challenge"
req ping-auth GET /v2/ "${creds[@]}"
expect ping-auth 200

# Layers and config first (a manifest may only name blobs the repository has), then the manifest.
n=0
for digest in $(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]));
print(" ".join(d["digest"] for d in m["layers"] + [m["config"]]))' "$blobs/${manifest_digest#sha256:}"); do
  n=$((n + 1))
  file="$blobs/${digest#sha256:}"
  log "push blob $n $digest ($(stat -c %s "$file") bytes): HEAD, POST, PUT ?digest=, HEAD"
  req "head-$n" HEAD "/v2/e2e/curl/blobs/$digest" "${creds[@]}"
  expect "head-$n" 404
  req "post-$n" POST /v2/e2e/curl/blobs/uploads/ "${creds[@]}" -H 'Content-Length: 0'
  expect "post-$n" 202
  location="$(header "post-$n" location)"
  [[ -n $location ]] || fail "POST uploads answered 202 without a Location"
  [[ $location == *\?* ]] && sep='&' || sep='?'
  req "put-$n" PUT "$location${sep}digest=$digest" "${creds[@]}" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$file"
  expect "put-$n" 201
  [[ $(header "put-$n" docker-content-digest) == "$digest" ]] || fail "the blob PUT answered another digest"
  req "recheck-$n" HEAD "/v2/e2e/curl/blobs/$digest" "${creds[@]}"
  expect "recheck-$n" 200
done

log "push manifest $manifest_digest as e2e/curl:v1"
req put-manifest PUT /v2/e2e/curl/manifests/v1 "${creds[@]}" -H "Content-Type: $manifest_type" \
  --data-binary "@$blobs/${manifest_digest#sha256:}"
expect put-manifest 201
[[ $(header put-manifest docker-content-digest) == "$manifest_digest" ]] ||
  fail "the manifest PUT answered digest '$(header put-manifest docker-content-digest)', expected $manifest_digest"

log "pull: manifest by tag (Accept: OCI and Docker types), HEAD by digest, every blob"
req get-manifest GET /v2/e2e/curl/manifests/v1 "${creds[@]}" -H "Accept: $manifest_type" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
expect get-manifest 200
[[ sha256:$(sha256sum <"$RUN_DIR/curl/get-manifest.body" | cut -d' ' -f1) == "$manifest_digest" ]] ||
  fail "the manifest pulled by tag does not hash to $manifest_digest"
[[ $(header get-manifest content-type) == "$manifest_type" ]] || fail "the manifest came back as another type"
req head-manifest HEAD "/v2/e2e/curl/manifests/$manifest_digest" "${creds[@]}" -H "Accept: $manifest_type"
expect head-manifest 200
n=0
for file in "$blobs"/*; do
  digest="sha256:$(basename "$file")"
  [[ $digest == "$manifest_digest" ]] && continue
  n=$((n + 1))
  req "get-$n" GET "/v2/e2e/curl/blobs/$digest" "${creds[@]}"
  expect "get-$n" 200
  cmp -s "$file" "$RUN_DIR/curl/get-$n.body" || fail "blob $digest came back different"
done
((n == 3)) || fail "expected 3 blobs (2 layers, config) to pull, found $n"

stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
entries="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$REGTRACE_HAR")"
((entries == requests)) || fail "curl made $requests requests, the trace has $entries entries"
python3 "$here/lib/check_har.py" "$REGTRACE_HAR" --user "$user" --password "$password" ||
  fail "the HAR does not show a correct push and pull"
assert_no_secret "$REGTRACE_HAR" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"
assert_no_error_findings "$REGTRACE_HAR"
assert_report_clean "$bin" "$REGTRACE_HAR"

log "--log-format json: every console line is one JSON object (listening, exchange, summary)"
json_port="$(free_port)"
"$bin" proxy --listen "127.0.0.1:$json_port" --ca-dir "$RUN_DIR/regtrace/ca" --har "$RUN_DIR/json.har" \
  --log-format json --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  >"$RUN_DIR/json-console.out" 2>"$RUN_DIR/json-console.log" &
json_pid=$!
E2E_PIDS+=("$json_pid")
wait_until "regtrace --log-format json" "$json_pid" port_listening "$json_port"
for target in /v2/ /v2/e2e/nothing/manifests/v1; do
  curl -q -sS -o /dev/null --proxy "http://127.0.0.1:$json_port" --cacert "$REGTRACE_CA" "${creds[@]}" \
    "https://$registry$target" || fail "curl through regtrace --log-format json failed"
done
stop_pid "$json_pid" "regtrace --log-format json" || fail "regtrace --log-format json exited with status $?"
python3 - "$RUN_DIR/json-console.out" "$password" <<'PY' || fail "the JSON console is not what it should be"
import json, sys
text = open(sys.argv[1]).read()
assert sys.argv[2] not in text, "the password is on the console"
events = [json.loads(line) for line in text.splitlines()]  # every line parses, or this raises
kinds = [e["event"] for e in events]
assert kinds[0] == "listening" and kinds[-1] == "summary", kinds
exchanges = [e for e in events if e["event"] == "exchange"]
assert [e["status"] for e in exchanges] == [200, 404], exchanges
assert all(e["url"].startswith("https://registry.test:") and e["time"].endswith("Z") for e in exchanges), exchanges
assert all("id" in e["finding"] for e in events if e["event"] == "finding"), events
assert events[-1]["exchanges"] == 2 and events[-1]["entries"] == 2, events[-1]
PY
log "PASS: curl's $requests requests through regtrace, answers and trace checked"
