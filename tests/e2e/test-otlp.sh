#!/usr/bin/env bash
# End to end: regtrace exports a span per exchange over OTLP/HTTP (issue 15), and a receiver that
# cannot share a mistake in regtrace's .proto files decodes them: a Node.js server using the message
# classes the OpenTelemetry JavaScript project generated (npm @opentelemetry/otlp-transformer 0.52.1,
# pinned in tests/package.json). skopeo pulls an image through regtrace from the distribution registry,
# then curl asks a manifest with a W3C traceparent and one that does not exist. The spans must match
# the trace: one per entry, their names, attributes, parent ids and status (check_otlp_spans.py).
#
# usage: test-otlp.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

log "npm ci: the pinned OpenTelemetry JavaScript decoder"
run_logged npm-ci npm ci --prefix "$E2E_ROOT/tests" --no-audit --no-fund

spans="$RUN_DIR/spans.jsonl"
otlp_port="$(free_port)"
node "$here/lib/otlp_receiver.js" "$otlp_port" "$spans" >"$RUN_DIR/otlp-receiver.log" 2>&1 &
receiver_pid=$!
E2E_PIDS+=("$receiver_pid")
wait_until "the OTLP receiver on port $otlp_port" "$receiver_pid" port_listening "$otlp_port"

start_registry_with_user
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,1M >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/app:v1 "$user:$password"

start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --otlp-endpoint "http://127.0.0.1:$otlp_port"
log "regtrace on 127.0.0.1:$REGTRACE_PORT exporting spans to 127.0.0.1:$otlp_port"

log "pull: docker://$registry/e2e/app:v1 through regtrace (skopeo)"
cert_dir="$RUN_DIR/regtrace-ca"
mkdir -p "$cert_dir"
cp "$REGTRACE_CA" "$cert_dir/ca.crt"
run_logged skopeo-pull env HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT" REGISTRY_AUTH_FILE="$RUN_DIR/auth.json" \
  skopeo --policy "$(skopeo_policy)" copy --src-cert-dir "$cert_dir" --src-creds "$user:$password" \
  "docker://$registry/e2e/app:v1" "oci:$RUN_DIR/pulled:v1"

# A caller with its own trace: the span of this request must be a child of parent_id in trace_id.
trace_id="4bf92f3577b34da6a3ce929d0e0e4736"
parent_id="00f067aa0ba902b7"
curl_through() {
  curl -q -sS --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" -u "$user:$password" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o /dev/null -w '%{http_code}' "$@"
}
log "curl: a manifest with traceparent 00-$trace_id-$parent_id-01, and one that does not exist"
status="$(curl_through -H "traceparent: 00-$trace_id-$parent_id-01" -H 'tracestate: vendor=e2e' \
  "https://$registry/v2/e2e/app/manifests/v1")"
[[ $status == 200 ]] || fail "the manifest with traceparent answered $status, not 200"
status="$(curl_through "https://$registry/v2/e2e/app/manifests/missing")"
[[ $status == 404 ]] || fail "the missing manifest answered $status, not 404"

# SIGTERM: the trace is closed, then the queued spans are sent (bounded), then the summary.
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with an error"
grep -q "OTLP: exporting spans to http://127.0.0.1:$otlp_port/v1/traces" "$RUN_DIR/regtrace/regtrace.log" ||
  fail "regtrace did not say where it exports spans"
summary="$(grep -o 'OTLP: [0-9]* spans exported, [0-9]* dropped.*' "$RUN_DIR/regtrace/regtrace.log")" ||
  fail "regtrace's summary has no OTLP line"
log "regtrace said: $summary"

python3 "$here/lib/check_otlp_spans.py" "$spans" "$REGTRACE_HAR" --registry "$registry" \
  --repository e2e/app --traceparent "$trace_id-$parent_id" --summary "$summary" --secret "$password" ||
  fail "the spans the OpenTelemetry decoder read do not match the trace (above)"
log "ok: $(wc -l <"$spans") spans decoded by @opentelemetry/otlp-transformer match the trace"
