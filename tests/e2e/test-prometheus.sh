#!/usr/bin/env bash
# End to end, issue 15: Debian's Prometheus scrapes two regtrace proxies (--metrics on port 0) in front
# of the distribution registry with Basic auth, each seeing a different failure, and its HTTP API says
# which instance saw which:
#  - "missing-tag": curl pulls a tag the registry does not have (404 MANIFEST_UNKNOWN, catalog C-01);
#  - "wrong-password": curl logs in with a wrong password (401 on /v2/, catalog B-05, critical).
# regtrace_findings_total of each instance holds its own finding ID and not the other's; the README's
# alert expression fires for the critical one only; and each /metrics counted its exchanges.
#
# usage: test-prometheus.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

start_registry_with_user
proxy_args=(--resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" --metrics 127.0.0.1:0)

# start_instance NAME: start_regtrace with --metrics on port 0 (REGTRACE_PID, REGTRACE_PORT, REGTRACE_CA),
# and REGTRACE_METRICS, the host:port of /metrics read from the line regtrace prints.
start_instance() {
  local name="$1" line
  start_regtrace "$bin" "$RUN_DIR/$name" "${proxy_args[@]}"
  line="$(grep -o 'metrics http://127\.0\.0\.1:[0-9]*/metrics' "$RUN_DIR/$name/regtrace.log" || true)"
  [[ -n $line ]] || fail "regtrace $name printed no metrics address (regtrace.log: $(head -c 300 "$RUN_DIR/$name/regtrace.log"))"
  line="${line#metrics http://}"
  REGTRACE_METRICS="${line%/metrics}"
}

# through PORT CA CURL_ARGS...: one request through the regtrace on PORT; prints the status code.
through() {
  local port="$1" ca="$2"; shift 2
  curl -q -sS -o /dev/null -w '%{http_code}' --proxy "http://127.0.0.1:$port" --cacert "$ca" "$@"
}

start_instance missing-tag
missing_tag_pid="$REGTRACE_PID" missing_tag_port="$REGTRACE_PORT" missing_tag_ca="$REGTRACE_CA"
missing_tag_metrics="$REGTRACE_METRICS"
start_instance wrong-password
wrong_password_pid="$REGTRACE_PID" wrong_password_port="$REGTRACE_PORT" wrong_password_ca="$REGTRACE_CA"
wrong_password_metrics="$REGTRACE_METRICS"
log "regtrace missing-tag: metrics on $missing_tag_metrics; wrong-password: $wrong_password_metrics"

log "missing-tag: GET /v2/, then the manifest of e2e/app:nope with the right credentials"
code="$(through "$missing_tag_port" "$missing_tag_ca" -u "$user:$password" "https://$registry/v2/")"
[[ $code == 200 ]] || fail "GET /v2/ with the right credentials answered $code, not 200"
code="$(through "$missing_tag_port" "$missing_tag_ca" -u "$user:$password" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$registry/v2/e2e/app/manifests/nope")"
[[ $code == 404 ]] || fail "GET of a missing tag answered $code, not 404"

log "wrong-password: GET /v2/ without, then with a wrong password"
wrong="wrong-$(openssl rand -hex 8)"
code="$(through "$wrong_password_port" "$wrong_password_ca" "https://$registry/v2/")"
[[ $code == 401 ]] || fail "GET /v2/ without credentials answered $code, not 401"
code="$(through "$wrong_password_port" "$wrong_password_ca" -u "$user:$wrong" "https://$registry/v2/")"
[[ $code == 401 ]] || fail "GET /v2/ with a wrong password answered $code, not 401"

# Prometheus of its own: config, storage and port in the run folder, scraping both every second.
prom_port="$(free_port)"
mkdir -p "$RUN_DIR/prometheus/data"
cat >"$RUN_DIR/prometheus/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: regtrace
    static_configs:
      - targets: ['$missing_tag_metrics']
        labels: {node: missing-tag}
      - targets: ['$wrong_password_metrics']
        labels: {node: wrong-password}
YAML
prometheus --config.file="$RUN_DIR/prometheus/prometheus.yml" --storage.tsdb.path="$RUN_DIR/prometheus/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$RUN_DIR/prometheus/prometheus.log" 2>&1 &
prom_pid=$!
E2E_PIDS+=("$prom_pid")
prometheus_ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$prom_port/-/ready") == 200 ]]; }
wait_until "prometheus on port $prom_port (log: prometheus/prometheus.log)" "$prom_pid" prometheus_ready

indent() { sed 's/^/   /' >&2; }

# query NAME PROMQL: the instant query's JSON in RUN_DIR/NAME.json.
query() {
  curl -sS -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$2" >"$RUN_DIR/$1.json"
}

# findings_by_node FILE: "node id severity value" per sample, sorted; fails on an API error.
findings_by_node() {
  python3 - "$1" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
if answer.get("status") != "success":
    sys.exit("the query failed: " + json.dumps(answer))
for r in sorted(answer["data"]["result"], key=lambda r: (r["metric"].get("node", ""), r["metric"].get("id", ""))):
    m = r["metric"]
    print(m.get("node", "?"), m.get("id", "?"), m.get("severity", "?"), r["value"][1])
PY
}

# Both instances scraped with their findings: each has at least one sample. Bounded in tries, so a
# broken scrape ends the test; nothing is timed.
log "asking Prometheus for regtrace_findings_total until both instances have been scraped"
for ((tries = 0; ; tries++)); do
  query findings regtrace_findings_total
  samples="$(findings_by_node "$RUN_DIR/findings.json")" || fail "Prometheus's API answered an error (findings.json)"
  grep -q '^missing-tag ' <<<"$samples" && grep -q '^wrong-password ' <<<"$samples" && break
  ((tries < 600)) || fail "Prometheus never had findings from both instances; it has: ${samples:-nothing} (targets: $(curl -s "http://127.0.0.1:$prom_port/api/v1/targets" | head -c 600))"
  sleep 0.2
done
log "Prometheus: regtrace_findings_total"
indent <<<"$samples"

grep -q '^missing-tag C-01 error ' <<<"$samples" || fail "missing-tag shows no C-01 finding"
grep -q '^wrong-password B-05 critical ' <<<"$samples" || fail "wrong-password shows no B-05 finding"
! grep -q '^missing-tag B-05 ' <<<"$samples" || fail "missing-tag shows wrong-password's B-05"
! grep -q '^wrong-password C-01 ' <<<"$samples" || fail "wrong-password shows missing-tag's C-01"

# README "Prometheus": the alert on a critical finding, new series included, fires for wrong-password only.
query alert 'increase(regtrace_findings_total{severity="critical"}[5m]) > 0 or (regtrace_findings_total{severity="critical"} unless regtrace_findings_total{severity="critical"} offset 5m)'
alert="$(findings_by_node "$RUN_DIR/alert.json")" || fail "the README's alert expression is refused (alert.json)"
log "Prometheus: the README's critical-finding alert"
indent <<<"$alert"
grep -q '^wrong-password B-05 critical ' <<<"$alert" || fail "the alert does not fire for wrong-password's B-05"
! grep -q '^missing-tag ' <<<"$alert" || fail "the alert fires for missing-tag, which saw no critical finding"

# The exchanges each instance relayed, by status class, as Prometheus has them.
query exchanges 'sum by (node, status_class) (regtrace_exchanges_total{kind="ping"})'
exchanges="$(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["data"]["result"]:
    print(r["metric"]["node"], r["metric"]["status_class"], r["value"][1])' "$RUN_DIR/exchanges.json" | sort)"
log "Prometheus: ping exchanges by node and status class"
indent <<<"$exchanges"
grep -qx 'missing-tag 2xx 1' <<<"$exchanges" || fail "missing-tag's one successful ping is not counted"
grep -qx 'wrong-password 4xx 2' <<<"$exchanges" || fail "wrong-password's two refused pings are not counted"

stop_pid "$prom_pid" prometheus || true
stop_pid "$missing_tag_pid" "regtrace missing-tag" || fail "regtrace missing-tag exited with status $? on SIGTERM"
stop_pid "$wrong_password_pid" "regtrace wrong-password" || fail "regtrace wrong-password exited with status $? on SIGTERM"
assert_no_secret "$RUN_DIR/wrong-password/trace.har" "$password" "$wrong"
log "ok: Prometheus scraped both proxies and told their findings apart"
