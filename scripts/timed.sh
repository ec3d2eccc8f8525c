#!/usr/bin/env bash
# Run a command, print its wall time, and append "label<TAB>seconds<TAB>exit" to
# build/timings.tsv (one line per stage of `make test` / `make book`).  The command's
# exit status is passed through unchanged.
#
# Usage: scripts/timed.sh LABEL COMMAND [ARGS...]
set -u
if [ "$#" -lt 2 ]; then
    echo "usage: scripts/timed.sh LABEL COMMAND [ARGS...]" >&2
    exit 2
fi
label=$1
shift
start=$(date +%s.%N)
echo "==> [$label] $*"
"$@"
status=$?
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
mkdir -p build
printf '%s\t%s\t%s\n' "$label" "$elapsed" "$status" >> build/timings.tsv
if [ "$status" -eq 0 ]; then
    echo "==> [$label] done in ${elapsed} s"
else
    echo "==> [$label] FAILED (exit $status) after ${elapsed} s" >&2
fi
exit "$status"
