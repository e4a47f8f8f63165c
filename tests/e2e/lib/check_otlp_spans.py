#!/usr/bin/env python3
"""Checks the spans an independent OTLP receiver decoded (otlp_receiver.js, JSON lines) against the
HAR regtrace wrote for the same run (test-otlp.sh): one span per entry, matched by connection and
request index; their names, kind, attributes (HTTP semantic conventions and regtrace.*), parent ids,
status and finding events. Prints every problem and exits 1 when there is one.

usage: check_otlp_spans.py SPANS.jsonl TRACE.har --registry HOST:PORT --repository NAME
         --traceparent TRACEID-PARENTID --summary "OTLP: N spans exported, 0 dropped" [--secret S]
"""

import argparse
import json
import re
import sys

problems = []


def problem(text):
    problems.append(text)


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_requests(path):
    requests = read_lines(path)
    if not requests:
        problem("the receiver got no request")
    for r in requests:
        if (r["method"], r["path"], r["contentType"]) != ("POST", "/v1/traces", "application/x-protobuf"):
            problem(f"request {r}: expected POST /v1/traces with Content-Type application/x-protobuf")
    return requests


def check_resource(span):
    resource, scope = span["resource"], span["scope"] or {}
    if resource.get("service.name") != "regtrace" or not resource.get("service.version") or not resource.get("host.name"):
        problem(f"span {span['name']}: resource {resource} lacks service.name regtrace, service.version or host.name")
    if scope.get("name") != "regtrace":
        problem(f"span {span['name']}: scope {scope} is not regtrace's")


def check_http(span, entry, host, port, secret):
    a, name = span["attributes"], span["name"]
    request, response = entry["request"], entry["response"]
    expected = {
        "http.request.method": request["method"],
        "url.full": request["url"],
        "server.address": host,
        "server.port": port,
        "network.protocol.version": "1.1",
    }
    if response["status"]:
        expected["http.response.status_code"] = response["status"]
    for key, value in expected.items():
        if a.get(key) != value:
            problem(f"span {name}: {key} is {a.get(key)!r}, expected {value!r}")
    if a.get("tls.protocol.version") not in ("1.2", "1.3") or not a.get("tls.cipher"):
        problem(f"span {name}: tls.protocol.version {a.get('tls.protocol.version')!r} / tls.cipher {a.get('tls.cipher')!r}")
    if secret and secret in json.dumps(span):
        problem(f"span {name}: carries the registry password")
    if span["kind"] != 3:
        problem(f"span {name}: kind {span['kind']}, expected 3 (SPAN_KIND_CLIENT)")
    if int(span["endTimeUnixNano"]) < int(span["startTimeUnixNano"]) or int(span["startTimeUnixNano"]) == 0:
        problem(f"span {name}: times {span['startTimeUnixNano']}..{span['endTimeUnixNano']}")


def check_regtrace(span, entry, repository):
    a, name, reg = span["attributes"], span["name"], entry["_regtrace"]
    kind = (reg.get("registry") or {}).get("kind", "other")
    expected_name = request_name = entry["request"]["method"]
    if kind != "other":
        expected_name = f"{request_name} {kind}"
    if name != expected_name:
        problem(f"span {name}: expected the name {expected_name!r}")
    if kind in ("manifest", "blob") and a.get("regtrace.repository") != repository:
        problem(f"span {name}: regtrace.repository {a.get('regtrace.repository')!r}, expected {repository!r}")
    if kind == "blob" and entry["response"]["status"] == 200:
        digest = (reg.get("registry") or {}).get("digest", "")
        if a.get("regtrace.digest") != digest or "sha256:" + a.get("regtrace.response.body.sha256", "") != digest:
            problem(f"span {name}: regtrace.digest / response.body.sha256 do not match the blob digest {digest}")
    findings = reg.get("findings") or []
    if a.get("regtrace.finding_ids", []) != findings or [e["name"] for e in span["events"]] != findings:
        problem(f"span {name}: finding ids {a.get('regtrace.finding_ids')} / events {span['events']} "
                f"are not the entry's findings {findings}")
    status = entry["response"]["status"]
    failed = status == 0 or status >= 400
    if (span["status"]["code"] == 2) != failed:
        problem(f"span {name} (HTTP {status}): status code {span['status']['code']}, expected "
                f"{'2 (ERROR)' if failed else '0 (UNSET)'}")
    if failed and status and a.get("error.type") != str(status):
        problem(f"span {name}: error.type {a.get('error.type')!r}, expected {str(status)!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("spans")
    p.add_argument("har")
    p.add_argument("--registry", required=True)
    p.add_argument("--repository", required=True)
    p.add_argument("--traceparent", required=True, help="TRACEID-PARENTID the curl request carried")
    p.add_argument("--summary", required=True)
    p.add_argument("--secret", default="")
    args = p.parse_args()

    spans = read_lines(args.spans)
    check_requests(args.spans + ".requests")
    with open(args.har) as f:
        entries = json.load(f)["log"]["entries"]
    host, port = args.registry.rsplit(":", 1)
    by_position = {(e["_regtrace"]["connection_id"], e["_regtrace"]["request_index"]): e for e in entries}

    if len(spans) != len(entries):
        problem(f"{len(spans)} spans for {len(entries)} trace entries")
    summary = re.match(r"OTLP: (\d+) spans exported, (\d+) dropped", args.summary)
    if not summary or int(summary.group(1)) != len(spans) or summary.group(2) != "0":
        problem(f"regtrace's summary {args.summary!r} does not say {len(spans)} spans exported, 0 dropped")
    if len({s["spanId"] for s in spans}) != len(spans):
        problem("two spans share a span id")

    trace_id, parent_id = args.traceparent.split("-")
    children = []
    for span in spans:
        check_resource(span)
        a = span["attributes"]
        entry = by_position.get((a.get("regtrace.connection_id"), a.get("regtrace.request_index")))
        if entry is None:
            problem(f"span {span['name']}: no trace entry has its connection and request index")
            continue
        check_http(span, entry, host, int(port), args.secret)
        check_regtrace(span, entry, args.repository)
        if span["parentSpanId"]:
            children.append(span)
            if (span["traceId"], span["parentSpanId"], span["traceState"]) != (trace_id, parent_id, "vendor=e2e"):
                problem(f"span {span['name']}: trace {span['traceId']} parent {span['parentSpanId']} "
                        f"state {span['traceState']!r}, expected {trace_id} {parent_id} 'vendor=e2e'")
        elif not re.fullmatch(r"[0-9a-f]{32}", span["traceId"]) or span["traceId"] == trace_id:
            problem(f"span {span['name']}: a root span's trace id {span['traceId']!r}")

    if len(children) != 1 or children[0]["name"] != "GET manifest":
        problem(f"expected exactly one span with a parent (GET manifest with traceparent), got "
                f"{[c['name'] for c in children]}")
    names = {s["name"] for s in spans}
    for needed in ("GET ping", "GET manifest", "GET blob"):
        if needed not in names:
            problem(f"no span named {needed!r} among {sorted(names)}")
    if not any(s["attributes"].get("http.response.status_code") == 404 and s["status"]["code"] == 2 for s in spans):
        problem("the missing manifest's span (404, status ERROR) is not there")

    for text in problems:
        print("check_otlp_spans:", text)
    if not problems:
        print(f"check_otlp_spans: {len(spans)} spans match the trace's {len(entries)} entries; names "
              f"{sorted(names)}; one child of {parent_id} in trace {trace_id}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
