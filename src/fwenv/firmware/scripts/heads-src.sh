#!/bin/sh
# Heads from the contributor's own tree (fwenv.firmware.heads_tree). Heads builds in its own
# tree ($(pwd)/build, packages, crossgcc) and has no out-of-tree mode, so the read-only tree at
# /in/src is copied here first, without Heads' outputs (build/, install/, crossgcc/); downloads
# fwenv's cache holds (/in/packages/<arch>, if mounted) fill what packages/<arch>/ lacks
# ($1 = arch). Then `make` with the remaining arguments.
set -eu
arch=$1; shift
tar -C /in/src --anchored --exclude=./build --exclude=./install --exclude=./crossgcc -cf - . \
  | tar -xf - --no-same-owner
if [ -d "/in/packages/$arch" ]; then
  mkdir -p "packages/$arch"
  cp -Rn "/in/packages/$arch/." "packages/$arch/"
fi
make "$@"
