#!/bin/sh
# coreboot's own harness over a board list (fwenv.firmware.matrix): util/abuild/abuild of the
# read-only tree at /in/src, one run per board, results and JUnit XML under /out.
# $1 = jobs; the rest are abuild targets (VENDOR/MODEL or BOARD_NAME). --any-toolchain: the
# environment has no coreboot crossgcc; -d: an empty configs dir (only the board's default).
set -u
jobs=$1; shift
mkdir -p /out/builds /out/xml /out/noconfigs
cd /in/src
for board in "$@"; do
  name=$(printf %s "$board" | tr / _)
  bash util/abuild/abuild --timeless --any-toolchain --junit --exitcode -c "$jobs" \
    -d /out/noconfigs -o "/out/builds/$name" -X "/out/xml/$name.xml" -t "$board" \
    > "/out/xml/$name.log" 2>&1
  code=$?
  # abuild names the logs of failed steps ("... - Log: PATH"): keep their tails with ours
  grep -o 'Log: [^ ]*' "/out/xml/$name.log" | cut -c6- | while read -r f; do
    [ ! -f "$f" ] || { echo "== $f"; tail -n 100 "$f"; }
  done >> "/out/xml/$name.log"
  echo "fwenv-matrix $board exit $code"
done
