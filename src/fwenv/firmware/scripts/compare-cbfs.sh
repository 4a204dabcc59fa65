#!/bin/sh
# Two builds' CBFS (trees at /cmp/a and /cmp/b), listed and extracted per entry into
# /out/a and /out/b, for the double build's report (fwenv.firmware.repro).
set -u
cbf=/cmp/a/build/cbfstool
for s in a b; do
  mkdir -p /out/$s
  $cbf /cmp/$s/build/coreboot.rom print -k > /out/$s.list || exit 1
  tail -n +2 /out/$s.list | cut -f1 | while IFS= read -r n; do
    [ "$n" = "(empty)" ] && continue
    f=$(printf %s "$n" | tr / _)
    $cbf /cmp/$s/build/coreboot.rom extract -U -n "$n" -f "/out/$s/$f" >/dev/null 2>&1 || true
  done
done
