#!/usr/bin/env bash
# End to end, the mission: a real Docker daemon (Debian's docker.io 20.10: vfs, no network setup, its own
# data root and socket) with HTTPS_PROXY pointing at regtrace, regtrace's CA in
# /etc/docker/certs.d/HOST:PORT/ca.crt, and the distribution registry with Basic auth behind it.
# docker login, docker pull of a 3-layer image (one layer of 256 MiB), docker tag + push to a new
# repository, then containerd's own resolver (`ctr images pull`) through the same proxy; then the pull and
# the push again, replayed from the trace with the registry stopped. Every digest
# must match the registry's, and the trace must show the daemon's flow (a new connection for every
# request: dockerd disables keep-alive), no credential, and no ERROR or CRITICAL finding.
#
# usage: test-docker.sh REGTRACE_BIN      (what ctest runs; needs root for dockerd and certs.d)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

[[ $(id -u) -eq 0 ]] || fail "dockerd and /etc/docker/certs.d need root; run this test as root"

e2e_begin "$@"

start_registry_with_user
log "registry on 127.0.0.1:$REGISTRY_PORT as $registry (user $user)"

# The big layer last: vfs copies every lower layer into each upper one, so it is stored once.
log "seeding e2e/big:v1 (1 KiB, 1 MiB, 256 MiB uncompressed layers) straight into the registry"
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,1M,256M >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/big:v1 "$user:$password"
rm -rf "$RUN_DIR/image"
digest="$(registry_manifest_digest e2e/big v1 "$user:$password")"
[[ $digest == sha256:* ]] || fail "the registry gave no digest for e2e/big:v1 after seeding"
log "e2e/big:v1 is $digest"

start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt" \
  --store-bodies "$RUN_DIR/bodies"
log "regtrace on 127.0.0.1:$REGTRACE_PORT"
docker_trust_regtrace "$bin" "$registry"
start_dockerd "$RUN_DIR/docker" "http://127.0.0.1:$REGTRACE_PORT"
log "dockerd $("$DOCKER_CLI" version -f '{{.Server.Version}}') on $DOCKER_HOST"

log "docker login $registry"
printf '%s' "$password" | run_logged docker-login "$DOCKER_CLI" login "$registry" -u "$user" --password-stdin

log "docker pull $registry/e2e/big:v1"
run_logged docker-pull "$DOCKER_CLI" pull "$registry/e2e/big:v1"
repo_digests="$("$DOCKER_CLI" image inspect -f '{{join .RepoDigests " "}}' "$registry/e2e/big:v1")"
[[ " $repo_digests " == *" $registry/e2e/big@$digest "* ]] ||
  fail "docker pulled e2e/big:v1 with RepoDigests '$repo_digests', expected $registry/e2e/big@$digest"

log "docker tag + push $registry/e2e/copy:v1"
run_logged docker-tag "$DOCKER_CLI" tag "$registry/e2e/big:v1" "$registry/e2e/copy:v1"
run_logged docker-push "$DOCKER_CLI" push "$registry/e2e/copy:v1"
pushed="$(grep -o 'digest: sha256:[0-9a-f]\{64\}' "$RUN_DIR/docker-push.log" | cut -d' ' -f2)"
[[ $pushed == sha256:* ]] || fail "docker push printed no digest (see docker-push.log)"
copy_digest="$(registry_manifest_digest e2e/copy v1 "$user:$password")"
[[ $copy_digest == "$pushed" ]] ||
  fail "docker push reported $pushed, the registry holds e2e/copy:v1 as '$copy_digest'"
log "e2e/copy:v1 is $pushed in the registry, as docker push said"

# containerd's own resolver follows in the same trace. Its hosts.toml: the CA for this registry is
# regtrace's (client TLS ends there).
hosts_dir="$RUN_DIR/ctr-hosts"
mkdir -p "$hosts_dir/$registry"
printf 'server = "https://%s"\n\n[host."https://%s"]\n  ca = "%s"\n' "$registry" "$registry" "$REGTRACE_CA" \
  >"$hosts_dir/$registry/hosts.toml"
log "ctr images pull $registry/e2e/big:v1 (containerd's resolver)"
# The native snapshotter needs no overlay mount; a namespace of its own keeps docker's images apart.
run_logged ctr-pull env HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT" "$CTR_BIN" -a "$CONTAINERD_SOCK" \
  -n regtrace-e2e images pull --snapshotter native --hosts-dir "$hosts_dir" --user "$user:$password" \
  "$registry/e2e/big:v1"
ctr_digest="$("$CTR_BIN" -a "$CONTAINERD_SOCK" -n regtrace-e2e images ls |
  awk -v r="$registry/e2e/big:v1" '$1 == r {print $3}')"
[[ $ctr_digest == "$digest" ]] || fail "ctr pulled e2e/big:v1 as '$ctr_digest', expected $digest"
log "ctr pulled e2e/big:v1 as $ctr_digest"

stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
recorded_har="$REGTRACE_HAR"

# Replay (SPEC §6, issue 4): the registry goes away; regtrace answers the daemon from the trace and
# the bodies kept by --store-bodies, on the same address and with the same CA, so the daemon is
# configured exactly as for the capture. The pull must give the same image, and the tag + push that
# follows must go as recorded (the same HEADs, cross-repository mounts and layer upload) and print the
# same digest.
log "replay: registry stopped, docker pull $registry/e2e/big:v1 again from the trace"
stop_pid "$REGISTRY_PID" registry || true
mkdir -p "$RUN_DIR/replay"
cp -a "$RUN_DIR/regtrace/ca" "$RUN_DIR/replay/ca"
REGTRACE_REUSE_PORT="$REGTRACE_PORT" start_regtrace "$bin" "$RUN_DIR/replay" --replay "$recorded_har" \
  --store-bodies "$RUN_DIR/bodies"
run_logged docker-rmi "$DOCKER_CLI" rmi "$registry/e2e/big:v1" "$registry/e2e/copy:v1"
run_logged docker-pull-replay "$DOCKER_CLI" pull "$registry/e2e/big:v1"
repo_digests="$("$DOCKER_CLI" image inspect -f '{{join .RepoDigests " "}}' "$registry/e2e/big:v1")"
[[ " $repo_digests " == *" $registry/e2e/big@$digest "* ]] ||
  fail "the replayed pull gave RepoDigests '$repo_digests', expected $registry/e2e/big@$digest"
log "replay: docker tag + push $registry/e2e/copy:v1 again from the trace"
run_logged docker-tag-replay "$DOCKER_CLI" tag "$registry/e2e/big:v1" "$registry/e2e/copy:v1"
run_logged docker-push-replay "$DOCKER_CLI" push "$registry/e2e/copy:v1"
replayed_push="$(grep -o 'digest: sha256:[0-9a-f]\{64\}' "$RUN_DIR/docker-push-replay.log" | cut -d' ' -f2)"
[[ $replayed_push == "$pushed" ]] ||
  fail "the replayed docker push printed '$replayed_push', the recorded one $pushed (see docker-push-replay.log)"
stop_dockerd "$RUN_DIR/docker"
stop_pid "$REGTRACE_PID" regtrace || fail "the replaying regtrace exited with status $? on SIGTERM"
python3 - "$REGTRACE_HAR" <<'PY' || fail "the replay's trace does not show an offline pull"
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
replayed = [e for e in entries if "replayed_from" in e["_regtrace"]]
assert replayed and len(replayed) == len(entries), f"{len(replayed)} of {len(entries)} entries replayed"
assert any("/blobs/" in e["request"]["url"] and e["response"]["status"] == 200 for e in replayed)
def pushed(method, path, status):
    return any(e["request"]["method"] == method and path in e["request"]["url"] and e["response"]["status"] == status
               for e in replayed)
# The push as recorded: the layer upload (PATCH into a new session, closing PUT) and the manifest PUT.
assert pushed("PATCH", "/v2/e2e/copy/blobs/uploads/", 202) and pushed("PUT", "/v2/e2e/copy/blobs/uploads/", 201)
assert pushed("PUT", "/v2/e2e/copy/manifests/v1", 201)
ids = [f["id"] for f in json.load(open(sys.argv[1]))["log"].get("_findings", [])]
assert not {"R-01", "R-02"} & set(ids), f"replay findings {ids}"
print(f"replayed pull and push: {len(entries)} requests answered from the trace")
PY
log "the replayed pull gave $digest and the replayed push $pushed with the registry stopped"
REGTRACE_HAR="$recorded_har"

python3 "$here/lib/check_docker_har.py" "$REGTRACE_HAR" --user "$user" --image-digest "$digest" \
  --pushed-digest "$pushed" || fail "the HAR does not show the daemon's and ctr's flows"
assert_no_secret "$REGTRACE_HAR" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"
assert_no_error_findings "$REGTRACE_HAR"
assert_report_clean "$bin" "$REGTRACE_HAR"
# `ca untrust --for docker` takes out what `ca docker-trust` put in.
run_logged ca-untrust "$bin" ca untrust --for docker "$registry"
[[ ! -e /etc/docker/certs.d/$registry ]] || fail "ca untrust --for docker left /etc/docker/certs.d/$registry"
log "PASS: docker login/pull/push and ctr pull through regtrace, digests and trace checked"
