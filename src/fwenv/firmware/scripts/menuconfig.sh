#!/bin/sh
# menuconfig on the read-only tree at /in/src (fwenv.firmware.tree.menuconfig): start from
# /in/cfg/defconfig, run menuconfig out of tree in /out/build, write savedefconfig to
# /out/defconfig (the host copies it to the user's FILE).
set -eu
cd /in/src
make obj=/out/build DOTCONFIG=/out/build/.config defconfig KBUILD_DEFCONFIG=/in/cfg/defconfig
make obj=/out/build DOTCONFIG=/out/build/.config menuconfig
make obj=/out/build DOTCONFIG=/out/build/.config savedefconfig DEFCONFIG=/out/defconfig
