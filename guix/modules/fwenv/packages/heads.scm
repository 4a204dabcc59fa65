;;; fwenv — the musl cross toolchain Heads builds, packaged so Heads can use it.
;;; SPDX-License-Identifier: GPL-3.0-or-later
;;;
;;; Heads' modules/musl-cross-make (linuxboot/heads master, commit 3dfec51
;;; "bump to 227df8b for CVE-2026-40200, CVE-2026-6042") pins
;;; richfelker/musl-cross-make at commit
;;; 227df8b99103f9c59f6570babf892978e293082f and builds it with NO config.mak
;;; of its own: only TARGET=x86_64-linux-musl and OUTPUT.  So Heads' toolchain
;;; is musl-cross-make's defaults at that commit (its Makefile): binutils
;;; 2.44, GCC 9.4.0, musl 1.2.6 (with musl-cross-make's CVE patches), C and
;;; C++ (litecross), gmp 6.3.0, mpc 1.3.1, mpfr 4.2.2 and Linux headers
;;; 4.19.88-2.  (config.mak.dist's commented example, GCC 15 and "-g0 -Os", is
;;; not what Heads builds.)  With this package on PATH, Heads is built with
;;; CROSS=x86_64-linux-musl- and skips building the toolchain (Heads'
;;; modules/musl-cross-make, "ifneq $(CROSS)").
;;;
;;; Differences from Heads' own build, deliberate:
;;; - gmp, mpfr and mpc are Guix's shared libraries, not built in-tree (they
;;;   run on the build machine only);
;;; - no Linux headers in the toolchain (LINUX_VER empty): Heads installs the
;;;   kernel's headers itself (modules/linux, "headers_install").
;;; - GCC reads CROSS_C_INCLUDE_PATH, CROSS_LIBRARY_PATH & co. instead of
;;;   C_INCLUDE_PATH and LIBRARY_PATH, with the same patch Guix applies to its
;;;   own GCC 8/9 cross compilers: the image's profile exports C_INCLUDE_PATH
;;;   for glibc, and an unpatched cross GCC would put glibc's headers before
;;;   musl's (for Heads' code and for libgcc while the toolchain builds).
(define-module (fwenv packages heads)
  #:use-module (guix packages)
  #:use-module (guix download)
  #:use-module (guix git-download)
  #:use-module (guix gexp)
  #:use-module (guix utils)
  #:use-module (gnu packages)
  #:use-module (gnu packages autotools)
  #:use-module (gnu packages base)
  #:use-module (gnu packages bash)
  #:use-module (gnu packages compression)
  #:use-module (gnu packages heads)
  #:use-module (gnu packages multiprecision)
  #:use-module (gnu packages perl)
  #:use-module (gnu packages texinfo))

(define %gcc-9.4.0
  ;; sha256 c95da32f440378d7751dd95533186f7fc05ceb4fb65eb5b85234e6299eb9838e;
  ;; musl-cross-make's hashes/gcc-9.4.0.tar.xz.sha1:
  ;; bf6d6480fb32e5a28dac849449f533a84d4e6547.
  (origin
    (method url-fetch)
    (uri "mirror://gnu/gcc/gcc-9.4.0/gcc-9.4.0.tar.xz")
    (sha256 (base32 "13l3p6g2krilaawbapmn9zmmrh3zdwc36mfr3msxfy038hps6pf9"))))

(define %musl-1.2.6
  ;; sha256 d585fd3b613c66151fc3249e8ed44f77020cb5e6c1e635a616d3f9f82460512a;
  ;; musl-cross-make's hashes/musl-1.2.6.tar.gz.sha1:
  ;; d52bd74e07ae3d4057787585753580fc7479289f.
  (origin
    (method url-fetch)
    (uri "https://musl.libc.org/releases/musl-1.2.6.tar.gz")
    (sha256 (base32 "0ajic0jgiyfk2sk3brn1wsshq0kp9za8x7i4qcgiariwc4xzv1fm"))))

(define-public musl-cross-heads
  (let ((commit "227df8b99103f9c59f6570babf892978e293082f")
        (revision "0")
        (target "x86_64-linux-musl"))
    (package
      (inherit musl-cross)
      (name "musl-cross-heads")
      (version (git-version "0" revision commit))
      (source
       (origin
         (method git-fetch)
         (uri (git-reference
               (url "https://github.com/richfelker/musl-cross-make")
               (commit commit)))
         (file-name (git-file-name "musl-cross-make" version))
         ;; NAR hash of the checkout (git archive of the commit).
         (sha256
          (base32 "1pm8fvvhvndl71qkrfijymp7rn7q9pyxnc33dc1znxyy9az0nsb4"))))
      (arguments
       (list
        #:tests? #f
        #:modules '((guix build gnu-build-system)
                    (guix build utils)
                    (srfi srfi-26))
        #:phases
        #~(modify-phases %standard-phases
            (replace 'configure
              (lambda _
                (setenv "CONFIG_SHELL" (which "bash"))
                ;; Sources come from Guix origins (hash-pinned) under the
                ;; names musl-cross-make would download them as; it extracts
                ;; and patches them itself (patches/<name>/).
                (mkdir "tarballs")
                (for-each (lambda (tarball)
                            (copy-file tarball
                                       (string-append
                                        "tarballs/"
                                        (strip-store-file-name tarball))))
                          (list #$%gcc-9.4.0
                                #$(package-source binutils)
                                #$%musl-1.2.6))
                (copy-file (car (find-files #$(this-package-native-input
                                               "automake")
                                            "^config\\.sub$"))
                           "tarballs/config.sub")
                ;; Guix's cross-compiler search-path patch, applied after
                ;; musl-cross-make's own GCC 9.4.0 patches.
                (copy-file #$(local-file
                              (search-patch
                               "gcc-8-cross-environment-variables.patch"))
                           "patches/gcc-9.4.0/9000-guix-cross-environment-variables.diff")
                (call-with-output-file "config.mak"
                  (lambda (port)
                    (format port "TARGET = ~a~%OUTPUT = ~a~%" #$target #$output)
                    ;; Everything else is musl-cross-make's default, as in
                    ;; Heads, except the libraries Guix provides.
                    (display "SOURCES = tarballs\n\
GMP_VER =\nMPC_VER =\nMPFR_VER =\nISL_VER =\nLINUX_VER =\n" port)))))
            (replace 'build
              (lambda* (#:key parallel-build? #:allow-other-keys)
                (invoke "make" "extract_all")
                ;; The extracted trees run /bin/sh scripts: patch them too.
                (define (executable? file stat)
                  (and (eq? 'regular (stat:type stat))
                       (not (zero? (logand #o100 (stat:mode stat))))))
                (for-each patch-shebang (find-files "." executable?))
                (invoke "make" "install"
                        (string-append "SHELL=" (which "bash"))
                        (format #f "-j~a" (if parallel-build?
                                              (parallel-job-count)
                                              1)))))
            (delete 'install))))
      (native-inputs
       (list automake bash-minimal gmp mpfr mpc perl texinfo xz))
      (synopsis "Musl cross toolchain (GCC 9.4.0, musl 1.2.6) as built by Heads")
      (description
       "This package provides the @code{x86_64-linux-musl} cross toolchain
(binutils 2.44, GCC 9.4.0 for C and C++, musl 1.2.6) that Heads builds from
musl-cross-make commit 227df8b, so that Heads can use it instead of building
it.")
      (home-page "https://github.com/richfelker/musl-cross-make"))))
