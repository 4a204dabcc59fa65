#!/bin/sh
# Build the payload ELF at $1 with the environment's own toolchain (run inside the build
# container by fwenv.firmware.build). -N: one RWX segment (else ld adds one at 0xff000 that
# overlaps coreboot); no build-id: the bytes depend only on the source.
set -eu
gcc -m32 -nostdlib -static -Wl,-N -Wl,-e,_start -Wl,-Ttext=0x100000 -Wl,--build-id=none \
    -o "$1" "$(dirname "$0")/payload.S"
