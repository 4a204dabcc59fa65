#!/bin/sh
# A coreboot build in the environment image (fwenv.firmware.container): copy the pristine
# tree from /in/src, build the payload (when /in/payload has one), defconfig from /in/cfg,
# make with the arguments given, list the CBFS. Paths: IN_SRC, IN_PAYLOAD, IN_CFG, ROM there.
set -eu; cp -a /in/src/. .; [ ! -e /in/payload/build.sh ] || sh /in/payload/build.sh "$PWD/payload.elf"; make defconfig KBUILD_DEFCONFIG=/in/cfg/defconfig; make "$@"; build/cbfstool build/coreboot.rom print > build/cbfs.txt
