#!/usr/bin/env bash
# End to end, `regtrace check` (SPEC §1, §2) against the real distribution registry with htpasswd
# Basic auth and TLS from a test CA: a registry and an image that pass, then the failures a check
# must name with the trace's finding IDs (wrong password, missing tag, untrusted certificate,
# nothing listening), each with exit status 2, and bad input answered with a sentence and status 1.
#
# usage: test-check.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

e2e_begin "$@"

start_registry_with_user
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 2K >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/app:v1 "$user:$password"
digest="$(registry_manifest_digest e2e/app v1 "$user:$password")"

trusted=(--resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt")

# check_exits EXPECTED NAME ARGS...: run regtrace check ARGS, output in RUN_DIR/NAME.txt, and fail
# unless it exits with EXPECTED.
check_exits() {
  local expected="$1" name="$2" rc=0; shift 2
  "$bin" check "$@" >"$RUN_DIR/$name.txt" 2>&1 || rc=$?
  [[ $rc == "$expected" ]] || fail "regtrace check $* exited $rc, expected $expected: $(cat "$RUN_DIR/$name.txt")"
}
says() { grep -qF -- "$2" "$RUN_DIR/$1.txt" || fail "$1: no '$2' in: $(cat "$RUN_DIR/$1.txt")"; }
finding_of() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(f["id"]+":"+f["severity"] for f in r["findings"]))' \
    "$RUN_DIR/$1.txt"
}

log "a healthy registry and image pass"
check_exits 0 healthy "$registry/e2e/app:v1" --credentials "$user:$password" "${trusted[@]}" --har "$RUN_DIR/check.har"
says healthy "PASSED"
says healthy "certificate verified"
says healthy 'challenge: Basic realm="regtrace-e2e"'
says healthy "digest: $digest"
assert_no_secret "$RUN_DIR/check.har" "$password"
assert_no_secret "$RUN_DIR/healthy.txt" "$password"
"$bin" report "$RUN_DIR/check.har" --fail-on error >"$RUN_DIR/report.txt" || fail "the check's HAR does not report clean"

log "a wrong password is B-05"
check_exits 2 wrong-password "$registry/e2e/app:v1" --credentials "$user:wrong" "${trusted[@]}" --format json
[[ $(finding_of wrong-password) == *B-05:critical* ]] || fail "wrong password: findings $(finding_of wrong-password)"
! grep -q "manifests/v1" "$RUN_DIR/wrong-password.txt" || fail "the manifest was asked for after the login was refused"

log "no credentials for a registry that needs them is B-02"
check_exits 2 anonymous "$registry" "${trusted[@]}"
says anonymous "B-02"

log "a missing tag is C-01"
check_exits 2 missing-tag "$registry/e2e/app:v9" --credentials "$user:$password" "${trusted[@]}" --format json
[[ $(finding_of missing-tag) == *C-01:error* ]] || fail "missing tag: findings $(finding_of missing-tag)"

log "a certificate from an unknown CA is A-04"
check_exits 2 untrusted "$registry" --resolve "$registry:127.0.0.1"
says untrusted "A-04"
says untrusted "certificate not trusted"
check_exits 0 insecure "$registry" --resolve "$registry:127.0.0.1" --insecure-upstream --credentials "$user:$password"
says insecure "certificate NOT verified"

log "nothing listening is A-08"
closed="$(free_port)"
check_exits 2 closed "registry.test:$closed" --resolve "registry.test:$closed:127.0.0.1"
says closed "A-08"

log "bad input is a sentence and status 1"
check_exits 1 bad-name "registry.test/app@"
says bad-name "is not a registry"
check_exits 1 bad-credentials "$registry" --credentials nocolon
says bad-credentials "--credentials must be USER:PASS"

log "ok"
