#!/usr/bin/env bash
# End to end: a HAR written by another tool. mitmdump with mitmproxy's own har_dump.py example sits
# in front of a real registry; curl pushes a small image, pulls its manifest and asks for a tag that
# does not exist; mitmdump writes the HAR on exit. `regtrace report` must read it in every format,
# show every entry and the 404, name C-01 for the missing tag, and keep the complete entries of a
# copy cut short. A file that is not a HAR must be refused with a sentence naming it. Then, the
# registry stopped, `regtrace proxy --replay` answers curl's reads from that HAR as the registry did.
#
# usage: test-report-mitmproxy.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

har_dump="$(dpkg -L mitmproxy | grep '/har_dump\.py$' | head -n 1)"
[[ -n $har_dump && -f $har_dump ]] || fail "mitmproxy's har_dump.py example is not installed (dpkg -L mitmproxy)"

registry_port="$(free_port)"
start_registry "$RUN_DIR/registry" "$registry_port"
log "registry on 127.0.0.1:$registry_port"

mitm_port="$(free_port)"
mitm_dir="$RUN_DIR/mitmproxy"
har="$RUN_DIR/mitmproxy.har"
mkdir -p "$mitm_dir"
mitmdump --listen-host 127.0.0.1 -p "$mitm_port" --set confdir="$mitm_dir" \
  --set ssl_verify_upstream_trusted_ca="$E2E_CERTS/ca.crt" -s "$har_dump" --set hardump="$har" \
  >"$mitm_dir/mitmdump.log" 2>&1 &
mitm_pid=$!
E2E_PIDS+=("$mitm_pid")
mitm_ready() { port_listening "$mitm_port" && [[ -s $mitm_dir/mitmproxy-ca-cert.pem ]]; }
wait_until "mitmdump on port $mitm_port" "$mitm_pid" mitm_ready
log "mitmdump on 127.0.0.1:$mitm_port writing $har"

# curl through mitmdump, trusting mitmproxy's CA; HTTP/1.1 like the registry clients.
base="https://localhost:$registry_port/v2"
via_mitm() {
  curl -sS --http1.1 --proxy "http://127.0.0.1:$mitm_port" --cacert "$mitm_dir/mitmproxy-ca-cert.pem" "$@"
}
expect_status() {
  local want="$1"; shift
  local got
  got="$(via_mitm -o /dev/null -w '%{http_code}' "$@")"
  [[ $got == "$want" ]] || fail "curl $* answered $got, expected $want"
}
# read_saved VIA PREFIX NAME URL [HEADER]: a GET through the proxy function VIA; the body goes to
# RUN_DIR/PREFIX-NAME.body and the status to RUN_DIR/PREFIX-NAME.status (compared after the replay).
read_saved() {
  local via="$1" prefix="$2" name="$3" url="$4" header="${5:-}"
  local extra=()
  [[ -z $header ]] || extra=(-H "$header")
  "$via" "${extra[@]}" -o "$RUN_DIR/$prefix-$name.body" -w '%{http_code}\n' "$url" >"$RUN_DIR/$prefix-$name.status"
}
accept='Accept: application/vnd.oci.image.manifest.v1+json'
# The reads the replay repeats: name, URL, header.
reads=("ping|$base/|" "manifest|$base/e2e/app/manifests/v1|$accept" "missing|$base/e2e/app/manifests/missing|$accept"
  "tags|$base/e2e/app/tags/list|")
# push_blob FILE: the two-step upload (POST for a session, PUT with the digest); prints the digest.
push_blob() {
  local file="$1" digest location
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  location="$(via_mitm -o /dev/null -D - -X POST "$base/e2e/app/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')"
  [[ -n $location ]] || fail "the upload POST gave no Location"
  [[ $location == http* ]] || location="https://localhost:$registry_port$location"
  if [[ $location == *\?* ]]; then location="$location&digest=$digest"; else location="$location?digest=$digest"; fi
  expect_status 201 -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" "$location"
  echo "$digest"
}

log "curl through mitmdump: ping, push (2 blobs, 1 manifest), manifest GET, a missing tag, tags list"
read_saved via_mitm live ping "$base/"
[[ $(cat "$RUN_DIR/live-ping.status") == 200 ]] || fail "the ping through mitmdump answered $(cat "$RUN_DIR/live-ping.status")"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$RUN_DIR/config.json"
head -c 2048 /dev/urandom >"$RUN_DIR/layer.bin"
config_digest="$(push_blob "$RUN_DIR/config.json")"
layer_digest="$(push_blob "$RUN_DIR/layer.bin")"
cat >"$RUN_DIR/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$(stat -c %s "$RUN_DIR/config.json")},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer_digest","size":2048}]}
JSON
expect_status 201 -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$RUN_DIR/manifest.json" "$base/e2e/app/manifests/v1"
for read in "${reads[@]:1}"; do
  IFS='|' read -r name url header <<<"$read"
  read_saved via_mitm live "$name" "$url" "$header"
done
[[ "$(cat "$RUN_DIR"/live-{manifest,missing,tags}.status | tr '\n' ' ')" == "200 404 200 " ]] ||
  fail "the reads through mitmdump answered $(cat "$RUN_DIR"/live-{manifest,missing,tags}.status | tr '\n' ' ')"
entries=9 # GET /v2/, 2 x (POST + PUT), PUT manifest, GET manifest, GET missing, GET tags
missing_entry=8 # 1-based, as the reports number entries

# mitmdump writes the HAR in its shutdown hook.
stop_pid "$mitm_pid" mitmdump || true
[[ -s $har ]] || fail "mitmdump did not write $har (see mitmdump.log)"
python3 - "$har" "$entries" <<'PY' || fail "the HAR from har_dump.py is not what this test expects"
import json, sys
har = json.load(open(sys.argv[1]))
assert har["log"]["creator"]["name"] == "mitmproxy har_dump", har["log"]["creator"]
assert len(har["log"]["entries"]) == int(sys.argv[2]), len(har["log"]["entries"])
PY

log "regtrace report on the mitmproxy HAR, every format"
report() { "$bin" report "$har" "$@"; }
run_logged report-text report
run_logged report-markdown report --format markdown -o "$RUN_DIR/report.md"
run_logged report-json report --format json -o "$RUN_DIR/report.json"
run_logged report-html report --format html -o "$RUN_DIR/report.html"
text="$RUN_DIR/report-text.log"

# Independent of the rules: the request table shows every entry and the 404 with its error code.
grep -q "(mitmproxy har_dump, $entries entries)" "$text" || fail "the text report does not name the source and $entries entries"
grep -Eq "^  #$missing_entry +\+[0-9.]+ s GET +localhost:$registry_port +/v2/e2e/app/manifests/missing +404 MANIFEST_UNKNOWN" "$text" ||
  fail "the text report's request table has no row #$missing_entry for the missing tag"
grep -q "^  #$entries " "$text" || fail "the text report has no row #$entries"
grep -q "| #$missing_entry | .* | \`GET\` | \`localhost:$registry_port\` | \`/v2/e2e/app/manifests/missing\` | \`404 MANIFEST_UNKNOWN\` |" \
  "$RUN_DIR/report.md" || fail "the markdown request table has no row #$missing_entry for the missing tag"
grep -q "id=\"entry-$missing_entry\"" "$RUN_DIR/report.html" || fail "the HTML report has no row for entry #$missing_entry"
grep -q "<svg" "$RUN_DIR/report.html" || fail "the HTML report has no waterfall"
python3 - "$RUN_DIR/report.json" "$entries" "$((missing_entry - 1))" <<'PY' || fail "the JSON report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
entries, missing = int(sys.argv[2]), int(sys.argv[3])
assert r["schema"] == "regtrace.report/1", r["schema"]
assert r["source"]["creator"] == "mitmproxy har_dump" and r["source"]["entries"] == entries, r["source"]
assert not r["source"]["truncated"] and r["warnings"] == [], r["warnings"]
assert [e["entry"] for e in r["entries"]] == list(range(entries)), [e["entry"] for e in r["entries"]]
e = r["entries"][missing]
assert e["status"] == 404 and e["error_code"] == "MANIFEST_UNKNOWN", e
assert e["target"] == "/v2/e2e/app/manifests/missing" and e["method"] == "GET", e
statuses = [e["status"] for e in r["entries"]]
assert statuses == [200, 202, 201, 202, 201, 201, 200, 404, 200], statuses
assert all(x["time_ms"] >= 0 and x["started"] for x in r["entries"])
PY

# Depends on the C-* rules (capture/rules/rules_api.cpp): C-01 MANIFEST_NOT_FOUND on the 404.
python3 - "$RUN_DIR/report.json" "$((missing_entry - 1))" <<'PY' || fail "the JSON report does not name C-01 on the missing tag (rule C-01)"
import json, sys
r = json.load(open(sys.argv[1]))
missing = int(sys.argv[2])
c01 = [f for f in r["findings"] if f["id"] == "C-01"]
assert c01, [f["id"] for f in r["findings"]]
assert missing in c01[0]["entries"], c01[0]
assert "C-01" in r["entries"][missing]["findings"], r["entries"][missing]
assert r["result"] == "failed" and r["counts"]["error"] >= 1, (r["result"], r["counts"])
PY
grep -q "C-01 MANIFEST_NOT_FOUND" "$text" || fail "the text report does not show C-01 (rule C-01)"
rc=0
"$bin" report "$har" --fail-on error >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "--fail-on error exited $rc with an ERROR finding (rule C-01), expected 2"
rc=0
"$bin" report "$har" --fail-on critical >/dev/null 2>&1 || rc=$?
((rc == 0)) || fail "--fail-on critical exited $rc, expected 0 (no critical finding)"

log "a copy cut inside the last entry keeps the complete ones"
cut_at="$(grep -b -o '"url": "[^"]*/tags/list"' "$har" | tail -n 1 | cut -d: -f1)"
[[ -n $cut_at ]] || fail "cannot find the last entry in $har"
head -c "$cut_at" "$har" >"$RUN_DIR/cut.har"
rc=0
"$bin" report "$RUN_DIR/cut.har" --format json -o "$RUN_DIR/cut.json" 2>"$RUN_DIR/cut-stderr.log" || rc=$?
((rc == 0)) || fail "the report on a cut HAR exited $rc, expected 0"
grep -q "warning: the file ends at byte $cut_at" "$RUN_DIR/cut-stderr.log" ||
  fail "the report on a cut HAR did not warn where the file ends"
python3 - "$RUN_DIR/cut.json" "$((entries - 1))" <<'PY' || fail "the report on a cut HAR is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["source"]["truncated"] is True, r["source"]
assert len(r["entries"]) == int(sys.argv[2]), len(r["entries"])
assert any("ends at byte" in w for w in r["warnings"]), r["warnings"]
PY
"$bin" report "$RUN_DIR/cut.har" | grep -q "warning: the file ends at byte $cut_at" ||
  fail "the text report on a cut HAR shows no warning line"

log "files that are not HARs are refused with a sentence"
rc=0
"$bin" report "$RUN_DIR/registry/config.yml" 2>"$RUN_DIR/not-har.log" >/dev/null || rc=$?
((rc == 1)) || fail "a YAML file gave exit $rc, expected 1"
grep -q "config.yml is not a HAR: the text is not valid JSON (.*) at byte [0-9]* (line [0-9]*, column [0-9]*)" \
  "$RUN_DIR/not-har.log" || fail "the error for a YAML file does not name the file and position: $(cat "$RUN_DIR/not-har.log")"
rc=0
"$bin" report "$RUN_DIR/no-such.har" 2>"$RUN_DIR/missing.log" >/dev/null || rc=$?
((rc == 1)) || fail "a missing file gave exit $rc, expected 1"
grep -q "no-such.har" "$RUN_DIR/missing.log" || fail "the error for a missing file does not name it: $(cat "$RUN_DIR/missing.log")"
rc=0
"$bin" report "$har" --format pdf 2>/dev/null >/dev/null || rc=$?
((rc == 1)) || fail "--format pdf exited $rc, expected 1 (usage error)"

log "the registry stopped, regtrace replays the mitmproxy HAR: the same answers to the same reads"
stop_pid "$REGISTRY_PID" registry || true
start_regtrace "$bin" "$RUN_DIR/replay" --replay "$har"
via_regtrace() {
  curl -sS --http1.1 --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" "$@"
}
for read in "${reads[@]}"; do
  IFS='|' read -r name url header <<<"$read"
  read_saved via_regtrace replayed "$name" "$url" "$header"
  cmp -s "$RUN_DIR/live-$name.status" "$RUN_DIR/replayed-$name.status" ||
    fail "the replayed $name answered $(cat "$RUN_DIR/replayed-$name.status"), mitmdump saw $(cat "$RUN_DIR/live-$name.status")"
  cmp -s "$RUN_DIR/live-$name.body" "$RUN_DIR/replayed-$name.body" ||
    fail "the replayed $name body differs from the one mitmdump saw: $(head -c 300 "$RUN_DIR/replayed-$name.body")"
done
stop_pid "$REGTRACE_PID" regtrace || fail "the replaying regtrace exited with status $? on SIGTERM"
python3 - "$REGTRACE_HAR" "${#reads[@]}" <<'PY' || fail "the replay's trace does not show every read answered from the HAR"
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
assert len(entries) == int(sys.argv[2]), len(entries)
assert all("replayed_from" in e["_regtrace"] for e in entries), [e["_regtrace"] for e in entries]
PY

log "PASS: regtrace report reads mitmproxy's HAR in every format, and replays it"
