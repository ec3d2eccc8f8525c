#!/usr/bin/env bash
# Make sure a headless Chromium is available for scripts/check_book.py.
# Installs Debian's `chromium` with apt-get when it is missing and we are root;
# otherwise explains what to do.  Runs with network (apt needs the package mirror).
set -euo pipefail
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (apt-get; about 20 s, +480 MB)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    exit 0
fi
echo "error: Chromium is needed to check the rendered book. Install it (Debian/Ubuntu:" \
     "'sudo apt-get install -y chromium') or set CHROMIUM=/path/to/chrome, then rerun." >&2
exit 1
