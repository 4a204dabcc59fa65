#!/bin/sh
# Which of the tools given as arguments the image lacks: prints missing:<names>, exit 3
# (MISSING_EXIT in fwenv.firmware.container).
m=; for t in "$@"; do command -v "$t" >/dev/null 2>&1 || m="$m $t"; done; [ -z "$m" ] || { echo "missing:$m"; exit 3; }
