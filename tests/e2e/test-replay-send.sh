#!/usr/bin/env bash
# End to end, client replay (`regtrace replay send`, SPEC §6): record a skopeo pull through regtrace,
# then change the registry behind the trace's back (move the tag to another image, delete a layer of
# the recorded one) and re-send the trace with fresh credentials. The diff must name both changes: the
# manifest answered with another digest, the deleted blob answered 404 BLOB_UNKNOWN.
#
# usage: test-replay-send.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

start_registry_with_user
for image in first second; do
  python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/$image" --tag v1 --layers 2K >/dev/null
done
push_layout_with_skopeo "$RUN_DIR/first:v1" e2e/app:v1 "$user:$password"
first_digest="$(registry_manifest_digest e2e/app v1 "$user:$password")"

log "recording a pull of e2e/app:v1 ($first_digest)"
start_regtrace "$bin" "$RUN_DIR/record" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
mkdir -p "$RUN_DIR/skopeo-ca"
cp "$REGTRACE_CA" "$RUN_DIR/skopeo-ca/ca.crt"
env HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT" REGISTRY_AUTH_FILE="$RUN_DIR/auth.json" \
  skopeo --policy "$(skopeo_policy)" copy --preserve-digests --src-cert-dir "$RUN_DIR/skopeo-ca" \
  --src-creds "$user:$password" "docker://$registry/e2e/app:v1" "oci:$RUN_DIR/pulled:v1" >"$RUN_DIR/copy.log" 2>&1 ||
  fail "skopeo copy through regtrace failed: $(tail -5 "$RUN_DIR/copy.log")"
stop_pid "$REGTRACE_PID" regtrace

log "unchanged registry: nothing to report"
replay=("$bin" replay send "$REGTRACE_HAR" --credentials "$user:$password" --resolve "$registry:127.0.0.1"
        --upstream-ca "$E2E_CERTS/ca.crt")
"${replay[@]}" >"$RUN_DIR/same.txt" || fail "replay send found changes in an unchanged registry: $(cat "$RUN_DIR/same.txt")"
grep -q "answers as it did" "$RUN_DIR/same.txt" || fail "no 'answers as it did' line: $(cat "$RUN_DIR/same.txt")"

log "moving the tag and deleting a layer of the recorded image"
push_layout_with_skopeo "$RUN_DIR/second:v1" e2e/app:v1 "$user:$password"
second_digest="$(registry_manifest_digest e2e/app v1 "$user:$password")"
[[ $second_digest != "$first_digest" ]] || fail "the tag did not move"
layer="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"])' \
  "$RUN_DIR/first/blobs/sha256/${first_digest#sha256:}")"
code="$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE --cacert "$E2E_CERTS/ca.crt" -u "$user:$password" \
  "https://localhost:$REGISTRY_PORT/v2/e2e/app/blobs/$layer")"
[[ $code == 202 ]] || fail "deleting $layer answered $code"

rc=0
"${replay[@]}" >"$RUN_DIR/changed.txt" || rc=$?
cat "$RUN_DIR/changed.txt" >&2
[[ $rc == 2 ]] || fail "replay send exited $rc, expected 2 (something changed)"
grep -q "Docker-Content-Digest $first_digest → $second_digest" "$RUN_DIR/changed.txt" ||
  fail "the diff does not name the moved tag ($first_digest → $second_digest)"
grep -q "/v2/e2e/app/blobs/$layer: CHANGED" "$RUN_DIR/changed.txt" || fail "the diff does not name the deleted layer"
grep -q "status 200 → 404 BLOB_UNKNOWN" "$RUN_DIR/changed.txt" || fail "the deleted layer is not 404 BLOB_UNKNOWN"

"${replay[@]}" --format json --only "*/blobs/*" -o "$RUN_DIR/now.har" >"$RUN_DIR/changed.json" || true
python3 - "$RUN_DIR/changed.json" "$RUN_DIR/now.har" "$password" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["schema"] == "regtrace.replay-send/1"
assert all("/blobs/" in r["url"] for r in report["requests"]), "--only let other requests through"
assert any(r["status_now"] == 404 for r in report["requests"]), report
har = open(sys.argv[2]).read()
assert sys.argv[3] not in har, "the password is in the replay's HAR"
json.loads(har)
PY
log "PASS"
