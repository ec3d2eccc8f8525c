#!/bin/sh
# Run a command with no network: a fresh network namespace with only loopback up.
# Loopback is needed because Jupyter kernels talk to papermill/nbval over 127.0.0.1.
# Any outbound request inside fails ("Could not resolve host"), which proves that the
# notebooks, the book build and the tests download nothing.
#
# Needs root (or unprivileged user namespaces).  If the namespace cannot be created
# the command still runs, with the network, after a loud warning — unless
# PERSONAX_REQUIRE_OFFLINE=1, which makes that an error.
#
# Usage: scripts/offline.sh COMMAND [ARGS...]
set -eu
if [ "$#" -eq 0 ]; then
    echo "usage: scripts/offline.sh COMMAND [ARGS...]" >&2
    exit 2
fi
if command -v unshare >/dev/null 2>&1 && unshare -n sh -c 'ip link set lo up' >/dev/null 2>&1; then
    exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
if [ "${PERSONAX_REQUIRE_OFFLINE:-0}" = "1" ]; then
    echo "scripts/offline.sh: ERROR: cannot create a network namespace (unshare -n needs root and iproute2)," \
         "and PERSONAX_REQUIRE_OFFLINE=1" >&2
    exit 3
fi
echo "scripts/offline.sh: WARNING: 'unshare -n' is unavailable (needs root and iproute2);" \
     "running WITH network, so this run does not prove that nothing is downloaded: $*" >&2
exec "$@"
