#!/usr/bin/env python3
"""Check a regtrace HAR from a registry push followed by a pull (stdlib only).

Usage: check_har.py TRACE.har --user USER --password PASS [--valid-only]
Exits 1 with one line per problem found.
"""
import argparse
import base64
import json
import re
import sys
from urllib.parse import parse_qs, urlsplit

DIGEST = r"sha256:[0-9a-f]{64}"
PATTERNS = [  # (kind, path regex), tried in order: uploads before blobs
    ("ping", re.compile(r"^/v2/?$")),
    ("upload", re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/(?P<upload>[^/]*)$")),
    ("blob", re.compile(rf"^/v2/(?P<repo>.+)/blobs/(?P<digest>{DIGEST})$")),
    ("manifest", re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")),
]

problems = []


def problem(msg):
    problems.append(msg)


def classify(entry):
    """Our own reading of the request, independent of regtrace's classifier."""
    path = urlsplit(entry["request"]["url"]).path
    for kind, rx in PATTERNS:
        m = rx.match(path)
        if m:
            return kind, m.groupdict()
    return "other", {}


def strip_algo(value):
    return value.split(":", 1)[1] if isinstance(value, str) and value.startswith("sha256:") else value


def describe(i, e):
    return f"entry {i} ({e['request']['method']} {e['request']['url']} -> {e['response']['status']})"


def check_structure(har):
    log = har.get("log")
    if not isinstance(log, dict):
        problem("the file has no 'log' object")
        return []
    if log.get("version") != "1.2":
        problem(f"log.version is {log.get('version')!r}, expected '1.2'")
    if log.get("creator", {}).get("name") != "regtrace":
        problem(f"log.creator.name is {log.get('creator', {}).get('name')!r}, expected 'regtrace'")
    entries = log.get("entries")
    if not isinstance(entries, list) or not entries:
        problem("log.entries is empty or missing")
        return []
    for i, e in enumerate(entries):
        for key in ("startedDateTime", "time", "request", "response", "timings", "_regtrace"):
            if key not in e:
                problem(f"entry {i} has no '{key}'")
    return [e for e in entries if "request" in e and "response" in e and "_regtrace" in e]


def check_sequence(entries):
    """Push then pull: ping, blob HEAD, upload POST, PATCH/PUT digest=, manifest PUT, manifest GET, blob GET."""
    firsts, lasts = {}, {}
    for i, e in enumerate(entries):
        kind, _ = classify(e)
        method = e["request"]["method"]
        query = parse_qs(urlsplit(e["request"]["url"]).query)
        step = {
            ("ping", "GET"): "ping GET /v2/",
            ("blob", "HEAD"): "blob HEAD",
            ("upload", "POST"): "upload POST",
            ("upload", "PATCH"): "upload PATCH",
            ("manifest", "PUT"): "manifest PUT",
            ("manifest", "GET"): "manifest GET",
            ("blob", "GET"): "blob GET",
        }.get((kind, method))
        if kind == "upload" and method == "PUT" and "digest" in query:
            step = "upload PUT digest="
        if step:
            firsts.setdefault(step, i)
            lasts[step] = i
    for step in ("ping GET /v2/", "blob HEAD", "upload POST", "upload PUT digest=", "manifest PUT",
                 "manifest GET", "blob GET"):
        if step not in firsts:
            problem(f"no {step} in the trace")
    if problems:
        return
    order = [("ping GET /v2/", "upload POST"), ("upload POST", "upload PUT digest="),
             ("upload PUT digest=", "manifest PUT"), ("manifest PUT", "manifest GET"),
             ("manifest GET", "blob GET")]
    for before, after in order:
        if not firsts[before] < firsts[after]:
            problem(f"the first {before} (entry {firsts[before]}) does not come before the first {after} (entry {firsts[after]})")
    if not lasts["upload PUT digest="] < firsts["manifest PUT"]:
        problem("a blob upload finished after the manifest PUT")


def body(e, side):
    return e["_regtrace"].get(side) or {}


def check_classification(i, e, kind, parts):
    reg = e["_regtrace"].get("registry") or {}
    if reg.get("kind") != kind:
        problem(f"{describe(i, e)}: _regtrace.registry.kind is {reg.get('kind')!r}, expected {kind!r}")
    if "repo" in parts and reg.get("repository") != parts["repo"]:
        problem(f"{describe(i, e)}: _regtrace.registry.repository is {reg.get('repository')!r}, expected {parts['repo']!r}")
    if "digest" in parts and strip_algo(reg.get("digest")) != strip_algo(parts["digest"]):
        problem(f"{describe(i, e)}: _regtrace.registry.digest is {reg.get('digest')!r}, expected {parts['digest']!r}")


def check_bodies(entries):
    patches = {}  # upload id -> PATCH entries, to check a PUT that closes a chain of one PATCH
    for i, e in enumerate(entries):
        kind, parts = classify(e)
        method, status = e["request"]["method"], e["response"]["status"]
        if kind in ("ping", "blob", "manifest", "upload"):
            check_classification(i, e, kind, parts)
        if kind == "blob" and method == "GET" and status == 200:
            rb = body(e, "response_body")
            if strip_algo(rb.get("sha256")) != strip_algo(parts["digest"]):
                problem(f"{describe(i, e)}: response body sha256 {rb.get('sha256')!r} is not the digest in the URL")
            if rb.get("complete") is not True:
                problem(f"{describe(i, e)}: response body not marked complete")
        if kind == "upload" and method == "PATCH":
            patches.setdefault(parts["upload"], []).append(e)
        if kind == "upload" and method == "PUT":
            digest = parse_qs(urlsplit(e["request"]["url"]).query).get("digest", [None])[0]
            rq = body(e, "request_body")
            chain = patches.get(parts["upload"], [])
            if rq.get("bytes"):
                sha = rq.get("sha256")
            elif len(chain) == 1:
                sha = body(chain[0], "request_body").get("sha256")
            else:
                continue  # several PATCHes: one hash per request cannot be combined into the blob's
            if digest and strip_algo(sha) != strip_algo(digest):
                problem(f"{describe(i, e)}: uploaded body sha256 {sha!r} does not match digest={digest}")


def header_values(e, name):
    return [h.get("value", "") for h in e["request"].get("headers", []) if h.get("name", "").lower() == name]


def check_secrets(text, entries, user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    for label, secret in (("the password", password), ("the base64 of user:password", token)):
        if secret in text:
            problem(f"{label} appears in the HAR file")
    basic = [v for e in entries for v in header_values(e, "authorization") if v.lower().startswith("basic")]
    if not basic:
        problem("no request carries an Authorization: Basic header (expected the client's credentials, redacted)")
    for v in basic:
        if "<redacted" not in v:
            problem(f"an Authorization header is not redacted: {v[:40]!r}")
    if basic and not any(f"user={user}" in v for v in basic):
        problem(f"no redacted Basic header keeps the user name (expected 'user={user}'), e.g. {basic[0]!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("har")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--valid-only", action="store_true", help="only check that the file is a regtrace HAR")
    args = ap.parse_args()
    if not args.valid_only and not (args.user and args.password):
        ap.error("--user and --password are required unless --valid-only")

    try:
        with open(args.har, encoding="utf-8") as f:
            text = f.read()
        har = json.loads(text)
    except OSError as err:
        print(f"FAIL: cannot read the HAR {args.har}: {err.strerror}", file=sys.stderr)
        return 1
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        print(f"FAIL: {args.har} is not valid UTF-8 JSON: {err}", file=sys.stderr)
        return 1
    entries = check_structure(har)
    if not args.valid_only and not problems:
        check_sequence(entries)
        check_bodies(entries)
        check_secrets(text, entries, args.user, args.password)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"HAR OK: {len(entries)} entries checked in {args.har}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
