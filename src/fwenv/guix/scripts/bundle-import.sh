#!/bin/sh
# Run as root in the builder (--network=none) by fwenv.env.bundle (env.build --bundle): trust
# the key the bundle's archive was exported with ($2; the bundle's SHA256SUMS were checked
# first), then import the archive ($3) into this fresh store. For a time-machine pack, also put
# back time-machine's cache entry $4 -> profile $5 for the client user $1, where Guix 1.5 looks
# (/var/guix/profiles/per-user/USER/inferiors): then `guix time-machine` finds the pinned Guix
# without fetching it. fwenv checked both names (a base32 file name, a store item).
set -eu
user=$1
guix archive --authorize < "$2"
guix archive --import < "$3"
if [ $# -eq 5 ]; then
  [ -d "$5" ] || { echo "bundle-import: $5 is not in the imported store" >&2; exit 1; }
  cache=/var/guix/profiles/per-user/$user/inferiors  # the session made per-user/$user
  install -d -o "$user" -g "$user" -m 0755 "$cache"
  ln -s "$5" "$cache/$4"
  chown -h "$user:$user" "$cache/$4"
fi
