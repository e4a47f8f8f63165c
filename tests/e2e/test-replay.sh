#!/usr/bin/env bash
# End to end, server replay (SPEC §6): record skopeo and curl against the distribution registry with
# Basic auth (a manifest, a whole pull with --store-bodies, a whole push of a new image, a missing tag, a
# wrong password), stop the registry, then replay the trace with `regtrace proxy --replay` and repeat:
# every client gets the same answers, the same pushed digest and the same error texts with no registry
# running, a request the trace does not hold gets a registry-style 404
# naming it, and the replay's own trace marks each answer with the entry it came from.
#
# usage: test-replay.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

start_registry_with_user
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/app:v1 "$user:$password"
# An image the registry does not hold, pushed through regtrace: its layers are really uploaded.
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/topush" --tag v1 --layers 3K >/dev/null

# run_clients OUT: the same client runs, recorded or replayed; their answers go to OUT/.
run_clients() {
  local out="$1"
  mkdir -p "$out" "$RUN_DIR/skopeo-ca"
  cp "$REGTRACE_CA" "$RUN_DIR/skopeo-ca/ca.crt"
  local proxy="http://127.0.0.1:$REGTRACE_PORT"
  local skopeo=(env HTTPS_PROXY="$proxy" REGISTRY_AUTH_FILE="$RUN_DIR/auth.json" skopeo --policy "$(skopeo_policy)")
  "${skopeo[@]}" inspect --raw --cert-dir "$RUN_DIR/skopeo-ca" --creds "$user:$password" \
    "docker://$registry/e2e/app:v1" >"$out/manifest.json" 2>"$out/manifest.err" || fail "skopeo inspect v1 failed: $(cat "$out/manifest.err")"
  if "${skopeo[@]}" inspect --raw --cert-dir "$RUN_DIR/skopeo-ca" --creds "$user:$password" \
    "docker://$registry/e2e/app:missing" >/dev/null 2>"$out/missing.err"; then fail "skopeo found a missing tag"; fi
  if "${skopeo[@]}" inspect --raw --cert-dir "$RUN_DIR/skopeo-ca" --creds "$user:wrong" \
    "docker://$registry/e2e/app:v1" >/dev/null 2>"$out/badcreds.err"; then fail "skopeo accepted a wrong password"; fi
  # A whole pull: the blobs come from --store-bodies, since a HAR holds no binary body.
  "${skopeo[@]}" copy --preserve-digests --src-cert-dir "$RUN_DIR/skopeo-ca" --src-creds "$user:$password" \
    "docker://$registry/e2e/app:v1" "oci:$out/pulled:v1" >"$out/copy.log" 2>&1 || fail "skopeo copy failed: $(tail -5 "$out/copy.log")"
  # A whole push (existence HEADs, upload session, chunk, closing PUT, manifest PUT); skopeo writes the
  # digest of the manifest it pushed.
  "${skopeo[@]}" copy --preserve-digests --dest-cert-dir "$RUN_DIR/skopeo-ca" --dest-creds "$user:$password" \
    --digestfile "$out/pushed.digest" "oci:$RUN_DIR/topush:v1" "docker://$registry/e2e/pushed:v1" \
    >"$out/push.log" 2>&1 || fail "skopeo push failed: $(tail -5 "$out/push.log")"
  curl -q -sS --proxy "$proxy" --cacert "$REGTRACE_CA" -u "$user:$password" -o "$out/tags.json" \
    -w '%{http_code}\n' "https://$registry/v2/e2e/app/tags/list" >"$out/tags.status"
}

log "recording: skopeo and curl through regtrace"
start_regtrace "$bin" "$RUN_DIR/record" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --store-bodies "$RUN_DIR/bodies"
run_clients "$RUN_DIR/recorded"
stop_pid "$REGTRACE_PID" regtrace
recorded_har="$REGTRACE_HAR"
grep -q "manifest unknown" "$RUN_DIR/recorded/missing.err" || fail "recorded: no 'manifest unknown' ($(cat "$RUN_DIR/recorded/missing.err"))"
grep -qi "unauthorized\|invalid username/password" "$RUN_DIR/recorded/badcreds.err" ||
  fail "recorded: no authentication error ($(cat "$RUN_DIR/recorded/badcreds.err"))"

log "stopping the registry: the replay must not need it"
stop_pid "$REGISTRY_PID" registry || true

log "replaying $recorded_har"
stored="$(find "$RUN_DIR/bodies/sha256" -type f | wc -l)"
[[ $stored -ge 3 ]] || fail "--store-bodies kept $stored bodies, expected the manifest, config and layer"
for f in "$RUN_DIR/bodies/sha256/"*; do
  [[ "$(sha256sum "$f" | cut -d' ' -f1)" == "$(basename "$f")" ]] || fail "stored body $f does not hash to its name"
done
start_regtrace "$bin" "$RUN_DIR/replay" --replay "$recorded_har" --store-bodies "$RUN_DIR/bodies"
run_clients "$RUN_DIR/replayed"

# The same answers: the manifest byte for byte, the tag list, and the same client error texts.
cmp "$RUN_DIR/recorded/manifest.json" "$RUN_DIR/replayed/manifest.json" || fail "the replayed manifest differs"
diff -r "$RUN_DIR/recorded/pulled" "$RUN_DIR/replayed/pulled" || fail "the image pulled from the replay differs"
cmp "$RUN_DIR/recorded/pushed.digest" "$RUN_DIR/replayed/pushed.digest" ||
  fail "the replayed push gave $(cat "$RUN_DIR/replayed/pushed.digest"), the recorded one $(cat "$RUN_DIR/recorded/pushed.digest")"
cmp "$RUN_DIR/recorded/tags.json" "$RUN_DIR/replayed/tags.json" || fail "the replayed tag list differs"
cmp "$RUN_DIR/recorded/tags.status" "$RUN_DIR/replayed/tags.status" || fail "the replayed tag list status differs"
# skopeo's texts name the proxy port only through the URL, which is the same registry name.
for case in missing badcreds; do
  diff <(sed 's/time="[^"]*"//' "$RUN_DIR/recorded/$case.err") <(sed 's/time="[^"]*"//' "$RUN_DIR/replayed/$case.err") ||
    fail "skopeo's error for '$case' differs between capture and replay"
done

log "a request the trace does not hold"
status="$(curl -q -sS --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" -o "$RUN_DIR/nomatch.json" \
  -w '%{http_code}' "https://$registry/v2/other/manifests/latest")"
[[ $status == 404 ]] || fail "an unmatched request got $status, not 404"
grep -q "has no recorded answer for GET https://$registry/v2/other/manifests/latest" "$RUN_DIR/nomatch.json" ||
  fail "the 404 does not name the request: $(cat "$RUN_DIR/nomatch.json")"
stop_pid "$REGTRACE_PID" regtrace

python3 - "$REGTRACE_HAR" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))["log"]
entries = log["entries"]
replayed = [e for e in entries if "replayed_from" in e["_regtrace"]]
unmatched = [e for e in entries if e["_regtrace"].get("failure", {}).get("message", "").startswith("The replayed trace has no")]
assert len(replayed) == len(entries) - 1 >= 6, f"only {len(replayed)} replayed entries"
assert len(unmatched) == 1, f"{len(unmatched)} unmatched entries"
assert any(e["request"]["method"] == "PATCH" and "/v2/e2e/pushed/blobs/uploads/" in e["request"]["url"] for e in replayed)
assert any(e["request"]["method"] == "PUT" and "/v2/e2e/pushed/manifests/v1" in e["request"]["url"]
           and e["response"]["status"] == 201 for e in replayed), "no replayed manifest PUT"
assert all(not e.get("serverIPAddress") for e in entries), "a replayed entry names an upstream address"
ids = [f["id"] for f in log.get("_findings", [])]
assert "R-01" in ids, f"no R-01 finding for the unmatched request: {ids}"
print(f"replay trace: {len(entries)} entries, {len(replayed)} replayed, findings {ids}")
PY
log "PASS"
