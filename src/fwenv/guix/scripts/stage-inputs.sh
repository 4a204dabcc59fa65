#!/bin/sh
# Run as root in the builder by fwenv.guix.pack, before any guix command: copy the read-only
# host inputs (mounted under /fwenv/host) to where guix reads them (/fwenv/manifest,
# /fwenv/channels, /fwenv/load-path/N), owned by the unprivileged client user ($1), so that
# user reads them whatever their host modes. cp -R copies symlinks as symlinks; chown -hR
# never follows one.
set -eu
user=$1
for d in /fwenv/host/*; do
  [ -e "$d" ] || continue
  dest=/fwenv/${d#/fwenv/host/}
  cp -R "$d" "$dest"
  chown -hR "$user:$user" "$dest"
done
