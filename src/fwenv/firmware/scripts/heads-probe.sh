#!/bin/sh
# Heads build tools missing from the image (missing:<name> ...), then the path of its
# musl cross compiler, if any (fwenv.firmware.heads).
for t in "$@"; do command -v "$t" >/dev/null 2>&1 || printf "missing:%s " "$t"; done; command -v x86_64-linux-musl-gcc || true
