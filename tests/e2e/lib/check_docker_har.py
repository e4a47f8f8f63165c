#!/usr/bin/env python3
"""Check a regtrace HAR of test-docker.sh: the Docker daemon's login, pull and push, then `ctr images pull`.

Usage: check_docker_har.py TRACE.har --user USER --image-digest D --pushed-digest P
Entries are told apart by User-Agent (docker/..., containerd/...), not by position: the trace writer
may still be writing the daemon's last entry when the test moves on to ctr. Exits 1 with one line
per problem found.
"""
import argparse
import json
import sys
from urllib.parse import parse_qs, urlsplit

from check_har import body, classify, describe, header_values, strip_algo

problems = []


def problem(msg):
    problems.append(msg)


def response_header(e, name):
    return next((h.get("value", "") for h in e["response"].get("headers", []) if h.get("name", "").lower() == name), None)


def steps(entries, base):
    """(absolute index, entry, kind, parts, method, status) for each entry of a segment."""
    for i, e in enumerate(entries):
        kind, parts = classify(e)
        yield base + i, e, kind, parts, e["request"]["method"], e["response"]["status"]


def agent_of(e):
    ua = header_values(e, "user-agent")
    return ua[0] if ua else ""


def check_common(entries, base, who, user):
    """Nothing failed, every credential redacted with the user kept, credentials wherever needed."""
    if not entries:
        problem(f"no entries from {who}")
    for i, e, kind, _, method, status in steps(entries, base):
        if status == 0 or status >= 500 or (e["_regtrace"].get("failure")):
            problem(f"{describe(i, e)}: failed on a healthy flow")
        auth = header_values(e, "authorization")
        for v in auth:
            if not v.startswith("Basic <redacted") or f"user={user}" not in v:
                problem(f"{describe(i, e)}: Authorization is not a redacted Basic keeping user={user}: {v[:40]!r}")
        if status == 401 and auth:
            problem(f"{describe(i, e)}: the credentials were refused")
        if status != 401 and kind != "ping" and not auth:
            problem(f"{describe(i, e)}: answered {status} without credentials on a registry with Basic auth")


def check_blob_gets(entries, base, who, repo, want):
    """Each blob GET 200 of the segment has a body whose SHA-256 is its digest; `want` of them, distinct."""
    got = set()
    for i, e, kind, parts, method, status in steps(entries, base):
        if kind == "blob" and method == "GET" and status == 200 and parts["repo"] == repo:
            rb = body(e, "response_body")
            if strip_algo(rb.get("sha256")) != strip_algo(parts["digest"]) or rb.get("complete") is not True:
                problem(f"{describe(i, e)}: response body sha256 {rb.get('sha256')!r} (complete: {rb.get('complete')}) is not the digest")
            got.add(parts["digest"])
    if len(got) != want:
        problem(f"{who} fetched {len(got)} distinct blobs of {repo}, expected {want} (3 layers and the config)")


def check_daemon(entries, user, image_digest, pushed_digest):
    check_common(entries, 0, "dockerd", user)
    # dockerd's registry transport disables keep-alive: one new client connection per request.
    conns = {e["_regtrace"].get("connection_id") for e in entries}
    reused = [i for i, e in enumerate(entries) if e["_regtrace"].get("request_index") != 1]
    if len(conns) != len(entries) or reused:
        problem(f"dockerd made {len(entries)} requests on {len(conns)} client connections (entries with request_index > 1: {reused}); expected one new connection per request")

    seq = list(steps(entries, 0))
    first = seq[0] if seq else None
    if not first or first[2] != "ping" or first[5] != 401 or header_values(first[1], "authorization"):
        problem("the daemon's first request is not an unauthenticated GET /v2/ answered 401 (docker login's ping)")
    if not any(k == "ping" and s == 200 and header_values(e, "authorization") for _, e, k, _, _, s in seq):
        problem("no GET /v2/ with credentials answered 200 (docker login)")
    www = [response_header(e, "www-authenticate") or "" for _, e, k, _, _, s in seq if k == "ping" and s == 401]
    if not all(v.lower().startswith("basic") for v in www):
        problem(f"a 401 ping did not carry a Basic challenge: {www}")

    def index_of(pred):
        return next((i for i, e, k, p, m, s in seq if pred(e, k, p, m, s)), None)

    pulled = index_of(lambda e, k, p, m, s: k == "manifest" and p["repo"] == "e2e/big" and s == 200 and
                      response_header(e, "docker-content-digest") == image_digest)
    if pulled is None:
        problem(f"no manifest request for e2e/big answered 200 with Docker-Content-Digest {image_digest}")
    check_blob_gets(entries, 0, "dockerd", "e2e/big", 4)

    put = index_of(lambda e, k, p, m, s: k == "manifest" and m == "PUT" and p["repo"] == "e2e/copy" and s == 201)
    if put is None:
        problem("no manifest PUT for e2e/copy answered 201 (docker push)")
        return
    if response_header(entries[put], "docker-content-digest") != pushed_digest:
        problem(f"{describe(put, entries[put])}: Docker-Content-Digest is not {pushed_digest}, the digest docker push printed")
    if pulled is not None and not pulled < put:
        problem("the push's manifest PUT comes before the pull's manifest")
    uploads = [(i, m, s, p) for i, e, k, p, m, s in seq if k == "upload" and p["repo"] == "e2e/copy"]
    # Layers pulled from e2e/big are mounted across repositories (POST ?mount=&from= -> 201); the
    # config, which the pull never saw as a blob of a repository, is uploaded (POST, PATCH, PUT ?digest=).
    mounted = [i for i, m, s, _ in uploads if m == "POST" and s == 201 and
               "mount" in parse_qs(urlsplit(entries[i]["request"]["url"]).query)]
    closed = [i for i, m, s, _ in uploads if m == "PUT" and s == 201]
    if len(mounted) + len(closed) != 4:
        problem(f"docker push placed {len(mounted)} blobs by mount and {len(closed)} by upload, expected 4 in all")
    late = [i for i, *_ in uploads if i > put]
    if late:
        problem(f"blob uploads {late} come after the manifest PUT {put}")


def check_ctr(entries, base, user, image_digest):
    check_common(entries, base, "ctr", user)
    resolved = [i for i, e, k, p, m, s in steps(entries, base) if k == "manifest" and p["repo"] == "e2e/big" and
                s == 200 and response_header(e, "docker-content-digest") == image_digest]
    if not resolved:
        problem(f"ctr resolved no manifest of e2e/big with Docker-Content-Digest {image_digest}")
    check_blob_gets(entries, base, "ctr", "e2e/big", 4)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("har")
    ap.add_argument("--user", required=True)
    ap.add_argument("--image-digest", required=True)
    ap.add_argument("--pushed-digest", required=True)
    args = ap.parse_args()
    with open(args.har, encoding="utf-8") as f:
        entries = json.load(f)["log"]["entries"]
    n = sum(1 for e in entries if agent_of(e).startswith("docker/"))
    for i, e in enumerate(entries):
        want = "docker/" if i < n else "containerd/"
        if not agent_of(e).startswith(want):
            problem(f"{describe(i, e)}: User-Agent {agent_of(e)[:30]!r}; expected the daemon's {n} entries "
                    "(docker/...) and then only ctr's (containerd/...)")
    check_daemon(entries[:n], args.user, args.image_digest, args.pushed_digest)
    check_ctr(entries[n:], n, args.user, args.image_digest)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if problems:
        return 1
    conns = len({e["_regtrace"].get("connection_id") for e in entries[n:]})
    print(f"HAR OK: dockerd {n} requests on {n} new connections; ctr {len(entries) - n} requests on {conns} connections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
