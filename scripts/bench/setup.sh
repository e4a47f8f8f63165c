# The set-up of scripts/bench.sh: the registry holding the bench image under a name of its own, the
# three proxies in front of it, and one dockerd per set-up. Sourced after tests/e2e/lib/lib.sh, whose
# exit trap undoes everything here (processes, the /etc/hosts line, the certs.d folder, daemons).
# shellcheck shell=bash

declare -A proxy_pid proxy_port proxy_ca proxy_args docker_host

# setup_registry: the TLS registry on a free port, named bench-ID.registry.test (covered by the test
# certificate's *.registry.test) and resolvable through /etc/hosts for the direct runs (TESTBED.md:
# Go clients never send loopback literals through a proxy, so the name is needed for all set-ups).
# Pushes bench/big:v1, one random uncompressed layer of blob_mib MiB. Sets registry (NAME:PORT),
# registry_port, image, manifest_url, oci_manifest, layer_digest and layer_size.
setup_registry() {
  bench_id="$(openssl rand -hex 3)"
  registry_port="$(free_port)"
  registry_name="bench-$bench_id.registry.test"
  registry="$registry_name:$registry_port"
  start_registry "$RUN_DIR/registry" "$registry_port"
  hosts_add
  log "registry $registry; pushing bench/big:v1 with one ${blob_mib} MiB layer (skopeo)"
  python3 "$E2E_ROOT/tests/e2e/lib/make_oci_layout.py" "$RUN_DIR/layout" --tag v1 --layers "${blob_mib}M" >/dev/null
  read -r layer_digest layer_size < <(python3 - "$RUN_DIR/layout" <<'PY'
import json, os, sys
blobs = os.path.join(sys.argv[1], "blobs", "sha256")
index = json.load(open(os.path.join(sys.argv[1], "index.json")))
manifest = json.load(open(os.path.join(blobs, index["manifests"][0]["digest"].split(":")[1])))
print(manifest["layers"][0]["digest"], manifest["layers"][0]["size"])
PY
  )
  # The registry asks for no credentials; skopeo's helper wants some and never sends them unasked.
  push_layout_with_skopeo "$RUN_DIR/layout:v1" bench/big:v1 bench:unused
  rm -rf "$RUN_DIR/layout"
  image="$registry/bench/big:v1"
  manifest_url="https://$registry/v2/bench/big/manifests/v1"
  oci_manifest="application/vnd.oci.image.manifest.v1+json"
}

# hosts_add: "127.0.0.1 NAME # regtrace-bench ID" at the end of /etc/hosts, removed at exit.
hosts_add() {
  [[ -w /etc/hosts ]] || fail "/etc/hosts is not writable: the direct runs need $registry_name to resolve"
  hosts_marker="# regtrace-bench $bench_id"
  on_exit hosts_remove
  [[ -z $(tail -c 1 /etc/hosts) ]] || echo >>/etc/hosts
  printf '127.0.0.1 %s %s\n' "$registry_name" "$hosts_marker" >>/etc/hosts
}

hosts_remove() {
  local kept
  kept="$(grep -vF -- "$hosts_marker" /etc/hosts || true)"
  # Rewritten in place, never replaced: /etc/hosts is often a bind mount.
  printf '%s\n' "$kept" >/etc/hosts
}

# leaf_name ROUND I: a host name regtrace has not seen before round ROUND's I-th leaf measure (NAME:PORT).
leaf_name() { echo "leaf-$1-$2.registry.test:$registry_port"; }

# start_proxies: regtrace (recording; the leaf names resolve to the registry too), mitmdump default
# and mitmdump with stream_large_bodies=1m, each on a free port, each trusting the registry's CA.
start_proxies() {
  local rules=(--resolve "$registry:127.0.0.1") r i
  for ((r = 1; r <= rounds; r++)); do
    for ((i = 1; i <= leaf_names; i++)); do rules+=(--resolve "$(leaf_name "$r" "$i"):127.0.0.1"); done
  done
  start_regtrace "$bin" "$RUN_DIR/regtrace" "${rules[@]}" --upstream-ca "$E2E_CERTS/ca.crt"
  proxy_pid[regtrace]="$REGTRACE_PID"
  proxy_port[regtrace]="$REGTRACE_PORT"
  proxy_ca[regtrace]="$REGTRACE_CA"
  start_mitmdump mitmproxy ""
  start_mitmdump mitmproxy-stream "" --set stream_large_bodies=1m
  log "regtrace on port ${proxy_port[regtrace]}, mitmdump on ${proxy_port[mitmproxy]}," \
    "mitmdump --set stream_large_bodies=1m on ${proxy_port[mitmproxy-stream]}"
}

# start_mitmdump NAME [PORT] MITMDUMP_ARGS...: quiet like regtrace's -q, its CA in RUN_DIR/NAME, on
# PORT (empty: a free one).
start_mitmdump() {
  local name="$1" dir="$RUN_DIR/$1" port="${2:-}" pid; shift 2
  [[ -n $port ]] || port="$(free_port)"
  mkdir -p "$dir"
  mitmdump -q --listen-host 127.0.0.1 -p "$port" --set confdir="$dir" \
    --set ssl_verify_upstream_trusted_ca="$E2E_CERTS/ca.crt" "$@" >>"$dir/mitmdump.log" 2>&1 &
  pid=$!
  E2E_PIDS+=("$pid")
  proxy_pid[$name]="$pid"
  proxy_port[$name]="$port"
  proxy_ca[$name]="$dir/mitmproxy-ca-cert.pem"
  proxy_args[$name]="$*"
  wait_until "mitmdump ($name) on port $port" "$pid" mitmdump_ready "$port" "${proxy_ca[$name]}"
}

# restart_mitmdump NAME: a fresh process on the same port (dockerd keeps its proxy address) and with
# the same CA (kept in its confdir).
restart_mitmdump() {
  stop_pid "${proxy_pid[$1]}" "mitmdump ($1)" || true
  # shellcheck disable=SC2086 # the options were words without spaces
  start_mitmdump "$1" "${proxy_port[$1]}" ${proxy_args[$1]}
}

mitmdump_ready() { port_listening "$1" && [[ -s $2 ]]; }

# via_args curl|hey SETUP: sets the array `via` to the tool's arguments for reaching the registry
# through SETUP. hey does not verify certificates (its own choice), curl does, against SETUP's CA.
via_args() {
  local tool="$1" setup="$2" url
  if [[ $setup == direct ]]; then
    via=()
    [[ $tool == hey ]] || via=(--resolve "$registry:127.0.0.1" --cacert "$E2E_CERTS/ca.crt")
    return
  fi
  url="http://127.0.0.1:${proxy_port[$setup]}"
  via=(-x "$url")
  [[ $tool == hey ]] || via+=(--cacert "${proxy_ca[$setup]}")
}

# machine_busy_ticks: the busy clock ticks of all CPUs so far (user, nice, system, irq, softirq).
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# start_dockerds: one dockerd per set-up (each takes its proxy only from its start environment),
# docker_host[SETUP] its socket. They share /etc/docker/certs.d/REGISTRY, which holds all the CAs:
# regtrace's (ca.crt, written by `regtrace ca docker-trust`), the registry's and mitmproxy's.
start_dockerds() {
  local entry="/etc/docker/certs.d/$registry" s url
  docker_trust_regtrace "$bin" "$registry"
  cp "$E2E_CERTS/ca.crt" "$entry/registry-ca.crt"
  cp "${proxy_ca[mitmproxy]}" "$entry/mitmproxy-ca.crt"
  cp "${proxy_ca[mitmproxy-stream]}" "$entry/mitmproxy-stream-ca.crt"
  for s in "${setups[@]}"; do
    url=""
    [[ $s == direct ]] || url="http://127.0.0.1:${proxy_port[$s]}"
    start_dockerd "$RUN_DIR/docker-$s" "$url"
    docker_host[$s]="$DOCKER_HOST"
    # Several daemons: each exit hook (stop_dockerd DIR) must find its own through DIR/docker.pid.
    DOCKERD_PID=""
  done
  log "dockerd $("$DOCKER_CLI" version -f '{{.Server.Version}}') x ${#setups[@]}: ${setups[*]}"
}
