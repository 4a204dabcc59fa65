"""The Guix side: builder image (rootfs, builder), guix-daemon in a container (daemon), the
pack and its options and provenance (pack, options, provenance), the channels pin (pin) and
Guix errors as one line (errors). Uses only the ground."""
