#!/bin/sh
# Heads' make, in a copy of the pinned checkout mounted at /in/heads (fwenv.firmware.heads).
set -eu; cp -a /in/heads/. .; make "$@"
