#!/bin/sh
# An fwenv environment in a CI without BuildKit (seed 003, run + commit route; issue 14 item 4):
#   ENGINE=docker|podman examples/ci/run-commit.sh BUILDER IMAGE INPUTS -- [guix pack args]
# 1. run the builder's `pack` entry point in a named container, with the daemon's flags
#    (README "Container privileges": unprivileged mode, no --privileged), INPUTS (a directory:
#    manifest and modules) read-only at /fwenv/host/inputs, staged to /fwenv/inputs;
# 2. commit that container as IMAGE-builder: the builder with a warm store (the environment's
#    closure), for the next CI run's --builder;
# 3. import the pack (pass -f tarball) as IMAGE, and remove the container.
# Example (the offline test package): ENGINE=docker examples/ci/run-commit.sh
#   guix-pack-builder:1.5.0 my-env tests/pack/offline -- -f tarball -C xz -S /bin=bin
#   --bootstrap --no-substitutes -L /fwenv/inputs -m /fwenv/inputs/manifest.scm
set -eu
if [ "$#" -lt 4 ] || [ "$4" != "--" ]; then
  echo "usage: ENGINE=docker|podman $0 BUILDER IMAGE INPUTS -- GUIX-PACK-ARGS (with -f tarball)" >&2
  exit 2
fi
engine=${ENGINE:-docker}
builder=$1 image=$2 inputs=$(cd "$3" && pwd)
shift 4
container=fwenv-ci-$$
trap '$engine rm -f "$container" >/dev/null 2>&1 || true' EXIT
$engine run --name "$container" --network=none \
  --security-opt seccomp=unconfined --security-opt systempaths=unconfined \
  --mount "type=bind,source=$inputs,target=/fwenv/host/inputs,readonly" \
  "$builder" sh -c 'pack "$@" > /fwenv-pack.tar' sh "$@"
$engine commit "$container" "$image-builder" >/dev/null
$engine cp "$container:/fwenv-pack.tar" - | tar -xOf - fwenv-pack.tar | $engine import - "$image"
