#!/usr/bin/env python3
"""Check that a regtrace HAR of one failed client command names the failure, and nothing else as bad.

Usage: expect_finding.py TRACE.har --id B-05 --severity critical --method GET --path REGEX --status 401
The trace's final diagnosis (log._findings) must hold the finding ID once, at SEVERITY, with evidence on
an entry whose method, URL path (a full match of REGEX) and status are the ones given; no other finding
may be at ERROR or above. One failed command, one diagnosis: a request the client retried and that was
refused again is evidence of the same finding, not a finding of its own. Every finding is listed, with its evidence, so a
miss is a bug report by itself. Exits 1 with one line per problem found.
"""
import argparse
import json
import re
import sys
from urllib.parse import urlsplit

LEVELS = ["info", "warning", "error", "critical"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("har")
    ap.add_argument("--id", required=True)
    ap.add_argument("--severity", required=True, choices=LEVELS)
    ap.add_argument("--method", required=True)
    ap.add_argument("--path", required=True, help="a regular expression the evidence entry's URL path matches")
    ap.add_argument("--status", required=True, type=int)
    args = ap.parse_args()

    with open(args.har, encoding="utf-8") as f:
        log = json.load(f)["log"]
    entries, findings = log["entries"], log.get("_findings") or []

    def line(i):
        if not isinstance(i, int) or not 0 <= i < len(entries):
            return f"entry {i} (not in the trace)"
        e = entries[i]
        return f"entry {i}: {e['request']['method']} {e['request']['url']} -> {e['response']['status']}"

    def matches(i):
        if not isinstance(i, int) or not 0 <= i < len(entries):
            return False
        e = entries[i]
        return (e["request"]["method"] == args.method and e["response"]["status"] == args.status and
                re.fullmatch(args.path, urlsplit(e["request"]["url"]).path) is not None)

    print(f"{len(entries)} entries:", file=sys.stderr)
    for i, e in enumerate(entries):
        live = (e.get("_regtrace") or {}).get("findings") or []
        print(f"  {line(i)}{'  [' + ' '.join(live) + ']' if live else ''}", file=sys.stderr)
    print(f"{len(findings)} finding(s):", file=sys.stderr)
    for f in findings:
        print(f"  {f.get('id')} {str(f.get('severity')).upper()} {f.get('name', '')}: {f.get('title', '')}", file=sys.stderr)
        for ev in f.get("evidence") or []:
            print(f"      {line(ev.get('entry'))}  ({ev.get('detail', '')})", file=sys.stderr)

    problems = []
    wanted = f"{args.id} at {args.severity.upper()} with evidence on {args.method} {args.path} -> {args.status}"
    mine = [f for f in findings if f.get("id") == args.id]
    if not mine:
        problems.append(f"no {args.id} finding in log._findings (expected {wanted})")
    elif not any(str(f.get("severity")).lower() == args.severity for f in mine):
        problems.append(f"{args.id} is at {[f.get('severity') for f in mine]}, expected {args.severity}")
    elif not any(matches(ev.get("entry")) for f in mine for ev in f.get("evidence") or []):
        problems.append(f"{args.id} has no evidence on {args.method} {args.path} -> {args.status}")
    if len(mine) > 1:
        on = [ev.get("entry") for f in mine for ev in f.get("evidence") or []]
        problems.append(f"{args.id} is reported {len(mine)} times for one failed command (evidence entries {on}); "
                        "the client's retries of the refused request belong to one finding")
    others = [f for f in findings if f.get("id") != args.id and
              str(f.get("severity")).lower() in ("error", "critical")]
    for f in others:
        problems.append(f"{f.get('id')} ({f.get('severity')}) besides {args.id}: {f.get('title', '')}")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"finding OK: {wanted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
