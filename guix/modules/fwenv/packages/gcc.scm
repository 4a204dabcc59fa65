;;; fwenv — GCC 14.2.0, the version coreboot 25.09's crossgcc pins.
;;; SPDX-License-Identifier: GPL-3.0-or-later
(define-module (fwenv packages gcc)
  #:use-module (guix packages)
  #:use-module (guix download)
  #:use-module (gnu packages gcc))

(define-public gcc-14.2
  ;; Hidden like Guix's own GCCs; the cross compilers and GNAT build on it.
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
