#!/bin/sh
# Run as root in the builder by fwenv.guix.daemon when a session starts: give the client user
# ($1) its profile directory, where Guix 1.5 keeps time-machine's cache of pinned Guixes
# (/var/guix/profiles/per-user/USER/inferiors). A daemon that is not root cannot chown the one it
# makes on connection ("failed to change owner"), and without it `guix time-machine` stops at
# once ("mkdir: Permission denied"). The parents get the owner of /var/guix, as the daemon
# makes them, so the daemon can still add other users' directories.
set -eu
user=$1
owner=$(stat -c %u /var/guix)
group=$(stat -c %g /var/guix)
install -d -o "$owner" -g "$group" -m 0755 /var/guix/profiles /var/guix/profiles/per-user
install -d -o "$user" -g "$user" -m 0755 "/var/guix/profiles/per-user/$user"
