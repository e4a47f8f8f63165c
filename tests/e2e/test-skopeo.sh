#!/usr/bin/env bash
# End to end: skopeo pushes a 3-layer OCI image through regtrace to a real registry with Basic auth,
# pulls it back through regtrace, and every blob must come back byte for byte; then the HAR must
# show the push/pull sequence, blob hashes that match their digests, no credential in clear, and no
# ERROR or CRITICAL finding on this healthy flow.
#
# usage: test-skopeo.sh REGTRACE_BIN      (what ctest runs)
#        test-skopeo.sh --direct          (no proxy: checks the rig itself against the registry)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

direct=0
if [[ ${1:-} == --direct ]]; then
  direct=1
else
  [[ $# -eq 1 && -x $1 ]] || fail "usage: $0 REGTRACE_BIN | --direct (got '${1:-}', which is not an executable)"
  bin="$(realpath "$1")"
fi

"$E2E_ROOT/scripts/install-deps.sh" test
e2e_init

start_registry_with_user
registry_port="$REGISTRY_PORT"
log "registry on 127.0.0.1:$registry_port (user $user)"

log "writing the OCI layout (1 KiB, 1 MiB, 64 MiB layers)"
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,1M,64M >/dev/null

# skopeo's cert dir holds the CA the client must trust: regtrace's when going through it.
policy="$(skopeo_policy)"
export REGISTRY_AUTH_FILE="$RUN_DIR/auth.json" # never read or write the machine's credentials
if ((direct)); then
  # Without a proxy the name must resolve: the server certificate also covers localhost.
  registry="localhost:$registry_port"
  cert_dir="$E2E_CA_DIR"
  proxy_env=()
else
  # Go clients never proxy loopback names, hence registry.test, which regtrace resolves itself.
  registry="registry.test:$registry_port"
  start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
  log "regtrace on 127.0.0.1:$REGTRACE_PORT"
  cert_dir="$RUN_DIR/regtrace-ca"
  mkdir -p "$cert_dir"
  cp "$REGTRACE_CA" "$cert_dir/ca.crt"
  proxy_env=(HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT")
fi
ref="docker://$registry/e2e/app:v1"

log "push: oci:image:v1 -> $ref"
run_logged skopeo-push env "${proxy_env[@]}" skopeo --policy "$policy" copy --preserve-digests \
  --dest-cert-dir "$cert_dir" --dest-creds "$user:$password" "oci:$RUN_DIR/image:v1" "$ref"

if ((!direct)); then
  # The trace is a readable file after every exchange, not only after shutdown.
  python3 "$here/lib/check_har.py" --valid-only "$REGTRACE_HAR" >/dev/null ||
    fail "the HAR written while regtrace runs is not a valid regtrace HAR"
fi

log "pull: $ref -> oci:pulled:v1"
run_logged skopeo-pull env "${proxy_env[@]}" skopeo --policy "$policy" copy --preserve-digests \
  --src-cert-dir "$cert_dir" --src-creds "$user:$password" "$ref" "oci:$RUN_DIR/pulled:v1"

# Every original blob (layers, config, manifest) must come back with the same bytes.
log "comparing blobs"
count=0
for original in "$RUN_DIR"/image/blobs/sha256/*; do
  name="$(basename "$original")"
  pulled="$RUN_DIR/pulled/blobs/sha256/$name"
  [[ -f $pulled ]] || fail "blob sha256:$name was not pulled back"
  actual="$(sha256sum "$pulled" | cut -d' ' -f1)"
  [[ $actual == "$name" ]] || fail "pulled blob sha256:$name has content sha256:$actual"
  cmp -s "$original" "$pulled" || fail "pulled blob sha256:$name differs from the pushed one"
  count=$((count + 1))
done
((count == 5)) || fail "expected 5 blobs in the layout (3 layers, config, manifest), found $count"
log "all $count blobs identical after push and pull"

if ((direct)); then
  log "PASS (direct, without regtrace): the rig works"
  exit 0
fi

stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/check_har.py" "$REGTRACE_HAR" --user "$user" --password "$password" ||
  fail "the HAR does not show a correct push and pull"
# The same secrets checked on the raw bytes, independent of the checker's JSON reading.
assert_no_secret "$REGTRACE_HAR" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"
# A healthy push and pull: regtrace must not call anything in it an error.
assert_no_error_findings "$REGTRACE_HAR"
assert_report_clean "$bin" "$REGTRACE_HAR"
log "PASS: skopeo push and pull through regtrace, trace checked, no false alarm"
