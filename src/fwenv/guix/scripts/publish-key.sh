#!/bin/sh
# Run as root in the builder by fwenv.guix.cache (cache.serve), guix-daemon already up:
# keep one publish signing key per store volume (in the key volume at $1, root-only) and make
# it Guix's (/etc/guix/signing-key.*), which `guix publish` signs with.
set -eu
keys=$1
if [ ! -s "$keys/signing-key.sec" ]; then
  guix archive --generate-key
  cp /etc/guix/signing-key.pub /etc/guix/signing-key.sec "$keys/"
  chmod 0400 "$keys/signing-key.sec"
else
  cp "$keys/signing-key.pub" "$keys/signing-key.sec" /etc/guix/
fi
chmod 0444 /etc/guix/signing-key.pub
chmod 0400 /etc/guix/signing-key.sec
