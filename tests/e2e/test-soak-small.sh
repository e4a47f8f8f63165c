#!/usr/bin/env bash
# End to end: the soak (scripts/soak.sh, issue 13) in small. 50 connections open at once through
# regtrace to the distribution registry, 1,000 requests kept alive over them and 100 more on a
# connection each, two rounds, then regtrace stopped with the 50 connections open. Asserts what does not
# depend on the machine's speed: no request failed, every request is an entry of the trace, and
# regtrace's descriptors are back to where they started once the upstream pool's idle timeout passed
# with no request (the pool closes idle connections by itself). Memory and stop time are printed, not
# asserted (no wall-clock assertion in a test).
#
# usage: test-soak-small.sh REGTRACE_BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[[ $# -eq 1 && -x $1 ]] || { echo "usage: $0 REGTRACE_BIN (got '${1:-}', which is not an executable)" >&2; exit 2; }
REGTRACE_BIN="$(realpath "$1")" exec bash "$here/../../scripts/soak.sh" --tunnels 50 --requests 1000 \
  --new-conn-requests 100 --new-conn-parallel 10 --rounds 2 --check
