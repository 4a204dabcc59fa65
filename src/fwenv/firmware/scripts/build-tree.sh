#!/bin/sh
# An out-of-tree coreboot build of the contributor's tree (fwenv.firmware.tree): the tree at
# /in/src is read-only; objects, .config and the ROM go to $1 (obj=); the defconfig is
# /in/cfg/defconfig. Further arguments go to make. With a compiler cache (CCACHE_DIR set,
# make CONFIG_CCACHE=y), this build's ccache statistics (coreboot's $obj/ccache.stats) end the log.
set -eu
obj=$1; shift
cd /in/src
make obj="$obj" DOTCONFIG="$obj/.config" defconfig KBUILD_DEFCONFIG=/in/cfg/defconfig
make obj="$obj" DOTCONFIG="$obj/.config" "$@"
"$obj/cbfstool" "$obj/coreboot.rom" print > "$obj/cbfs.txt"
if [ -n "${CCACHE_DIR:-}" ]; then
  echo "ccache statistics of this build:"
  CCACHE_STATSLOG="$obj/ccache.stats" ccache --show-log-stats
fi
