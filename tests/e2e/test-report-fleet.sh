#!/usr/bin/env bash
# End to end: one report over a folder of traces (issue 15). Three HARs made from the Chrome fixture
# (tests/fixtures/chrome-registry.har: a missing manifest, C-01): node-a as recorded, node-b a day
# later asking for the missing manifest twice, node-c without that request; plus a file that is not
# a HAR, a text file and a HAR in a subfolder (both to be ignored). `regtrace report DIR` must give
# one fleet report in every format: C-01 grouped over node-a and node-b with 3 requests and its
# first and last time, broken.har named as unreadable (and on stderr), each trace's own report in
# the JSON exactly as `regtrace report FILE --format json` gives it. --fail-on looks at every trace;
# no readable trace, or a folder without HAR, exits 1; one file is still the single-trace report.
#
# usage: test-report-fleet.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

# Only regtrace and python3 are needed: no registry, so no test packages to install (e2e_begin would).
[[ $# -eq 1 && -x $1 ]] || fail "usage: $0 REGTRACE_BIN (got '${1:-}', which is not an executable)"
bin="$(realpath "$1")"
e2e_init

fixture="$E2E_ROOT/tests/fixtures/chrome-registry.har"
dir="$RUN_DIR/traces"
mkdir -p "$dir/older"
python3 - "$fixture" "$dir" <<'PY'
import copy, datetime, json, pathlib, sys
source, out = json.load(open(sys.argv[1])), pathlib.Path(sys.argv[2])

def shifted(har, hours):
    har = copy.deepcopy(har)
    for e in har["log"]["entries"]:
        t = datetime.datetime.fromisoformat(e["startedDateTime"].replace("Z", "+00:00"))
        t += datetime.timedelta(hours=hours)
        e["startedDateTime"] = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return har

def missing(har):
    return [e for e in har["log"]["entries"] if e["response"]["status"] == 404]

assert len(missing(source)) == 1, "the fixture no longer has exactly one 404"
assert missing(source)[0]["startedDateTime"] == "2024-05-06T07:08:09.290Z", missing(source)[0]["startedDateTime"]
json.dump(shifted(source, 0), open(out / "node-a.har", "w"))
b = shifted(source, 24)
again = copy.deepcopy(missing(b)[0])
again["startedDateTime"] = "2024-05-07T07:08:19.290Z"
b["log"]["entries"].append(again)
json.dump(b, open(out / "node-b.har", "w"))
c = shifted(source, 1)
c["log"]["entries"] = [e for e in c["log"]["entries"] if e["response"]["status"] != 404]
json.dump(c, open(out / "node-c.har", "w"))
json.dump(shifted(source, 2), open(out / "older" / "node-z.har", "w"))  # not read: not recursive
(out / "broken.har").write_text("this is not JSON\n")
(out / "notes.txt").write_text("collected from 3 nodes\n")
PY

# report NAME ARGS...: runs regtrace report, stdout to RUN_DIR/NAME.out, stderr to RUN_DIR/NAME.log,
# the exit status to $rc.
report() {
  local name="$1"
  shift
  rc=0
  "$bin" report "$@" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.log" || rc=$?
}

log "text: regtrace report $dir"
report text "$dir"
((rc == 0)) || fail "the fleet report exited $rc (expected 0: three traces were readable)"
out="$RUN_DIR/text.out"
head -n 1 "$out" | grep -qx "regtrace fleet report: 3 traces, 1 unreadable" || fail "the text report's first line: $(head -n 1 "$out")"
grep -q "^FAILED on 2 of 3 traces: 1 error — .* (C-01) on 2 traces; 1 trace could not be read$" "$out" ||
  fail "the text report's verdict does not say C-01 failed on 2 of 3 traces"
grep -qF "On 2 of 3 traces, 3 requests, 2024-05-06T07:08:09.290Z to 2024-05-07T07:08:19.290Z:" "$out" ||
  fail "the text report does not group C-01 over 2 traces with 3 requests and its first and last time"
grep -qxF "      node-a: 1 request at 2024-05-06T07:08:09.290Z" "$out" || fail "the text report does not list node-a under C-01"
grep -qxF "      node-b: 2 requests, 2024-05-07T07:08:09.290Z to 2024-05-07T07:08:19.290Z" "$out" ||
  fail "the text report does not list node-b's two requests under C-01"
grep -q "^  $dir/broken.har: not a HAR: " "$out" || fail "the text report does not name broken.har as unreadable"
grep -qx "  node-c.har (WebInspector, 3 entries)" "$out" || fail "the text report has no summary of node-c.har"
! grep -q "node-z\|notes.txt" "$out" || fail "the fleet report read a file it should not (a subfolder's HAR or a .txt)"
grep -q "regtrace: $dir/broken.har is not a HAR: " "$RUN_DIR/text.log" || fail "stderr does not name broken.har"

log "json: the fleet's shape, and each trace's report as regtrace report FILE gives it"
report json "$dir" --format json
((rc == 0)) || fail "the JSON fleet report exited $rc"
for node in a b c; do
  "$bin" report "$dir/node-$node.har" --format json >"$RUN_DIR/single-$node.json" 2>/dev/null ||
    fail "regtrace report node-$node.har --format json failed"
done
python3 - "$RUN_DIR" "$dir" <<'PY' || fail "the JSON fleet report is not as expected"
import json, sys
run, folder = sys.argv[1], sys.argv[2]
doc = json.load(open(f"{run}/json.out"))
assert doc["schema"] == "regtrace.fleet-report/1", doc["schema"]
fleet = doc["fleet"]
assert [t["trace"] for t in fleet["traces"]] == ["node-a.har", "node-b.har", "node-c.har"], fleet["traces"]
assert [t["node"] for t in fleet["traces"]] == ["node-a", "node-b", "node-c"], fleet["traces"]
assert [t["worst_severity"] for t in fleet["traces"]] == ["error", "error", None], fleet["traces"]
assert len(fleet["unreadable"]) == 1 and fleet["unreadable"][0]["file"] == f"{folder}/broken.har", fleet["unreadable"]
assert fleet["unreadable"][0]["reason"].startswith("not a HAR: "), fleet["unreadable"]
assert fleet["worst_severity"] == "error", fleet["worst_severity"]
c01 = [f for f in fleet["findings"] if f["id"] == "C-01"]
assert len(c01) == 1, fleet["findings"]
c01 = c01[0]
rank = ["info", "warning", "error", "critical"]
levels = [rank.index(f["severity"]) for f in fleet["findings"]]
assert levels == sorted(levels, reverse=True), fleet["findings"]  # most severe first
assert c01["severity"] == "error" and c01["cause"].startswith("registry.example.com/team/app:v1.2.3"), c01
assert c01["requests"] == 3, c01
assert c01["first_seen"] == "2024-05-06T07:08:09.290Z" and c01["last_seen"] == "2024-05-07T07:08:19.290Z", c01
assert [(t["node"], t["requests"], t["first_seen"], t["last_seen"]) for t in c01["traces"]] == [
    ("node-a", 1, "2024-05-06T07:08:09.290Z", "2024-05-06T07:08:09.290Z"),
    ("node-b", 2, "2024-05-07T07:08:09.290Z", "2024-05-07T07:08:19.290Z"),
], c01["traces"]
assert len(doc["reports"]) == 3, len(doc["reports"])
for report, node in zip(doc["reports"], "abc"):
    single = json.load(open(f"{run}/single-{node}.json"))
    assert report == single, f"node-{node}: the fleet's report differs from regtrace report node-{node}.har"
assert not doc["reports"][2]["findings"], doc["reports"][2]["findings"]
PY

log "markdown and html"
report markdown "$dir" --format markdown
((rc == 0)) || fail "the Markdown fleet report exited $rc"
md="$RUN_DIR/markdown.out"
grep -q "^## Findings across traces$" "$md" || fail "the Markdown report has no findings section"
grep -q "^| ERROR | \`C-01\` | .* | 2 | 3 | 2024-05-06T07:08:09.290Z | 2024-05-07T07:08:19.290Z |$" "$md" ||
  fail "the Markdown findings table has no C-01 row on 2 traces with 3 requests"
grep -q "^- \`$dir/broken.har\`: not a HAR: " "$md" || fail "the Markdown report does not name broken.har"
grep -q "^| \`node-c.har\` | \`node-c\` | WebInspector | 3 | No problems found in 3 exchanges |" "$md" ||
  fail "the Markdown traces table has no row for node-c.har"
report html "$dir" --format html -o "$RUN_DIR/fleet.html"
((rc == 0)) || fail "the HTML fleet report exited $rc"
html="$RUN_DIR/fleet.html"
grep -q "regtrace: wrote $RUN_DIR/fleet.html: FAILED on 2 of 3 traces" "$RUN_DIR/html.log" || fail "no 'wrote' line on stderr"
for section in verdict findings unreadable traces trace-1 trace-2 trace-3; do
  grep -q "id=\"$section\"" "$html" || fail "the HTML fleet report has no $section element"
done
grep -qF '<td><a href="#trace-2">node-b.har</a></td><td class="mono">node-b</td><td class="num">2</td>' "$html" ||
  fail "the HTML C-01 card does not link node-b with 2 requests"
! grep -Eiq '(src|href)="(https?:|//)|url\(|@import' "$html" || fail "the HTML fleet report refers to an external resource"

log "--fail-on over all traces; several files; one file; nothing readable; a folder without HAR"
report fail-error "$dir" --fail-on error --format json
((rc == 2)) || fail "--fail-on error exited $rc (expected 2: node-a and node-b have an error)"
report fail-critical "$dir" --fail-on critical --format json
((rc == 0)) || fail "--fail-on critical exited $rc (expected 0: no critical finding)"
report pair "$dir/node-c.har" "$dir/node-a.har" "$RUN_DIR/missing.har"
((rc == 0)) || fail "two readable files and a missing one exited $rc"
grep -qx "regtrace fleet report: 2 traces, 1 unreadable" "$RUN_DIR/pair.out" || fail "two files did not give a fleet report"
grep -q "^FAILED on 1 of 2 traces: " "$RUN_DIR/pair.out" || fail "the pair's verdict is not FAILED on 1 of 2 traces"
grep -q "$RUN_DIR/missing.har" "$RUN_DIR/pair.log" || fail "stderr does not name the missing trace"
python3 - "$RUN_DIR/pair.out" <<'PY' || fail "the traces are not in the order given"
import sys
text = open(sys.argv[1]).read()
assert 0 <= text.index("  node-c.har (") < text.index("  node-a.har ("), text
PY
report single "$dir/node-a.har"
((rc == 0)) || fail "one file exited $rc"
head -n 1 "$RUN_DIR/single.out" | grep -q "^regtrace report: $dir/node-a.har (WebInspector, 4 entries)$" ||
  fail "one file did not give the single-trace report: $(head -n 1 "$RUN_DIR/single.out")"
report none "$dir/broken.har" "$RUN_DIR/missing.har"
((rc == 1)) || fail "no readable trace exited $rc (expected 1)"
[[ ! -s $RUN_DIR/none.out ]] || fail "no readable trace still printed a report"
grep -q "broken.har is not a HAR" "$RUN_DIR/none.log" && grep -q "missing.har" "$RUN_DIR/none.log" ||
  fail "stderr does not name both unreadable traces"
mkdir -p "$RUN_DIR/empty"
report empty "$RUN_DIR/empty"
((rc == 1)) || fail "a folder without HAR exited $rc (expected 1)"
grep -q "the folder $RUN_DIR/empty holds no .har file" "$RUN_DIR/empty.log" || fail "no sentence for the folder without HAR"

log "PASS: one fleet report over a folder of traces in every format, unreadable traces named"
