#!/usr/bin/env python3
"""Check how a trace's requests used their client connections.

Usage: check_connections.py TRACE.har --pattern kept-alive|per-request [--served N]
Every connection's requests must be numbered 1, 2, 3... in the order they started (request_index).
kept-alive: at least one connection carried two requests or more (Docker Engine 29.4+, containerd);
per-request: every request had a connection of its own (Docker Engine 20.10, skopeo, podman).
--served N: the trace must hold exactly N exchanges (the requests the registry served).
Exits 1 with one line per problem found.
"""
import argparse
import collections
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--pattern", choices=["kept-alive", "per-request"], required=True)
    ap.add_argument("--served", type=int)
    args = ap.parse_args()
    entries = json.load(open(args.trace))["log"]["entries"]
    by_connection = collections.defaultdict(list)
    for e in entries:
        r = e["_regtrace"]
        by_connection[r["connection_id"]].append((e["startedDateTime"], r["request_index"]))
    problems = []
    for cid, requests in sorted(by_connection.items()):
        indexes = [i for _, i in sorted(requests)]
        if indexes != list(range(1, len(indexes) + 1)):
            problems.append(f"connection c{cid}: request indexes {indexes}, expected 1..{len(indexes)}")
    longest = max((len(r) for r in by_connection.values()), default=0)
    if args.pattern == "kept-alive" and longest < 2:
        problems.append(f"no connection carried two requests: {len(entries)} requests on {len(by_connection)} connections")
    if args.pattern == "per-request" and longest > 1:
        problems.append(f"a connection carried {longest} requests: expected one request per connection")
    if args.served is not None and len(entries) != args.served:
        problems.append(f"{len(entries)} entries for the {args.served} requests the registry served")
    for p in problems:
        print(f"check_connections: {p}", file=sys.stderr)
    if not problems:
        print(f"{len(entries)} requests on {len(by_connection)} connections (up to {longest} on one)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
