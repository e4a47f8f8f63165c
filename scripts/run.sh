#!/usr/bin/env bash
# The first command of the README: install what the build needs, build the regtrace binary (not the
# tests: a new user waits for the proxy only), and run the proxy with the given arguments (defaults:
# listen on 127.0.0.1:8888, CA in the default CA folder).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

"$root/scripts/install-deps.sh" build
"$root/scripts/build.sh" regtrace >&2
exec "${BUILD_DIR:-$root/build}/regtrace" proxy "$@"
