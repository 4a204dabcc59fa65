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
  echo "fwenv-matrix $board exit $?"
done
