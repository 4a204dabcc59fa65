#!/bin/sh
# Give a docker image archive its released name: retag.sh COMPRESSOR ARCHIVE WORK
# Guix's docker packs always say <profile>:latest in manifest.json and repositories. This
# replaces those two members with WORK/manifest.json and WORK/repositories (written by
# fwenv.release.retag) and writes WORK/archive and WORK/tools (the tools' versions); every
# other member, the image config and so the image ID stay as they are. It runs in the pinned
# builder image on --network=none, so the new bytes come from that image's tar and compressor.
set -eu
comp=$1 in=$2 work=$3
case $comp in
  gzip) dec="gzip -dc" enc="gzip -9n";;
  xz) dec="xz -dc" enc="xz -6 -T2";;  # multi-threaded mode: the same bytes for any thread count
  zstd) dec="zstd -dcq" enc="zstd -19 -T2 -cq";;
  *) echo "retag: unknown compressor $comp" >&2; exit 2;;
esac
command -v "$comp" >/dev/null || { echo "retag: $comp is not in the builder image" >&2; exit 2; }
cd "$work"
$dec < "$in" > image.tar
tar --delete -f image.tar ./manifest.json ./repositories
chmod 644 manifest.json repositories
tar -rf image.tar --format=gnu --owner=root:0 --group=root:0 --mtime=@1 --no-recursion \
  ./manifest.json ./repositories
$enc < image.tar > archive
rm image.tar
# the tools that made these bytes (provenance.json: chain.pack.named_with)
{ tar --version | head -n 1; $comp --version | head -n 1; } > tools
