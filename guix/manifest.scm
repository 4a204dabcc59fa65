;; The fwenv firmware build environment: every tool coreboot's and Heads'
;; builds call (guix/required-commands.toml says which build calls what) plus
;; our own packages from guix/modules (the fwenv channel directory).
;;
;;   guix time-machine -C guix/channels.scm -- \
;;     pack -L guix/modules -m guix/manifest.scm ...
;;
;; The manifest also finds guix/modules by itself, relative to this file, so
;; `-L guix/modules' is needed only to refer to our packages by name on the
;; command line (guix build, guix lint, guix show).
(use-modules (gnu packages) (guix profiles))

(define %fwenv-modules
  (string-append (dirname (current-filename)) "/modules"))

(unless (member %fwenv-modules %load-path)
  (set! %load-path (cons %fwenv-modules %load-path)))

(define (fwenv-package module name)
  (module-ref (resolve-interface `(fwenv packages ,module)) name))

(define %host-tools
  ;; Guix packages, as `guix package -A' names them.  Versions are spelled out
  ;; where coreboot or Heads care; the channel pin fixes everything else.
  '(;; shell and POSIX tools
    "bash" "coreutils" "findutils" "grep" "sed" "gawk" "diffutils" "patch"
    "which" "file" "less" "procps" "util-linux" "util-linux:lib"
    ;; archives and compressors
    "tar" "gzip" "bzip2" "xz" "zstd" "lz4" "cpio" "unzip" "zip" "sharutils"
    ;; host compilers and build tools
    "gcc-toolchain@14" "make@4.4" "m4" "bison@3.8" "flex" "pkg-config"
    "autoconf" "automake" "libtool" "gettext" "texinfo" "perl"
    "python-wrapper" "bc" "ccache" "cmake" "ninja"
    ;; firmware-specific
    "acpica" "nasm" "dtc" "elfutils" "innoextract" "imagemagick" "e2fsprogs"
    "dosfstools" "mtools" "parted" "xxd"
    ;; boot checks of the QEMU targets (x86 system emulators only)
    "qemu-minimal"
    ;; libraries utilities link against (headers + pkg-config files)
    "zlib" "ncurses" "openssl"
    ;; fetching sources (Heads' `make packages', coreboot's submodules)
    "git-minimal" "rsync" "wget" "curl" "nss-certs"))

(concatenate-manifests
 (list
  (specifications->manifest %host-tools)
  (packages->manifest
   (list
    (fwenv-package 'base 'fwenv-base)
    ;; C.UTF-8 and en_US.UTF-8 (hidden in `guix package -A'; GUIX_LOCPATH
    ;; comes from its search path).
    (module-ref (resolve-interface '(gnu packages base)) 'glibc-utf8-locales)
    ;; coreboot's reference toolchain (crossgcc), x86 only: see
    ;; docs/environment.md for aarch64.
    (fwenv-package 'coreboot 'coreboot-binutils-i386-elf)
    (fwenv-package 'coreboot 'coreboot-gcc-i386-elf)
    (fwenv-package 'coreboot 'coreboot-binutils-x86_64-elf)
    (fwenv-package 'coreboot 'coreboot-gcc-x86_64-elf)
    ;; Heads' musl toolchain.
    (fwenv-package 'heads 'musl-cross-heads)
    ;; Ada, for libgfxinit (Heads' Intel laptop boards).
    (fwenv-package 'ada 'gnat)))))
