;;; fwenv — the musl cross toolchain Heads builds, packaged so Heads can use it.
;;; SPDX-License-Identifier: GPL-3.0-or-later
;;;
;;; Heads (modules/musl-cross-make) pins richfelker/musl-cross-make at commit
;;; e5147dde912478dd32ad42a25003e82d4f5733aa, tarball sha256
;;; 24af217c8f4f4335f53057eae475c7d1c73d8bc7f02e66acda83b624879e0b0f, and
;;; configures it with BINUTILS_VER 2.44, GCC_VER 15.1.0, MUSL_VER 1.2.5,
;;; C only, CFLAGS "-g0 -Os".  Guix 1.5.0's `musl-cross' (gnu packages heads)
;;; is the older GregorR/musl-cross (GCC 5); this package inherits its
;;; metadata and replaces source and build with Heads' current recipe.  With it
;;; on PATH, Heads is built with CROSS=x86_64-linux-musl- and skips building
;;; the toolchain (see Heads' modules/musl-cross-make, "ifneq $(CROSS)").
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
  #:use-module (gnu packages musl)
  #:use-module (gnu packages perl)
  #:use-module (gnu packages texinfo))

(define %gcc-15.1.0
  ;; sha256 e2b09ec21660f01fecffb715e0120265216943f038d0e48a9868713e54f06cea
  (origin
    (method url-fetch)
    (uri "mirror://gnu/gcc/gcc-15.1.0/gcc-15.1.0.tar.xz")
    (sha256 (base32 "1skcy1a3wwb8k25f9l1qy11nj8b5089f05dpzzn1zw302v19xc72"))))

(define-public musl-cross-heads
  (let ((commit "e5147dde912478dd32ad42a25003e82d4f5733aa")
        (revision "0")
        (target "x86_64-linux-musl"))
    (package
      (inherit musl-cross)
      (name "musl-cross-heads")
      (version (git-version "0" revision commit))
      (source
       (origin
         (method url-fetch)
         ;; The same GitHub archive tarball Heads downloads and checks.
         (uri (string-append "https://github.com/richfelker/musl-cross-make"
                             "/archive/" commit ".tar.gz"))
         (file-name (string-append "musl-cross-make-" commit ".tar.gz"))
         (sha256
          (base32 "03qbks3j9dl3van6cbphqy5kviyiqxsy9sjp63skahsgixy23br4"))))
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
                ;; Sources come from Guix origins (hash-pinned), unpacked to
                ;; the NAME.orig trees musl-cross-make would extract itself.
                (define (unpack-to dir tarball)
                  (mkdir dir)
                  (invoke "tar" "-xf" tarball "-C" dir "--strip-components=1"))
                (unpack-to "gcc-15.1.0.orig" #$%gcc-15.1.0)
                (unpack-to "binutils-2.44.orig" #$(package-source binutils))
                (unpack-to "musl-1.2.5.orig" #$(package-source musl))
                (mkdir "tarballs")
                (copy-file (car (find-files #$(this-package-native-input
                                               "automake")
                                            "^config\\.sub$"))
                           "tarballs/config.sub")
                (call-with-output-file "config.mak"
                  (lambda (port)
                    (format port "TARGET = ~a~%OUTPUT = ~a~%" #$target #$output)
                    ;; Heads' config for this commit.
                    (display "BINUTILS_VER = 2.44\nGCC_VER = 15.1.0\n\
MUSL_VER = 1.2.5\nSOURCES = tarballs\n\
GMP_VER =\nMPC_VER =\nMPFR_VER =\nISL_VER =\nLINUX_VER =\n\
COMMON_CONFIG += CFLAGS=\"-g0 -Os\" CXXFLAGS=\"-g0 -Os\" LDFLAGS=\"-s\"\n\
COMMON_CONFIG += --with-debug-prefix-map=$(CURDIR)=\n\
GCC_CONFIG += --enable-languages=c\n" port)))))
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
       (list automake bash-minimal gmp mpfr mpc perl texinfo xz zstd))
      (synopsis "Musl cross toolchain (GCC 15.1.0) as built by Heads")
      (description
       "This package provides the @code{x86_64-linux-musl} cross toolchain
(binutils 2.44, GCC 15.1.0 for C, musl 1.2.5) that Heads builds from
musl-cross-make commit e5147dd, so that Heads can use it instead of building
it.")
      (home-page "https://github.com/richfelker/musl-cross-make"))))
