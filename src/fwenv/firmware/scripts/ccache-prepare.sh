#!/bin/sh
# --ccache (fwenv.firmware.ccache): the image must carry ccache (exit 3 if not); the cache
# volume at $1 becomes the build user's ($2), as a fresh named volume is root's.
set -eu
command -v ccache >/dev/null 2>&1 || { echo "missing: ccache"; exit 3; }
chown "$2" "$1"
