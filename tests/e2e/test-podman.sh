#!/usr/bin/env bash
# End to end: podman 4.3 (Debian's, rootful) through regtrace to the distribution registry with Basic
# auth. podman keeps everything in the run folder: its own --root/--runroot/--tmpdir with the vfs driver,
# its own containers.conf, storage.conf, registries.conf, auth file and signature policy, regtrace's CA
# in its --cert-dir, HTTPS_PROXY only in its environment. podman login, pull of a seeded 3-layer image,
# tag + push to a new repository, pull back by digest: every digest podman reports must be the
# registry's, and the trace must show podman's flow (its User-Agent), no credential and no ERROR or
# CRITICAL finding. Then two failures a support engineer meets, each in a trace of its own: a wrong
# password (podman login fails, the trace says B-05) and a missing tag (podman pull fails, C-01).
#
# usage: test-podman.sh REGTRACE_BIN      (what ctest runs; rootful podman needs root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

[[ $(id -u) -eq 0 ]] || fail "this test runs podman rootful and needs root; run it as root"

e2e_begin "$@"

# By path: a podman elsewhere on PATH (built by hand, newer) would make the run depend on the machine.
PODMAN_BIN=/usr/bin/podman
[[ -x $PODMAN_BIN ]] ||
  fail "$PODMAN_BIN is missing although scripts/install-deps.sh test installs Debian's podman: install it (apt-get install podman)"
for program in docker-registry skopeo htpasswd curl openssl; do
  command -v "$program" >/dev/null || fail "$program is missing after scripts/install-deps.sh test; the registry and its seeding need it"
done

# What podman would leave on the machine if any of its paths escaped the run folder: each must be as
# absent after the test as it was before. One file podman 4.3 shares with the machine whatever it is
# told: as root it keeps its blob-info cache (which blob was seen in which repository) in
# /var/lib/containers/cache, as skopeo does for the seeding. No image is stored there, and its entries
# are keyed by registry host:port, which is new for every run.
machine_paths=(/var/lib/containers/storage /run/containers/storage /run/libpod /var/run/libpod
               /dev/shm/libpod_lock /run/containers/0/auth.json /etc/containers/certs.d)
absent_before=()
for p in "${machine_paths[@]}"; do [[ -e $p ]] || absent_before+=("$p"); done

start_registry_with_user
log "registry on 127.0.0.1:$REGISTRY_PORT as $registry (user $user)"

log "seeding e2e/app:v1 (1 KiB, 1 MiB, 32 MiB uncompressed layers) straight into the registry"
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,1M,32M >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/app:v1 "$user:$password"
digest="$(registry_manifest_digest e2e/app v1 "$user:$password")"
[[ $digest == sha256:* ]] || fail "the registry gave no digest for e2e/app:v1 after seeding"
# The layout's config digest is the image ID podman prints; its layer digests are the diff IDs (uncompressed).
read -r config_id layer_ids < <(python3 - "$RUN_DIR/image" "$digest" <<'PY'
import json, sys
m = json.load(open(f"{sys.argv[1]}/blobs/sha256/{sys.argv[2].split(':')[1]}"))
print(m["config"]["digest"].split(":")[1], " ".join(l["digest"] for l in m["layers"]))
PY
)
log "e2e/app:v1 is $digest (image ID ${config_id:0:12})"

# regtrace, first for the healthy flow. Every later regtrace gets a copy of this CA, so podman's cert
# dir stays valid; HTTPS_PROXY follows REGTRACE_PORT at each call.
start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
log "regtrace on 127.0.0.1:$REGTRACE_PORT"
healthy_har="$REGTRACE_HAR"

# ---- podman, all of it in the run folder ----
pd="$RUN_DIR/podman"
mkdir -p "$pd"/{root,runroot,tmp,home,networks}
# regtrace's CA as podman's certs.d entry for the registry, by `ca trust --for podman` (the machine's
# /etc/containers/certs.d moved into the run folder with --dir; podman is pointed at it by --cert-dir).
run_logged ca-trust "$bin" ca trust --ca-dir "$RUN_DIR/regtrace/ca" --for podman --dir "$pd/certs.d" "$registry"
[[ -s $pd/certs.d/$registry/ca.crt ]] || fail "ca trust --for podman wrote no $pd/certs.d/$registry/ca.crt"
# cgroupfs and a file events log: no systemd or journald needed; tmp_dir holds libpod's run-time state
# (default /run/libpod) and, with lock_type "file", its locks (default: shared memory /dev/shm/libpod_lock).
cat >"$pd/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$pd/events.log"
tmp_dir = "$pd/tmp"
lock_type = "file"
image_copy_tmp_dir = "$pd/tmp"
[network]
network_config_dir = "$pd/networks"
CONF
cat >"$pd/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$pd/root"
runroot = "$pd/runroot"
CONF
# Only fully qualified names here; no search registries, so nothing else is ever asked.
echo 'unqualified-search-registries = []' >"$pd/registries.conf"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$pd/policy.json"

# The exit hook: nothing of podman's may stay mounted or stored. vfs mounts nothing for pulls and
# pushes; whatever is mounted under the folder anyway is unmounted, deepest first, before removal.
cleanup_podman() {
  local mnt
  while IFS= read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done \
    < <(awk -v d="$pd/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf "$pd"
}
on_exit cleanup_podman

# podman CMD...: podman as configured above, with regtrace as its proxy. CONTAINERS_CONF replaces every
# containers.conf of the machine; HOME keeps ~/.config/containers out of it; REGISTRY_AUTH_FILE keeps the
# login in the folder (rootful default: /run/containers/0/auth.json). The drop-in folder
# /etc/containers/registries.conf.d cannot be switched off by the environment: it holds only short-name
# aliases on Debian, which names with a registry never use.
podman_run() {
  env HOME="$pd/home" CONTAINERS_CONF="$pd/containers.conf" CONTAINERS_STORAGE_CONF="$pd/storage.conf" \
    CONTAINERS_REGISTRIES_CONF="$pd/registries.conf" REGISTRY_AUTH_FILE="${PODMAN_AUTH:-$pd/auth.json}" \
    TMPDIR="$pd/tmp" HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT" \
    "$PODMAN_BIN" --root "$pd/root" --runroot "$pd/runroot" --storage-driver vfs --tmpdir "$pd/tmp" "$@"
}
# podman_inspect REF FORMAT: one field of a local image, or the test fails saying which.
podman_inspect() {
  podman_run image inspect --format "$2" "$1" 2>"$RUN_DIR/podman-inspect.log" ||
    fail "podman image inspect $1 failed (see podman-inspect.log)"
}
# The layer digests (diff IDs) of a local image, space-separated.
podman_layers() { podman_inspect "$1" '{{range .RootFS.Layers}}{{.}} {{end}}' | sed 's/ $//'; }
# The registry flags of each command: the cert dir with regtrace's CA, the policy of the folder.
tls=(--cert-dir "$pd/certs.d/$registry")
policy=(--signature-policy "$pd/policy.json")

run_logged podman-info podman_run info
{ grep -q "graphRoot: $pd/root" "$RUN_DIR/podman-info.log" && grep -q 'graphDriverName: vfs' "$RUN_DIR/podman-info.log"; } ||
  fail "podman info does not show the vfs storage under $pd/root (see podman-info.log)"
log "podman $("$PODMAN_BIN" --version | awk '{print $3}'), rootful, vfs under $pd"

log "podman login $registry"
printf '%s' "$password" | run_logged podman-login podman_run login "${tls[@]}" -u "$user" --password-stdin "$registry"
grep -q 'Login Succeeded' "$RUN_DIR/podman-login.log" || fail "podman login did not say 'Login Succeeded' (see podman-login.log)"
grep -q "\"$registry\"" "$pd/auth.json" || fail "podman login stored no credentials for $registry in its auth file"

log "podman pull $registry/e2e/app:v1"
run_logged podman-pull podman_run pull "${tls[@]}" "${policy[@]}" "$registry/e2e/app:v1"
grep -qx "$config_id" "$RUN_DIR/podman-pull.log" ||
  fail "podman pull did not print the image ID $config_id (the config digest; see podman-pull.log)"
pulled="$(podman_inspect "$registry/e2e/app:v1" '{{.Digest}}')"
[[ $pulled == "$digest" ]] || fail "podman pulled e2e/app:v1 as '$pulled', the registry holds $digest"
diff_ids="$(podman_layers "$registry/e2e/app:v1")"
[[ $diff_ids == "$layer_ids" ]] || fail "podman's layers of e2e/app:v1 are '$diff_ids', the image's are '$layer_ids'"
log "podman pulled e2e/app:v1 as $pulled"

log "podman tag + push $registry/e2e/copy:v1"
run_logged podman-tag podman_run tag "$registry/e2e/app:v1" "$registry/e2e/copy:v1"
run_logged podman-push podman_run push "${tls[@]}" "${policy[@]}" --digestfile "$pd/pushed.digest" "$registry/e2e/copy:v1"
pushed="$(cat "$pd/pushed.digest" 2>/dev/null || true)"
[[ $pushed == sha256:* ]] || fail "podman push wrote no digest to its --digestfile (see podman-push.log)"
copy_digest="$(registry_manifest_digest e2e/copy v1 "$user:$password")"
[[ $copy_digest == "$pushed" ]] || fail "podman push reported $pushed, the registry holds e2e/copy:v1 as '$copy_digest'"
log "e2e/copy:v1 is $pushed in the registry, as podman push said"

# Back by digest from the new repository, with nothing local left to reuse: every blob is fetched.
log "podman pull $registry/e2e/copy@$pushed (local images removed first)"
run_logged podman-rmi podman_run rmi --all --force
run_logged podman-pull-digest podman_run pull "${tls[@]}" "${policy[@]}" "$registry/e2e/copy@$pushed"
grep -qx "$config_id" "$RUN_DIR/podman-pull-digest.log" ||
  fail "podman pull by digest did not print the image ID $config_id (see podman-pull-digest.log)"
back="$(podman_inspect "$registry/e2e/copy@$pushed" '{{.Digest}}')"
[[ $back == "$pushed" ]] || fail "podman pulled e2e/copy@$pushed back as '$back'"
diff_ids="$(podman_layers "$registry/e2e/copy@$pushed")"
[[ $diff_ids == "$layer_ids" ]] || fail "the layers pulled back are '$diff_ids', the image's are '$layer_ids'"

stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/check_runtime_har.py" "$healthy_har" --agent containers/ --user "$user" --password "$password" \
  --pulled "e2e/app@$digest" --pushed "e2e/copy:v1@$pushed" --pulled-back "e2e/copy@$pushed" ||
  fail "the HAR does not show podman's login, pull, push and pull by digest"
assert_no_secret "$healthy_har" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"
assert_no_error_findings "$healthy_har"
assert_report_clean "$bin" "$healthy_har"
log "the healthy trace: podman's flow, no credential, no ERROR or CRITICAL finding"

# ---- two failures, each recorded by a regtrace of its own (same CA, new trace) ----
# A wrong password, into an auth file of its own: the good login stays for the next failure.
wrong="wrong-$(openssl rand -hex 8)"
log "a wrong password: podman login must fail and the trace say B-05"
trace_failure "$bin" wrong-password "$registry"
rc=0
printf '%s' "$wrong" | PODMAN_AUTH="$pd/wrong-auth.json" podman_run login "${tls[@]}" -u "$user" --password-stdin \
  "$registry" >"$RUN_DIR/podman-login-wrong.log" 2>&1 || rc=$?
((rc != 0)) || fail "podman login with a wrong password succeeded (see podman-login-wrong.log)"
grep -q 'invalid username/password' "$RUN_DIR/podman-login-wrong.log" ||
  fail "podman login with a wrong password failed without 'invalid username/password' (see podman-login-wrong.log)"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/expect_finding.py" "$REGTRACE_HAR" --id B-05 --severity critical --method GET --path '/v2/?' \
  --status 401 || fail "the trace of a refused podman login does not name it B-05 (see above)"
assert_no_secret "$REGTRACE_HAR" "$password" "$wrong" "$(printf '%s' "$user:$wrong" | base64 -w0)"

log "a missing tag: podman pull :nope must fail and the trace say C-01"
trace_failure "$bin" missing-tag "$registry"
rc=0
podman_run pull "${tls[@]}" "${policy[@]}" "$registry/e2e/app:nope" >"$RUN_DIR/podman-pull-missing.log" 2>&1 || rc=$?
((rc != 0)) || fail "podman pull of a missing tag succeeded (see podman-pull-missing.log)"
grep -q 'manifest unknown' "$RUN_DIR/podman-pull-missing.log" ||
  fail "podman pull of a missing tag failed without 'manifest unknown' (see podman-pull-missing.log)"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/expect_finding.py" "$REGTRACE_HAR" --id C-01 --severity error --method GET \
  --path '/v2/e2e/app/manifests/nope' --status 404 || fail "the trace of a missing tag does not name it C-01 (see above)"
assert_no_secret "$REGTRACE_HAR" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"

# Nothing of podman's outside the run folder, nothing mounted inside it.
cleanup_podman
for p in "${absent_before[@]}"; do
  [[ ! -e $p ]] || fail "podman created $p outside its run folder"
done
! awk -v d="$pd/" 'index($5, d) == 1' /proc/self/mountinfo | grep -q . || fail "something is still mounted under $pd"
run_logged ca-untrust "$bin" ca untrust --for podman --dir "$pd/certs.d" "$registry"
[[ ! -e $pd/certs.d/$registry ]] || fail "ca untrust --for podman left $pd/certs.d/$registry"
log "PASS: podman login/pull/push/pull by digest through regtrace, digests and traces checked, B-05 and C-01 named"
