#!/usr/bin/env bash
# Install the Debian packages a profile needs: build, test or bench (each includes the one before), or
# fuzz (build and the fuzzer's compiler; test includes it).
# CI runs on a fresh machine, so every script that builds or tests calls this first; when everything
# is already there it returns without touching apt, so repeated runs stay fast.
set -euo pipefail

# build: prometheus-cpp-dev is the core library behind --metrics (families, text exposition);
# libprotobuf-dev and protobuf-compiler: the OTLP span messages (capture/export/proto) are compiled by protoc.
build_pkgs=(cmake ninja-build g++ pkg-config libboost1.81-dev libssl-dev nlohmann-json3-dev
            libspdlog-dev catch2 libcli11-dev prometheus-cpp-dev libprotobuf-dev protobuf-compiler)
# test: the real registry and clients (TESTBED.md: skopeo, podman 4.3 (rootful, vfs: conmon and runc
# come with it, nothing else is needed to pull and push), the Docker daemon 20.10 and containerd's ctr
# from docker.io, containerd 1.6 standalone), curl/openssl for the rig, htpasswd, python3 for the OCI
# layout writer and the HAR checkers, iproute2 for `ss` in the readiness checks, mitmproxy (its
# har_dump.py example writes the foreign HARs `regtrace report` is tested on), chromium (renders the
# HTML report), tinyproxy (the corporate proxy behind `--upstream-proxy`), hey (Go's HTTP client with
# and without keep-alive: the two connection patterns of Docker Engine 29.4+ and 20.10), prometheus
# (scrapes two proxies' /metrics in test-prometheus.sh); nodejs and npm run the independent OTLP
# receiver of e2e test-otlp (npm installs tests/package.json's pinned decoder).
# fuzz: libFuzzer comes with clang (tests/fuzz, scripts/fuzz.sh): clang-19, its runtime libraries
# (libclang-rt-19-dev: libFuzzer, ASan, UBSan) and llvm-19 for llvm-symbolizer (readable stacks).
fuzz_pkgs=("${build_pkgs[@]}" clang-19 libclang-rt-19-dev llvm-19)
test_pkgs=("${fuzz_pkgs[@]}" docker-registry skopeo podman docker.io containerd curl openssl ca-certificates
           apache2-utils python3 iproute2 mitmproxy chromium tinyproxy hey prometheus nodejs npm)
# bench: hey is the load client too (it goes through a proxy with CONNECT + TLS; wrk cannot use a proxy).
bench_pkgs=("${test_pkgs[@]}" procps)

[[ $# -gt 0 ]] || set -- build
wanted=()
for profile in "$@"; do
  case "$profile" in
    build) wanted+=("${build_pkgs[@]}") ;;
    fuzz) wanted+=("${fuzz_pkgs[@]}") ;;
    test) wanted+=("${test_pkgs[@]}") ;;
    bench) wanted+=("${bench_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown profile '$profile' (expected build, fuzz, test or bench)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in $(printf '%s\n' "${wanted[@]}" | sort -u); do
  # A Node.js from NodeSource's packages (this machine kind's) bundles npm and conflicts with Debian's.
  [[ "$pkg" == npm ]] && command -v npm >/dev/null && continue
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: these packages are missing and installing them needs root: ${missing[*]}." \
       "Run this script as root (or with sudo), or install them yourself." >&2
  exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
