#!/bin/sh
# Run as root in the builder (--network=none) by fwenv.guix.bundle (env.build --bundle):
# trust the key the bundle's archive was exported with ($1; the bundle's SHA256SUMS were
# checked first), then import the archive ($2) into this fresh store.
set -eu
guix archive --authorize < "$1"
guix archive --import < "$2"
