#!/bin/sh
# Run as root in the builder by fwenv.guix.pack when --authorize KEYFILE is given: add the
# substitute server's public key ($1, mounted read-only) to the daemon's ACL (/etc/guix/acl),
# with Guix's own command. Only then does the daemon accept narinfos that key signed.
set -eu
guix archive --authorize < "$1"
