#!/usr/bin/env python3
"""Writes a large synthetic HAR in regtrace's own layout, to measure the peak memory of
`regtrace report` and `regtrace proxy --replay` on big traces (issue 13: a 209 MB customer HAR of
72,313 entries took 1.56 GB). Not a committed fixture: run it into a scratch folder.

The entries look like a long pull loop against one registry: the /v2/ challenge, a token, manifests
with their JSON bodies, blob GETs answered 307 and storage GETs, each with regtrace's `_regtrace`
object, and `_findings` after the entries as regtrace writes them.

Usage: make_large_har.py OUT.har [--megabytes 200]
"""

import argparse
import json
import random

REGISTRY = "registry.test:5443"
TLS = {"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "alpn": "http/1.1", "sni": "registry.test",
       "session_resumed": False, "verified": True}
CHAIN = ["CN=registry.test (ECDSA P-256, expires 2030-01-01)",
         "CN=regtrace test intermediate CA (ECDSA P-256, expires 2035-01-01)",
         "CN=regtrace test root CA (ECDSA P-256, expires 2040-01-01)"]


def headers(*pairs):
    return [{"name": n, "value": v} for n, v in pairs]


def body(text, mime):
    return {"size": len(text), "mimeType": mime, "text": text}


def manifest(rng):
    layers = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
               "digest": "sha256:%064x" % rng.getrandbits(256), "size": rng.randint(1, 1 << 30)}
              for _ in range(rng.randint(3, 12))]
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:%064x" % rng.getrandbits(256), "size": 1469},
                       "layers": layers})


def entry(i, rng):
    repo = "team/app%d" % (i % 50)
    kind = i % 4
    if kind == 0:
        path, status, text, mime = "/v2/", 401, '{"errors":[{"code":"UNAUTHORIZED"}]}', "application/json"
    elif kind == 1:
        path, status, text, mime = "/v2/%s/manifests/v%d" % (repo, i), 200, manifest(rng), \
            "application/vnd.oci.image.manifest.v1+json"
    elif kind == 2:
        path, status, text, mime = "/v2/%s/blobs/sha256:%064x" % (repo, i), 307, "", "text/plain"
    else:
        path, status, text, mime = "/v2/%s/tags/list" % repo, 200, json.dumps(
            {"name": repo, "tags": ["v%d" % t for t in range(rng.randint(5, 80))]}), "application/json"
    request = {"method": "GET", "url": "https://%s%s" % (REGISTRY, path), "httpVersion": "HTTP/1.1",
               "headers": headers(("Host", REGISTRY), ("User-Agent", "docker/24.0.7 go/go1.20.10"),
                                  ("Authorization", "Bearer <redacted sha256:3f9a12bc>"),
                                  ("Accept", "application/vnd.oci.image.manifest.v1+json")),
               "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0}
    response = {"status": status, "statusText": "OK", "httpVersion": "HTTP/1.1",
                "headers": headers(("Content-Type", mime), ("Content-Length", str(len(text))),
                                   ("Docker-Distribution-Api-Version", "registry/2.0"),
                                   ("Date", "Tue, 02 Jan 2024 03:04:05 GMT")),
                "cookies": [], "content": body(text, mime), "redirectURL": "", "headersSize": -1,
                "bodySize": len(text)}
    return {"startedDateTime": "2024-01-02T03:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000),
            "time": 3.5, "request": request, "response": response, "cache": {},
            "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0.1, "wait": 3.2,
                        "receive": 0.2},
            "connection": "c%d" % (i // 3),
            "_regtrace": {"connection_id": i // 3, "request_index": i % 3, "client_address": "127.0.0.1:40000",
                          "request_body": {"bytes": 0, "sha256": "", "complete": True},
                          "response_body": {"bytes": len(text), "sha256": "%064x" % rng.getrandbits(256),
                                            "complete": True},
                          "client_tls": TLS, "upstream_tls": dict(TLS, peer_chain=CHAIN),
                          "registry": {"kind": ["ping", "manifest", "blob", "tags"][kind], "repository": repo},
                          "findings": []}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(13)
    limit = args.megabytes * 1000 * 1000
    written = 0
    count = 0
    with open(args.out, "w", encoding="utf-8") as out:
        head = '{"log":{"version":"1.2","creator":{"name":"regtrace","version":"synthetic"},"entries":['
        out.write(head)
        written += len(head)
        while written < limit:
            text = ("," if count else "") + "\n" + json.dumps(entry(count, rng), separators=(",", ":"))
            out.write(text)
            written += len(text)
            count += 1
        out.write('\n],"_findings":[],"_regtrace":{"records_lost":0}}}\n')
    print("%s: %d entries, %d bytes" % (args.out, count, written))


if __name__ == "__main__":
    main()
