#!/usr/bin/env bash
# Make a test CA (ECDSA P-256) and a server certificate signed by it for the test host names
# (TESTBED.md: registries are named, never loopback literals, because Go clients skip the proxy for
# those). Writes OUTDIR/{ca.crt,ca.key,server.crt,server.key}; does nothing when they are already
# there and the server certificate still verifies against the CA.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out="$1"
mkdir -p "$out"

if [[ -s $out/ca.crt && -s $out/ca.key && -s $out/server.crt && -s $out/server.key ]] &&
   openssl verify -CAfile "$out/ca.crt" "$out/server.crt" >/dev/null 2>&1; then
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
umask 077

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=regtrace test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" -out "$tmp/ca.crt"

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.key"
openssl req -new -key "$tmp/server.key" -subj "/CN=registry.test" -out "$tmp/server.csr"
cat > "$tmp/server.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:registry.test,DNS:*.registry.test,DNS:storage.test,DNS:auth.test,DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
# 825 days: the longest leaf lifetime that every TLS client (including Apple's and browsers') accepts.
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
  -sha256 -days 825 -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null

# Certificates are public; keys stay 0600. Move into place only once everything succeeded.
chmod 644 "$tmp/ca.crt" "$tmp/server.crt"
mv "$tmp/ca.key" "$tmp/ca.crt" "$tmp/server.key" "$tmp/server.crt" "$out/"
