#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora and dictionaries, made from the test fixtures.

Seeds come from tests/fixtures (the HAR files: whole, cut short as a crash leaves them, each entry
alone, and what the entries hold: challenges, Authorization values, URLs, query strings, bodies) and
from the string literals of the unit tests of each parser (tests/unit/...), which are the shapes the
tests already know about. Nothing here is committed: scripts/fuzz.sh writes into the build folder.

Usage: make_corpus.py OUT_DIR     (writes OUT_DIR/<target>/<sha1> seeds and OUT_DIR/<target>.dict)
"""

import base64
import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
UNIT = ROOT / "tests" / "unit"

# The unit tests whose string literals seed each target.
UNIT_TESTS = {
    "fuzz_challenge": ["capture/registry/challenge_test.cpp"],
    "fuzz_classifier": ["capture/registry/classifier_test.cpp"],
    "fuzz_error_body": ["capture/registry/error_body_test.cpp"],
    "fuzz_redact_text": ["capture/redaction/redaction_test.cpp"],
    "fuzz_redact_url": ["capture/redaction/redaction_test.cpp"],
    "fuzz_redact_body": ["capture/redaction/redaction_test.cpp"],
    "fuzz_connect_target": ["proxy/config/connect_target_test.cpp"],
    "fuzz_text": ["capture/text/url_test.cpp", "capture/text/percent_test.cpp", "capture/text/base64_test.cpp"],
    "fuzz_jwt": ["capture/rules/rules_auth_test.cpp"],
    "fuzz_replay_matcher": ["capture/replay/matcher_test.cpp"],
    "fuzz_har_file": ["capture/har/har_reader_test.cpp"],
}
# Request heads as the integration tests send them (literals holding an HTTP version).
HEAD_SOURCES = ["tests/integration/*.cpp", "tests/support/*.cpp"]

# libFuzzer dictionaries: the words each format is made of, which random mutation rarely spells.
DICTIONARIES = {
    "fuzz_har_file": ['"log"', '"entries"', '"request"', '"response"', '"headers"', '"content"', '"text"',
                      '"encoding"', '"base64"', '"_regtrace"', '"timings"', '"startedDateTime"', '"url"',
                      '"method"', '"status"', '"name"', '"value"', '"postData"', '"creator"'],
    "fuzz_har_entry": ['"request"', '"response"', '"headers"', '"content"', '"text"', '"encoding"',
                       '"base64"', '"_regtrace"', '"timings"', '"startedDateTime"', '"url"', '"method"',
                       '"status"', '"name"', '"value"', '"postData"', '"mimeType"', '"size"', '"failure"'],
    "fuzz_request_head": ['"CONNECT "', '"HTTP/1.1"', '"\\x0d\\x0a"', '"Transfer-Encoding: chunked"',
                          '"Content-Length: "', '"Connection: "', '"Expect: 100-continue"', '"http://"',
                          '"Proxy-Authorization: Basic "', '"keep-alive"', '"close"'],
    "fuzz_chunked_body": ['"\\x0d\\x0a"', '"0\\x0d\\x0a\\x0d\\x0a"', '";ext="', '"ffffffffffffffff"'],
    "fuzz_challenge": ['"Bearer"', '"Basic"', '"realm="', '"service="', '"scope="', '"error="', '"repository:"',
                       '":pull,push"'],
    "fuzz_error_body": ['"{\\"errors\\":["', '"\\"code\\""', '"\\"message\\""', '"\\"detail\\""', '"<Error>"',
                        '"<Code>"', '"<Message>"', '"<title>"', '"&amp;"'],
    "fuzz_classifier": ['"/v2/"', '"/manifests/"', '"/blobs/"', '"/uploads/"', '"/tags/list"', '"/referrers/"',
                        '"sha256:"', '"X-Amz-Signature="', '"sig="', '"scope="', '"/token"'],
    "fuzz_redact_text": ['"Bearer "', '"Basic "', '"eyJ"', '"://"', '"<redacted "'],
    "fuzz_redact_url": ['"X-Amz-Signature="', '"X-Amz-Credential="', '"sig="', '"%3Credacted%20"', '"://"'],
    "fuzz_redact_body": ['"\\"token\\""', '"\\"access_token\\""', '"password="', '"Bearer "', '"<redacted "'],
}


def seed(out, target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def literals(path):
    """The C++ string literals of a test file, raw strings included, escapes decoded."""
    text = path.read_text()
    found = [m.group(1) for m in re.finditer(r'R"\((.*?)\)"', text, re.S)]
    plain = re.sub(r'R"\(.*?\)"', "", text, flags=re.S)
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', plain):
        try:
            found.append(m.group(1).encode().decode("unicode_escape"))
        except UnicodeDecodeError:
            continue
    return [s for s in found if s]


def har_seeds(out, path):
    text = path.read_text()
    seed(out, "fuzz_har_file", text)
    for cut in (len(text) // 3, len(text) // 2, 2 * len(text) // 3):
        seed(out, "fuzz_har_file", text[:cut])  # a trace cut short by a crash
    har = json.loads(text)
    entries = har["log"]["entries"]
    seed(out, "fuzz_har_entry", ",".join(json.dumps(e) for e in entries))
    for entry in entries:
        seed(out, "fuzz_har_entry", json.dumps(entry))
        request, response = entry.get("request", {}), entry.get("response", {})
        url = request.get("url", "")
        target = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
        for name in ("fuzz_classifier", "fuzz_redact_url", "fuzz_text"):
            seed(out, name, target)
        seed(out, "fuzz_redact_url", url)
        if "?" in url:
            seed(out, "fuzz_redact_url", url.split("?", 1)[1])
        host = url.split("://", 1)[-1].split("/", 1)[0]
        seed(out, "fuzz_connect_target", host + ":443")
        seed(out, "fuzz_connect_target", url)
        seed(out, "fuzz_request_head", f"{request.get('method', 'GET')} {url} HTTP/1.1\r\n" +
             "".join(f"{h['name']}: {h['value']}\r\n" for h in request.get("headers", [])) + "\r\n")
        for h in request.get("headers", []) + response.get("headers", []):
            if h["name"].lower() == "www-authenticate":
                seed(out, "fuzz_challenge", h["value"])
            if h["name"].lower() == "authorization":
                seed(out, "fuzz_jwt", h["value"])
            seed(out, "fuzz_redact_text", h["value"])
        content = response.get("content", {})
        body = content.get("text", "")
        if content.get("encoding") == "base64":
            body = base64.b64decode(body).decode("utf-8", "replace")
        if body:
            for name in ("fuzz_error_body", "fuzz_redact_body", "fuzz_redact_text"):
                seed(out, name, body)
            seed(out, "fuzz_chunked_body", f"{len(body.encode()):x}\r\n{body}\r\n0\r\n\r\n")
            try:
                answer = json.loads(body)
            except ValueError:
                answer = None
            for key in ("token", "access_token"):
                if isinstance(answer, dict) and isinstance(answer.get(key), str):
                    seed(out, "fuzz_jwt", answer[key])
            seed(out, "fuzz_jwt", body)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for har in sorted(FIXTURES.glob("*.har")):
        har_seeds(out, har)
    for target, tests in UNIT_TESTS.items():
        for test in tests:
            path = UNIT / test
            if path.exists():
                for literal in literals(path):
                    seed(out, target, literal)
    for pattern in HEAD_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            for literal in literals(path):
                if "HTTP/1." in literal:
                    seed(out, "fuzz_request_head", literal)
    for target, words in DICTIONARIES.items():
        (out / f"{target}.dict").write_text("".join(w + "\n" for w in words))
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        print(f"{folder.name}: {sum(1 for _ in folder.iterdir())} seeds")


if __name__ == "__main__":
    main()
