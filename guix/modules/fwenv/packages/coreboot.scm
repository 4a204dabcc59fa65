;;; fwenv — coreboot's reference cross toolchain, from Guix's cross-base.
;;; SPDX-License-Identifier: GPL-3.0-or-later
;;;
;;; coreboot 25.09 builds its own "crossgcc" (util/crossgcc/buildgcc): GCC
;;; 14.2.0 and binutils 2.44 for i386-elf, x86_64-elf, aarch64-elf, ...
;;; (versions from util/crossgcc/buildgcc and util/crossgcc/sum/ in the 25.09
;;; source).  These packages give the same compilers, built by Guix, under the
;;; prefixes coreboot's util/xcompile/xcompile searches ("i386-elf-",
;;; "x86_64-elf-", "aarch64-elf-"), so `make` finds them without
;;; `make crossgcc` and without CONFIG_ANY_TOOLCHAIN.
(define-module (fwenv packages coreboot)
  #:use-module (guix packages)
  #:use-module (guix download)
  #:use-module (guix utils)
  #:use-module (srfi srfi-1)
  #:use-module (gnu packages base)
  #:use-module (gnu packages gcc)
  #:use-module (gnu packages cross-base)
  #:export (coreboot-cross-binutils
            coreboot-cross-gcc))

(define-public gcc-14.2
  ;; Hidden like Guix's own GCCs; the cross compilers below build on it.
  ;; coreboot 25.09's crossgcc pins GCC 14.2.0; Guix 1.5.0's gcc-14 is 14.3.0.
  ;; Tarball sha256 a7b39bc69cbf9e25826c5a60ab26477001f7c08d85cec04bc0e29cabed6f3cc9
  ;; (coreboot's util/crossgcc/sum/gcc-14.2.0.tar.xz.cksum holds its SHA-1,
  ;; d91ecc3d20ce6298bd95f9b09cc51dc6d3c73ae3).
  (package
    (inherit gcc-14)
    (version "14.2.0")
    (source
     (origin
       (inherit (package-source gcc-14))
       (uri (string-append "mirror://gnu/gcc/gcc-" version
                           "/gcc-" version ".tar.xz"))
       (sha256
        (base32 "1j9wdznsp772q15w1kl5ip0gf0bh8wkanq2sdj12b7mzkk39pcx7"))))))

(define (visible pkg name)
  "PKG renamed NAME and listed (Guix hides its GCC packages behind
gcc-toolchain; ours are meant to be installed by name)."
  (package
    (inherit pkg)
    (name name)
    (properties (alist-delete 'hidden? (package-properties pkg)))))

(define (coreboot-cross-binutils target)
  "Binutils 2.44 (Guix 1.5.0's default binutils is that version) for TARGET."
  (visible (cross-binutils target #:binutils binutils)
           (string-append "coreboot-binutils-" target)))

(define (coreboot-cross-gcc target)
  "A bare-metal (no libc) GCC 14.2.0 for TARGET, with its own libgcc."
  (visible (cross-gcc target
                      #:xgcc gcc-14.2
                      #:xbinutils (coreboot-cross-binutils target))
           (string-append "coreboot-gcc-" target)))

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
