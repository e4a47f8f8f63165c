#!/usr/bin/env python3
"""Check a regtrace HAR of a container runtime's healthy pull and pushes (podman, containerd's ctr).

Usage: check_runtime_har.py TRACE.har --agent PREFIX --user USER --password PASS
           --pulled REPO@DIGEST [--pushed REPO:TAG@DIGEST ...] [--pulled-back REPO@DIGEST]
Every entry must come from the client (its User-Agent starts with PREFIX) and have worked, with its
credentials redacted. The pull of REPO must resolve DIGEST and fetch four distinct blobs (three layers
and the config) whose bodies hash to their digests; each push must place four blobs in its repository
(by upload, cross-repository mount or one the registry already had) before the manifest PUT, which
the registry answers with the digest the client reported; a pull back by digest fetches the four
blobs from the pushed repository. Exits 1 with one line per problem found.
"""
import argparse
import json
import re
import sys
from urllib.parse import parse_qs, urlsplit

import check_docker_har as docker_checks
import check_har
from check_har import classify, describe

problems = []


def problem(msg):
    problems.append(msg)


def steps(entries):
    return list(docker_checks.steps(entries, 0))


def manifest_resolved(seq, repo, digest):
    """Index of the first manifest request of REPO answered 200 with Docker-Content-Digest DIGEST."""
    return next((i for i, e, k, p, m, s in seq if k == "manifest" and p["repo"] == repo and s == 200 and
                 docker_checks.response_header(e, "docker-content-digest") == digest), None)


def check_pull(entries, seq, who, repo, digest, by_digest=False):
    resolved = manifest_resolved(seq, repo, digest)
    if resolved is None:
        problem(f"{who} resolved no manifest of {repo} with Docker-Content-Digest {digest}")
    elif by_digest and not any(k == "manifest" and p["repo"] == repo and p["ref"] == digest and s == 200
                               for _, _, k, p, _, s in seq):
        problem(f"{who} did not ask for the manifest of {repo} by its digest {digest}")
    docker_checks.check_blob_gets(entries, 0, who, repo, 4)
    return resolved


def placed_digest(e, kind, parts, method, status):
    """The blob digest a push request put (or found) in its repository, if it did."""
    query = parse_qs(urlsplit(e["request"]["url"]).query)
    if kind == "blob" and method == "HEAD" and status == 200:
        return parts["digest"]  # the registry already has it there
    if kind == "upload" and method == "POST" and status == 201 and "mount" in query:
        return query["mount"][0]  # mounted across repositories
    if kind == "upload" and method == "PUT" and status == 201 and "digest" in query:
        return query["digest"][0]  # uploaded, the session closed with its digest
    return None


def check_push(seq, who, repo, tag, digest):
    put = next((i for i, e, k, p, m, s in seq if k == "manifest" and m == "PUT" and p["repo"] == repo and
                p["ref"] == tag and s == 201), None)
    if put is None:
        problem(f"no manifest PUT for {repo}:{tag} answered 201 ({who}'s push)")
        return None
    got = docker_checks.response_header(seq[put][1], "docker-content-digest")
    if got != digest:
        problem(f"{describe(put, seq[put][1])}: Docker-Content-Digest {got}, the client reported {digest}")
    placed = {}
    for i, e, k, p, m, s in seq:
        if k in ("blob", "upload") and p.get("repo") == repo:
            d = placed_digest(e, k, p, m, s)
            if d:
                placed.setdefault(d, i)
            if i > put and k == "upload":
                problem(f"{describe(i, e)}: a blob upload after the manifest PUT (entry {put})")
    if len(placed) != 4:
        problem(f"{who}'s push placed {len(placed)} distinct blobs in {repo} ({sorted(placed)}), expected 4 "
                "(three layers and the config)")
    return put


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("har")
    ap.add_argument("--agent", required=True, help="the client's User-Agent prefix, e.g. containers/")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--pulled", required=True, metavar="REPO@DIGEST")
    ap.add_argument("--pushed", action="append", default=[], metavar="REPO:TAG@DIGEST")
    ap.add_argument("--pulled-back", metavar="REPO@DIGEST")
    args = ap.parse_args()

    with open(args.har, encoding="utf-8") as f:
        text = f.read()
    har = json.loads(text)
    entries = check_har.check_structure(har)
    who = args.agent.rstrip("/")
    for i, e in enumerate(entries):
        agent = docker_checks.agent_of(e)
        if not agent.startswith(args.agent):
            problem(f"{describe(i, e)}: User-Agent {agent[:40]!r}, expected only {who}'s requests ({args.agent}...)")
    docker_checks.check_common(entries, 0, who, args.user)
    check_har.check_bodies(entries)
    check_har.check_secrets(text, entries, args.user, args.password)
    seq = steps(entries)

    repo, digest = args.pulled.split("@")
    pulled = check_pull(entries, seq, who, repo, digest)
    last = pulled
    for spec in args.pushed:
        m = re.fullmatch(r"(?P<repo>[^:@]+):(?P<tag>[^@]+)@(?P<digest>sha256:[0-9a-f]{64})", spec)
        if not m:
            ap.error(f"--pushed {spec!r} is not REPO:TAG@DIGEST")
        put = check_push(seq, who, m["repo"], m["tag"], m["digest"])
        if put is not None and last is not None and not last < put:
            problem(f"the manifest PUT of {m['repo']}:{m['tag']} (entry {put}) comes before the step before it (entry {last})")
        last = put if put is not None else last
    if args.pulled_back:
        repo, digest = args.pulled_back.split("@")
        back = check_pull(entries, seq, who, repo, digest, by_digest=True)
        if back is not None and last is not None and not last < back:
            problem(f"the pull back of {repo}@{digest} (entry {back}) does not come after the push (entry {last})")

    problems[:0] = docker_checks.problems + check_har.problems
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if problems:
        return 1
    conns = len({e["_regtrace"].get("connection_id") for e in entries})
    kinds = {}
    for e in entries:
        kinds[classify(e)[0]] = kinds.get(classify(e)[0], 0) + 1
    print(f"HAR OK: {len(entries)} requests from {who} on {conns} connections "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
