;;; fwenv — coreboot's reference cross toolchain, from Guix's cross-base.
;;; SPDX-License-Identifier: GPL-3.0-or-later
;;;
;;; coreboot 25.09 builds its own "crossgcc" (util/crossgcc/buildgcc): GCC
;;; 14.2.0 and binutils 2.44 for i386-elf, x86_64-elf, aarch64-elf, ...
;;; (versions from util/crossgcc/buildgcc and util/crossgcc/sum/ in the 25.09
;;; source), with C and Ada when a host GNAT is present.  These packages give
;;; the same compilers, built by Guix, under the prefixes coreboot's
;;; util/xcompile/xcompile searches ("i386-elf-", "x86_64-elf-",
;;; "aarch64-elf-"), so `make` uses them without `make crossgcc'.  Builds still
;;; set CONFIG_ANY_TOOLCHAIN=y: coreboot's toolchain.mk otherwise insists on
;;; "coreboot toolchain" in `$(CC) -v' and `iasl -v', which these (and Guix's
;;; acpica) do not claim.
;;;
;;; Ada: coreboot compiles libgfxinit's .adb files with the target compiler
;;; and binds them with ${GCCPREFIX}gnatbind (util/xcompile/xcompile,
;;; Makefile.mk), so the cross compilers are built with C and Ada, by the
;;; native GNAT of (fwenv packages ada), and install i386-elf-gnatbind etc.
;;;
;;; Patches: coreboot 25.09's util/crossgcc/patches are listed, with what is
;;; carried and why, in docs/environment.md ("crossgcc patch parity").  The
;;; carried ones are fetched from coreboot's own tree at the 25.09 tag commit
;;; (not copied here); their sha256 is that of the file in the tag.
(define-module (fwenv packages coreboot)
  #:use-module (guix packages)
  #:use-module (guix download)
  #:use-module (guix gexp)
  #:use-module (guix utils)
  #:use-module (srfi srfi-1)
  #:use-module (gnu packages base)
  #:use-module (gnu packages gcc)
  #:use-module (gnu packages cross-base)
  #:use-module (fwenv packages gcc)
  #:use-module (fwenv packages ada)
  #:export (coreboot-cross-binutils
            coreboot-cross-gcc
            %coreboot-gcc-patches
            %coreboot-binutils-patches))

;; The 25.09 tag of coreboot (review.coreboot.org, mirrored on GitHub).
(define %coreboot-25.09-commit "07df08836eca9dd755cc32b6d78727760d201605")

(define (coreboot-patch name hash)
  "NAME from coreboot 25.09's util/crossgcc/patches, pinned by HASH (sha256)."
  (origin
    (method url-fetch)
    (uri (string-append "https://raw.githubusercontent.com/coreboot/coreboot/"
                        %coreboot-25.09-commit "/util/crossgcc/patches/" name))
    (file-name (string-append "coreboot-" name))
    (sha256 (base32 hash))))

(define %coreboot-gcc-patches
  (list
   ;; --param asan-use-shadow-offset-callback: coreboot's CONFIG_ASAN stages
   ;; do not compile without it.  sha256 b69ace15…62fd5.
   (coreboot-patch "gcc-14.2.0_asan_shadow_offset_callback.patch"
                   "1m9gfvg2m3dj0zf4s2nijzb30vgw8mqxb6sn7q450pfxdcawx6mn")
   ;; Build cross GNAT tools against the host GNAT's runtime (how coreboot
   ;; builds its Ada cross compilers).  sha256 099ae9c0…29dbb.
   (coreboot-patch "gcc-14.2.0_gnat.patch"
                   "1fwxcacja6a6r03793lhxgx53qbikl47ddp9blsn4qgij70fk6h9")))

(define %coreboot-binutils-patches
  ;; `as -o /dev/null /dev/null' (iPXE's assembler probes, coreboot's
  ;; CONFIG_PXE payload).  sha256 92cb525f…77a545.
  (list (coreboot-patch "binutils-2.44_as-ipxe.patch"
                        "0id5fx6hnd8hgwfwjnx0js97yyifqh7gyp8lm1dagynirdgm5jwj")))

(define (with-patches pkg patches)
  (package
    (inherit pkg)
    (source (origin
              (inherit (package-source pkg))
              (patches (append (origin-patches (package-source pkg))
                               patches))))))

(define (visible pkg name)
  "PKG renamed NAME and listed (Guix hides its GCC packages behind
gcc-toolchain; ours are meant to be installed by name)."
  (package
    (inherit pkg)
    (name name)
    (properties (alist-delete 'hidden? (package-properties pkg)))))

(define (coreboot-cross-binutils target)
  "Binutils 2.44 (Guix 1.5.0's default binutils is that version) for TARGET,
with coreboot's binutils patches."
  (visible (cross-binutils target
                           #:binutils (with-patches
                                       binutils %coreboot-binutils-patches))
           (string-append "coreboot-binutils-" target)))

(define (coreboot-cross-gcc target)
  "A bare-metal (no libc) GCC 14.2.0 for TARGET with C and Ada, its own
libgcc and TARGET-gnatbind, built by the native GNAT 14.2.0."
  (let* ((base (cross-gcc target
                          #:xgcc (with-patches gcc-14.2 %coreboot-gcc-patches)
                          #:xbinutils (coreboot-cross-binutils target))))
    (visible
     (package
       (inherit base)
       (arguments
        (substitute-keyword-arguments (package-arguments base)
          ((#:configure-flags flags)
           ;; coreboot's buildgcc: LANGUAGES=ada,c; like it, no target Ada
           ;; runtime (it builds only all-gcc and libgcc): no libc here.
           #~(cons* "--enable-languages=c,ada" "--disable-libada"
                    (remove (lambda (flag)
                              (string-prefix? "--enable-languages" flag))
                            #$flags)))
          ((#:phases phases)
           #~(modify-phases #$phases
               (add-before 'configure 'use-native-gnat
                 ;; GNAT builds a cross GNAT only with a GNAT of the same
                 ;; version: its gcc compiles gnat1's Ada sources.
                 (lambda _
                   (let ((gnat #$(this-package-native-input "gnat")))
                     (setenv "CC" (string-append gnat "/bin/gcc"))
                     (setenv "GNATBIND" (string-append gnat "/bin/gnatbind"))
                     (setenv "GNATMAKE"
                             (string-append gnat "/bin/gnatmake")))))))))
       (native-inputs
        (modify-inputs (package-native-inputs base)
          (prepend gnat))))
     (string-append "coreboot-gcc-" target))))

;; x86_32: i386-elf is the first prefix xcompile tries for x86.  Its libgcc is
;; 32-bit, which is what Guix's non-multilib host GCC cannot provide (the
;; "undefined reference to `__udivdi3'" of CONFIG_ANY_TOOLCHAIN builds).
(define-public coreboot-binutils-i386-elf (coreboot-cross-binutils "i386-elf"))
(define-public coreboot-gcc-i386-elf (coreboot-cross-gcc "i386-elf"))

;; x86_64 (CONFIG_ARCH_*_X86_64 stages).
(define-public coreboot-binutils-x86_64-elf (coreboot-cross-binutils "x86_64-elf"))
(define-public coreboot-gcc-x86_64-elf (coreboot-cross-gcc "x86_64-elf"))

;; arm64: defined for coreboot's aarch64 boards; not in the default manifest
;; because the Debian +dfsg source fwenv tests with cannot build them anyway
;; (arm-trusted-firmware is stripped) and Heads' boards are x86 and ppc64.
(define-public coreboot-binutils-aarch64-elf (coreboot-cross-binutils "aarch64-elf"))
(define-public coreboot-gcc-aarch64-elf (coreboot-cross-gcc "aarch64-elf"))
