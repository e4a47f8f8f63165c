#!/usr/bin/env bash
# End to end: the HTML report of a real regtrace trace, rendered by headless Chromium. curl goes
# through regtrace to a real registry (a ping, a missing tag, an unknown repository); then
# `regtrace report --format html -o report.html` must give a page that loads from file:// with no
# console message at all (no script error, no blocked load: it is self-contained) and whose
# screenshot is not blank. A probe page first shows that this Chromium does log console messages.
#
# usage: test-report-html.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

# render NAME URL: screenshot URL into RUN_DIR/NAME.png, Chromium's log in RUN_DIR/NAME-chromium.log.
render() {
  local name="$1" url="$2"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$RUN_DIR/chromium-$name" --enable-logging=stderr --v=0 \
    --screenshot="$RUN_DIR/$name.png" --window-size=1280,900 "$url" \
    >"$RUN_DIR/$name-chromium.log" 2>&1 || fail "chromium could not render $url (exit $?)"
  [[ -s $RUN_DIR/$name.png ]] || fail "chromium wrote no screenshot of $url"
}
# dump_dom NAME URL: the page's DOM as Chromium built it, into RUN_DIR/NAME.dom.html.
dump_dom() {
  local name="$1" url="$2"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$RUN_DIR/chromium-$name-dom" --dump-dom "$url" \
    >"$RUN_DIR/$name.dom.html" 2>"$RUN_DIR/$name-dom-chromium.log" || fail "chromium could not load $url (exit $?)"
  [[ -s $RUN_DIR/$name.dom.html ]] || fail "chromium dumped no DOM of $url"
}
# Chromium logs each console message of a page as `...:CONSOLE:LINE] "text", source: URL (LINE)`.
console_lines() { grep -E ':CONSOLE[:(]' "$RUN_DIR/$1-chromium.log" || true; }

log "probe: a page that logs a console error must show up in Chromium's log"
cat >"$RUN_DIR/probe.html" <<'HTML'
<!DOCTYPE html><html><body><p>probe</p><script>console.error("regtrace-probe-marker")</script></body></html>
HTML
render probe "file://$RUN_DIR/probe.html"
console_lines probe | grep -q "regtrace-probe-marker" ||
  fail "Chromium did not log the probe page's console error: this test could not see errors in the report"

registry_port="$(free_port)"
start_registry "$RUN_DIR/registry" "$registry_port"
registry="registry.test:$registry_port"
start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
log "registry on 127.0.0.1:$registry_port, regtrace on 127.0.0.1:$REGTRACE_PORT"

via_regtrace() {
  curl -sS -o /dev/null -w '%{http_code}' --proxy "http://127.0.0.1:$REGTRACE_PORT" --cacert "$REGTRACE_CA" "$@"
}
[[ $(via_regtrace "https://$registry/v2/") == 200 ]] || fail "the ping through regtrace did not answer 200"
[[ $(via_regtrace -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "https://$registry/v2/e2e/app/manifests/missing") == 404 ]] || fail "the missing tag did not answer 404"
[[ $(via_regtrace "https://$registry/v2/e2e/nothing-here/tags/list") == 404 ]] ||
  fail "the unknown repository did not answer 404"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"

log "regtrace report --format html"
report="$RUN_DIR/report.html"
rc=0
"$bin" report "$REGTRACE_HAR" --format html -o "$report" 2>"$RUN_DIR/report.log" || rc=$?
((rc == 0)) || fail "regtrace report exited $rc without --fail-on (expected 0)"
for section in requests timeline; do
  grep -q "id=\"$section\"" "$report" || fail "the HTML report has no $section section"
done
grep -q "/v2/e2e/app/manifests/missing" "$report" || fail "the HTML report does not list the missing tag's request"
for n in 1 2 3; do grep -q "id=\"entry-$n\"" "$report" || fail "the HTML report has no row for entry #$n"; done
# The operations (issue 12): curl's read of the missing tag is a failed pull, its tags list another
# failed read; the lone ping is no operation.
grep -q 'id="operations"' "$report" || fail "the HTML report has no operations section"
# Self-contained: no attribute loads anything, no CSS fetches (the SVG namespace is a name only).
! grep -Eiq '(src|href)="(https?:|//)|url\(|@import' "$report" || fail "the HTML report refers to an external resource"

log "rendering the report in headless Chromium"
render report "file://$report"
lines="$(console_lines report)"
[[ -z $lines ]] || fail "the report page logged console messages:
$lines"
python3 "$here/lib/png_check.py" "$RUN_DIR/report.png" 0.02 8 || fail "the report's screenshot is (nearly) blank"
log "the operations section in the DOM Chromium built"
dump_dom report "file://$report"
dom="$RUN_DIR/report.dom.html"
grep -q '<section id="operations"><h2>Operations</h2>' "$dom" || fail "Chromium's DOM of the report has no operations heading"
grep -Eq "<h3><span class=\"badge o-failed\">FAILED</span>pull $registry/e2e/app:missing</h3>" "$dom" ||
  fail "Chromium's DOM has no failed pull of e2e/app:missing among the operations"
grep -Eq "Failed at <a href=\"#entry-[0-9]+\">#[0-9]+</a> <code>GET /v2/e2e/app/manifests/missing 404 MANIFEST_UNKNOWN</code>" "$dom" ||
  fail "Chromium's DOM does not show the pull failing at the missing manifest"
grep -q "tags of $registry/e2e/nothing-here</h3>" "$dom" || fail "Chromium's DOM has no operation for the tags list"
# The section comes before the findings, and its links go to rows of the request table.
python3 - "$dom" <<'PY' || fail "the operations section is misplaced or links to no request row"
import re, sys
dom = open(sys.argv[1]).read()
ops, findings = dom.find('id="operations"'), dom.find('id="findings"')
after = findings if findings >= 0 else dom.find('id="timeline"')
assert 0 <= ops < after, (ops, findings)
section = dom[ops:after]
links = re.findall(r'href="#(entry-\d+)"', section)
assert links, "no entry links in the operations section"
for target in links:
    assert f'<tr id="{target}"' in dom, target
PY
log "PASS: the HTML report of a regtrace trace renders in Chromium without console messages, operations included"
