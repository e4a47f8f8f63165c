#!/usr/bin/env bash
# End to end: a standalone containerd 1.6 (Debian's, as on a Kubernetes node) on its own root, state,
# socket and config, and containerd's `ctr` through regtrace to the distribution registry with Basic
# auth. ctr pulls a seeded 3-layer image (hosts.toml naming regtrace's CA), pushes it to a new
# repository (its layers mounted across repositories) and pushes an image imported from an OCI archive
# (every blob uploaded); every digest must be the registry's, and the trace must show ctr's flow
# (its User-Agent), no credential and no ERROR or CRITICAL finding. Then two failures, each in a trace
# of its own: a missing tag (the pull fails, the trace says C-01) and wrong credentials (B-05).
#
# Who fetches: ctr 1.6 resolves, fetches and pushes in its own process (the transfer service that moves
# this into the daemon came with containerd 2.0) and writes into the daemon's content store over the
# socket. So HTTPS_PROXY goes into ctr's environment; the daemon runs without one, which the test
# checks, and every request in the trace is ctr's.
#
# usage: test-containerd.sh REGTRACE_BIN      (what ctest runs; containerd needs root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/lib.sh
source "$here/lib/lib.sh"

[[ $(id -u) -eq 0 ]] || fail "this test runs a containerd daemon and needs root; run it as root"

e2e_begin "$@"

# By path: Debian's containerd package (CTR_BIN from lib.sh is /usr/bin/ctr).
CONTAINERD_BIN=/usr/bin/containerd
for program in "$CONTAINERD_BIN" "$CTR_BIN"; do
  [[ -x $program ]] ||
    fail "$program is missing although scripts/install-deps.sh test installs Debian's containerd: install it (apt-get install containerd)"
done
for program in docker-registry skopeo htpasswd curl openssl; do
  command -v "$program" >/dev/null || fail "$program is missing after scripts/install-deps.sh test; the registry and its seeding need it"
done

# The machine's containerd paths: each must be as absent after the test as it was before.
machine_paths=(/var/lib/containerd /run/containerd /opt/containerd /etc/containerd/certs.d)
absent_before=()
for p in "${machine_paths[@]}"; do [[ -e $p ]] || absent_before+=("$p"); done

start_registry_with_user
log "registry on 127.0.0.1:$REGISTRY_PORT as $registry (user $user)"

log "seeding e2e/app:v1 (1 KiB, 1 MiB, 32 MiB uncompressed layers) straight into the registry"
python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/image" --tag v1 --layers 1K,1M,32M >/dev/null
push_layout_with_skopeo "$RUN_DIR/image:v1" e2e/app:v1 "$user:$password"
digest="$(registry_manifest_digest e2e/app v1 "$user:$password")"
[[ $digest == sha256:* ]] || fail "the registry gave no digest for e2e/app:v1 after seeding"
log "e2e/app:v1 is $digest"

# An image containerd has never seen from a registry, to push: its blobs must be uploaded.
fresh_digest="$(python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/fresh" --tag v1 --layers 2K,2M,8M)"
tar -C "$RUN_DIR/fresh" -cf "$RUN_DIR/fresh.tar" .

start_regtrace "$bin" "$RUN_DIR/regtrace" --resolve "$registry:127.0.0.1" --upstream-ca "$E2E_CERTS/ca.crt"
log "regtrace on 127.0.0.1:$REGTRACE_PORT"
healthy_har="$REGTRACE_HAR"

# ---- containerd, all of it in the run folder ----
cd_dir="$RUN_DIR/containerd"
sock="$cd_dir/containerd.sock"
hosts_dir="$cd_dir/certs.d"
mkdir -p "$cd_dir"/{root,state,tmp,cni/conf,cni/bin} "$hosts_dir/$registry"
# Disabled: the snapshotters that need their own filesystems or devices, the opt plugin (it creates
# /opt/containerd) and tracing. The CRI plugin stays: its registry config_path is where a node's
# containerd reads hosts.toml for its own pulls (ctr reads the same folder through --hosts-dir); its CNI
# folders, snapshotter and streaming server are kept off the machine's paths.
cat >"$cd_dir/config.toml" <<TOML
version = 2
root = "$cd_dir/root"
state = "$cd_dir/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cd_dir/cni/bin"
    conf_dir = "$cd_dir/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$hosts_dir"
TOML
# Client TLS ends at regtrace, so the CA for this registry is regtrace's: `ca trust --for containerd`
# writes hosts.toml and the CA beside it (both marked as regtrace's), and checks config_path.
run_logged ca-trust "$bin" ca trust --ca-dir "$RUN_DIR/regtrace/ca" --for containerd --dir "$hosts_dir" \
  --containerd-config "$cd_dir/config.toml" "$registry"
grep -q "names $hosts_dir in config_path" "$RUN_DIR/ca-trust.log" ||
  fail "ca trust --for containerd did not find config_path in $cd_dir/config.toml (see ca-trust.log)"
grep -q '^\[host\]$' "$hosts_dir/$registry/hosts.toml" || fail "ca trust wrote no hosts.toml for $registry"

# The exit hook: stop containerd by its pid, unmount what is still mounted under its folder (deepest
# first) and remove its root and state. Safe to call twice.
stop_containerd() {
  local mnt
  if [[ -n ${CONTAINERD_PID:-} ]]; then
    kill_and_wait "$CONTAINERD_PID" 20
    wait "$CONTAINERD_PID" 2>/dev/null || true
  fi
  while IFS= read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done \
    < <(awk -v d="$cd_dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf "$cd_dir/root" "$cd_dir/state" "$cd_dir/tmp"
}
on_exit stop_containerd

ctr_answers() { "$CTR_BIN" -a "$sock" version >/dev/null 2>&1; }
# No proxy in the daemon's environment (e2e_init unset any); TMPDIR for its temporary mounts.
TMPDIR="$cd_dir/tmp" "$CONTAINERD_BIN" --config "$cd_dir/config.toml" >"$cd_dir/containerd.log" 2>&1 &
CONTAINERD_PID=$!
wait_until "containerd (log: containerd/containerd.log)" "$CONTAINERD_PID" ctr_answers
! tr '\0' '\n' <"/proc/$CONTAINERD_PID/environ" | grep -qi '^https\?_proxy=' ||
  fail "containerd has a proxy in its environment; the test needs it without one"
log "containerd $("$CTR_BIN" -a "$sock" version | awk '/Server:/ {s=1} s && /Version:/ {print $2; exit}') on $sock"

# ctr_run CMD...: ctr against this containerd, in a namespace of its own, with regtrace as its proxy.
ctr_run() {
  env HTTPS_PROXY="http://127.0.0.1:$REGTRACE_PORT" "$CTR_BIN" -a "$sock" -n regtrace-e2e "$@"
}
remote=(--hosts-dir "$hosts_dir" --user "$user:$password")
# The digest of a local image, from `ctr images ls`.
ctr_digest() { ctr_run images ls | awk -v r="$1" '$1 == r {print $3}'; }

log "ctr images pull $registry/e2e/app:v1"
run_logged ctr-pull ctr_run images pull --snapshotter native "${remote[@]}" "$registry/e2e/app:v1"
grep -q "unpacking linux/amd64 $digest" "$RUN_DIR/ctr-pull.log" ||
  fail "ctr pull did not unpack $digest (see ctr-pull.log)"
pulled="$(ctr_digest "$registry/e2e/app:v1")"
[[ $pulled == "$digest" ]] || fail "ctr pulled e2e/app:v1 as '$pulled', the registry holds $digest"
log "ctr pulled e2e/app:v1 as $pulled"

log "ctr images tag + push $registry/e2e/ctr-copy:v1"
run_logged ctr-tag ctr_run images tag "$registry/e2e/app:v1" "$registry/e2e/ctr-copy:v1"
run_logged ctr-push ctr_run images push "${remote[@]}" "$registry/e2e/ctr-copy:v1"
grep -q "manifest-$digest: *done" "$RUN_DIR/ctr-push.log" || fail "ctr push did not push the manifest $digest (see ctr-push.log)"
copy_digest="$(registry_manifest_digest e2e/ctr-copy v1 "$user:$password")"
[[ $copy_digest == "$digest" ]] || fail "ctr pushed $digest, the registry holds e2e/ctr-copy:v1 as '$copy_digest'"
log "e2e/ctr-copy:v1 is $copy_digest in the registry"

log "ctr images import + push $registry/e2e/fresh:v1 (every blob uploaded)"
run_logged ctr-import ctr_run images import --snapshotter native --base-name "$registry/e2e/fresh" "$RUN_DIR/fresh.tar"
imported="$(ctr_digest "$registry/e2e/fresh:v1")"
[[ $imported == "$fresh_digest" ]] || fail "ctr imported the OCI archive as '$imported', the layout is $fresh_digest"
run_logged ctr-push-fresh ctr_run images push "${remote[@]}" "$registry/e2e/fresh:v1"
fresh_pushed="$(registry_manifest_digest e2e/fresh v1 "$user:$password")"
[[ $fresh_pushed == "$fresh_digest" ]] || fail "ctr pushed $fresh_digest, the registry holds e2e/fresh:v1 as '$fresh_pushed'"
log "e2e/fresh:v1 is $fresh_pushed in the registry"

stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/check_runtime_har.py" "$healthy_har" --agent containerd/ --user "$user" --password "$password" \
  --pulled "e2e/app@$digest" --pushed "e2e/ctr-copy:v1@$digest" --pushed "e2e/fresh:v1@$fresh_digest" ||
  fail "the HAR does not show ctr's pull and pushes"
assert_no_secret "$healthy_har" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"
# containerd keeps its connections alive (as Docker Engine 29.4+ does): requests share them.
python3 "$here/lib/check_connections.py" "$healthy_har" --pattern kept-alive ||
  fail "ctr's trace does not show its kept-alive connections (see above)"
assert_no_error_findings "$healthy_har"
assert_report_clean "$bin" "$healthy_har"
log "the healthy trace: ctr's flow, no credential, no ERROR or CRITICAL finding"

# ---- two failures, each recorded by a regtrace of its own (same CA, new trace) ----
log "a missing tag: ctr images pull :nope must fail and the trace say C-01"
trace_failure "$bin" missing-tag "$registry"
rc=0
ctr_run images pull --snapshotter native "${remote[@]}" "$registry/e2e/app:nope" >"$RUN_DIR/ctr-pull-missing.log" 2>&1 || rc=$?
((rc != 0)) || fail "ctr pull of a missing tag succeeded (see ctr-pull-missing.log)"
grep -q "$registry/e2e/app:nope: not found" "$RUN_DIR/ctr-pull-missing.log" ||
  fail "ctr pull of a missing tag failed without '...:nope: not found' (see ctr-pull-missing.log)"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/expect_finding.py" "$REGTRACE_HAR" --id C-01 --severity error --method HEAD \
  --path '/v2/e2e/app/manifests/nope' --status 404 || fail "the trace of a missing tag does not name it C-01 (see above)"
assert_no_secret "$REGTRACE_HAR" "$password" "$(printf '%s' "$user:$password" | base64 -w0)"

# containerd sends the refused HEAD again with the same credentials (five times in all): one wrong
# password, one B-05, the retries its evidence.
wrong="wrong-$(openssl rand -hex 8)"
log "wrong credentials: ctr images pull must fail and the trace say B-05"
trace_failure "$bin" wrong-password "$registry"
rc=0
ctr_run images pull --snapshotter native --hosts-dir "$hosts_dir" --user "$user:$wrong" "$registry/e2e/app:v1" \
  >"$RUN_DIR/ctr-pull-wrong.log" 2>&1 || rc=$?
((rc != 0)) || fail "ctr pull with a wrong password succeeded (see ctr-pull-wrong.log)"
grep -q '401 Unauthorized' "$RUN_DIR/ctr-pull-wrong.log" ||
  fail "ctr pull with a wrong password failed without '401 Unauthorized' (see ctr-pull-wrong.log)"
stop_pid "$REGTRACE_PID" regtrace || fail "regtrace exited with status $? on SIGTERM (expected 0)"
python3 "$here/lib/expect_finding.py" "$REGTRACE_HAR" --id B-05 --severity critical --method HEAD \
  --path '/v2/e2e/app/manifests/v1' --status 401 || fail "the trace of refused credentials does not name them B-05 (see above)"
assert_no_secret "$REGTRACE_HAR" "$password" "$wrong" "$(printf '%s' "$user:$wrong" | base64 -w0)"

# Nothing of containerd's left running, mounted or stored outside the run folder.
stop_containerd
! kill -0 "$CONTAINERD_PID" 2>/dev/null || fail "containerd (pid $CONTAINERD_PID) is still running"
! awk -v d="$cd_dir/" 'index($5, d) == 1' /proc/self/mountinfo | grep -q . || fail "something is still mounted under $cd_dir"
for p in "${absent_before[@]}"; do
  [[ ! -e $p ]] || fail "containerd created $p outside its run folder"
done
# What ca trust wrote, ca untrust removes (and nothing else: a file of the user's stays).
echo "user's" >"$hosts_dir/keep.txt"
run_logged ca-untrust "$bin" ca untrust --for containerd --dir "$hosts_dir" "$registry"
[[ ! -e $hosts_dir/$registry ]] || fail "ca untrust --for containerd left $hosts_dir/$registry: $(ls "$hosts_dir/$registry")"
[[ -e $hosts_dir/keep.txt ]] || fail "ca untrust removed a file it did not write"
log "PASS: ctr pull and pushes through regtrace with a standalone containerd, digests and traces checked, B-05 and C-01 named"
