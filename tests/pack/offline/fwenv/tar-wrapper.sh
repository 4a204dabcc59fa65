# The seed's tar (see offline.scm), run by busybox sh with SEED set.  GNU tar starts the
# compressor of `-I CMD` with a hard-coded /bin/sh, which the build chroot does not have:
# turn `-cf OUT -I CMD ...` (or `-cvf OUT`, as the tarball format passes it) into
# `tar -cf - ... | CMD > OUT` here instead.
set -e -o pipefail
tar() { "$SEED/lib/ld-linux-x86-64.so.2" --library-path "$SEED/lib" "$SEED/bin/tar" "$@"; }
case " $* " in
  *" -I "*) ;;
  *) tar "$@"; exit ;;
esac
compressor=""; out=""; n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case "$a" in
    -I) compressor=$1; shift; n=$((n - 1)) ;;
    -cf|-cvf) out=$1; shift; n=$((n - 1)); set -- "$@" "$a" - ;;
    *) set -- "$@" "$a" ;;
  esac
done
[ -n "$out" ] || { echo "tar wrapper: -I without -cf OUT" >&2; exit 2; }
# shellcheck disable=SC2086  # the compressor is a command line: split it
tar "$@" | $compressor > "$out"
