#!/usr/bin/env python3
"""List the findings regtrace wrote into a HAR (log._findings) and fail at a severity (stdlib only).

Usage: har_findings.py TRACE.har [--fail-on error|critical]
Prints every finding with its evidence (entry index, request line, status), most severe first, so
that a finding on a healthy flow can be reported as it stands. Exits 1 when one is at or above
--fail-on, or when the file is not a HAR.
"""
import argparse
import json
import sys

LEVELS = ["info", "warning", "error", "critical"]


def level_of(finding):
    name = str(finding.get("severity", "")).lower()
    # An unknown severity counts as the worst: a misspelt level must not hide a finding.
    return LEVELS.index(name) if name in LEVELS else len(LEVELS)


def request_line(entries, index):
    if not isinstance(index, int) or not 0 <= index < len(entries):
        return f"entry {index} (not in the trace)"
    e = entries[index]
    return f"entry {index}: {e['request']['method']} {e['request']['url']} -> {e['response']['status']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("har")
    ap.add_argument("--fail-on", choices=["error", "critical"], default="error")
    args = ap.parse_args()
    try:
        with open(args.har, encoding="utf-8") as f:
            log = json.load(f)["log"]
        entries = log["entries"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"FAIL: {args.har} is not a readable HAR: {err}", file=sys.stderr)
        return 1

    findings = sorted(log.get("_findings") or [], key=level_of, reverse=True)
    threshold = LEVELS.index(args.fail_on)
    bad = 0
    for f in findings:
        at_or_above = level_of(f) >= threshold
        bad += at_or_above
        mark = "FALSE ALARM" if at_or_above else "note"
        print(f"{mark}: {f.get('id')} {str(f.get('severity')).upper()} {f.get('name', '')}: {f.get('title', '')}",
              file=sys.stderr)
        if f.get("explanation"):
            print(f"    {f['explanation']}", file=sys.stderr)
        for ev in f.get("evidence") or []:
            print(f"    {request_line(entries, ev.get('entry'))}  ({ev.get('detail', '')})", file=sys.stderr)
    # Live IDs on entries may be dropped by the final diagnosis at close: shown, not judged.
    known = {f.get("id") for f in findings}
    for i, e in enumerate(entries):
        for fid in (e.get("_regtrace") or {}).get("findings") or []:
            if fid not in known:
                print(f"note: {request_line(entries, i)} carries live finding {fid}, not in log._findings",
                      file=sys.stderr)
    print(f"{len(findings)} finding(s) in {len(entries)} entries, {bad} at or above {args.fail_on}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
