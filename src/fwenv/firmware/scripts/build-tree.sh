#!/bin/sh
# An out-of-tree coreboot build of the contributor's tree (fwenv.firmware.tree): the tree at
# /in/src is read-only; objects, .config and the ROM go to $1 (obj=); the defconfig is
# /in/cfg/defconfig. Further arguments go to make.
set -eu
obj=$1; shift
cd /in/src
make obj="$obj" DOTCONFIG="$obj/.config" defconfig KBUILD_DEFCONFIG=/in/cfg/defconfig
make obj="$obj" DOTCONFIG="$obj/.config" "$@"
"$obj/cbfstool" "$obj/coreboot.rom" print > "$obj/cbfs.txt"
