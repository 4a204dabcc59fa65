#!/bin/sh
# Run as root in the builder by fwenv.guix.bundle (release.bundle): sign with a key made for
# this bundle (Guix signs every archive it exports), export the given store items and their
# closure (`guix archive --export -r`) to $1, and copy the public key beside it.
set -eu
out=$1
shift
[ -s /etc/guix/signing-key.sec ] || guix archive --generate-key
guix archive --export -r "$@" > "$out/store.nar"
cp /etc/guix/signing-key.pub "$out/archive-key.pub"
