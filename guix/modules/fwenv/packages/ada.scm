;;; fwenv — GNAT (Ada) for coreboot's libgfxinit: a hash-pinned binary seed,
;;; then GCC 14.2.0 with Ada built from source by that seed.
;;; SPDX-License-Identifier: GPL-3.0-or-later
;;;
;;; Guix 1.5.0 has no GNAT.  GCC's Ada front end is written in Ada, so a first
;;; GNAT must come from somewhere; like nixpkgs' `gnatboot' and Gentoo's Ada
;;; overlay we take the FSF GNAT 14.2.0 build published by the Alire project
;;; (GNAT-FSF-builds release gnat-14.2.0-1), pinned by the sha256 that Alire's
;;; own index records for it (alire-project/alire-index,
;;; index/gn/gnat_native/gnat_native-14.2.1.toml):
;;;   06bb3def7f70371d601a5c8b93bc4933c50873a5e5ba26aa7ee3447dda687722
;;; The seed is only a build input: the `gnat' package installed in the image
;;; is compiled from the GCC 14.2.0 source coreboot's crossgcc also uses.
(define-module (fwenv packages ada)
  #:use-module (guix packages)
  #:use-module (guix download)
  #:use-module (guix gexp)
  #:use-module (guix utils)
  #:use-module (guix build-system gnu)
  #:use-module ((guix licenses) #:prefix license:)
  #:use-module (gnu packages base)
  #:use-module (gnu packages bootstrap)
  #:use-module (gnu packages elf)
  #:use-module (gnu packages gcc)
  #:use-module (fwenv packages coreboot)
  #:use-module (srfi srfi-1))

(define-public gnat-bootstrap
  (package
    (name "gnat-bootstrap")
    (version "14.2.0-1")
    (source
     (origin
       (method url-fetch)
       (uri (string-append "https://github.com/alire-project/GNAT-FSF-builds"
                           "/releases/download/gnat-" version
                           "/gnat-x86_64-linux-" version ".tar.gz"))
       (sha256
        (base32 "08kpd3d7si73gsm2dfp5lmrhii9k96y972sw39h1sdvhgzpkvfq6"))))
    (build-system gnu-build-system)
    (arguments
     (list
      #:tests? #f
      #:strip-binaries? #f
      #:validate-runpath? #f
      #:phases
      #~(modify-phases %standard-phases
          (delete 'configure)
          (delete 'build)
          (replace 'install
            (lambda _ (copy-recursively "." #$output)))
          (add-after 'install 'patch-elf
            ;; Point every dynamic executable at Guix's glibc loader and give
            ;; it a RUNPATH into glibc and the seed's own libraries.
            (lambda* (#:key inputs #:allow-other-keys)
              (let* ((libc (assoc-ref inputs "libc"))
                     (ld.so (search-input-file inputs #$(glibc-dynamic-linker)))
                     (rpath (string-join
                             (list (string-append libc "/lib")
                                   (string-append #$output "/lib64")
                                   (string-append #$output "/lib"))
                             ":")))
                (for-each
                 (lambda (file)
                   (when (elf-file? file)
                     ;; Shared objects have no interpreter; ignore that error.
                     (false-if-exception
                      (invoke "patchelf" "--set-interpreter" ld.so file))
                     (invoke "patchelf" "--set-rpath" rpath file)))
                 (append (find-files (string-append #$output "/bin"))
                         (find-files (string-append #$output "/libexec"))))))))))
    (native-inputs (list patchelf))
    (supported-systems '("x86_64-linux"))
    (home-page "https://github.com/alire-project/GNAT-FSF-builds")
    (synopsis "Binary GNAT 14.2.0 used only to bootstrap GNAT from source")
    (description
     "This package provides the GNAT FSF 14.2.0 binary release of the Alire
project, patched to run on Guix.  It is a bootstrap seed for the @code{gnat}
package and not meant to be installed.")
    (license (list license:gpl3+ license:gpl3+))))  ;GPLv3+ with GCC RLE

(define-public gnat
  ;; GCC 14.2.0 (coreboot 25.09's crossgcc version) with C and Ada.
  (package
    (inherit gcc-14.2)
    (name "gnat")
    (outputs '("out" "lib"))
    (arguments
     (substitute-keyword-arguments (package-arguments gcc-14.2)
       ((#:modules modules %default-gnu-modules)
        `(,@modules (srfi srfi-1) (srfi srfi-26) (ice-9 regex)))
       ((#:configure-flags flags)
        #~(cons "--enable-languages=c,ada"
                (remove (cut string-prefix? "--enable-languages" <>) #$flags)))
       ((#:phases phases)
        #~(modify-phases #$phases
            (add-before 'configure 'use-gnat-seed
              ;; Stage 1 must be compiled by a GNAT-capable gcc: the seed's.
              (lambda* (#:key native-inputs inputs #:allow-other-keys)
                (let ((seed (assoc-ref (or native-inputs inputs)
                                       "gnat-bootstrap")))
                  (setenv "PATH" (string-append seed "/bin:" (getenv "PATH")))
                  (setenv "CC" (string-append seed "/bin/gcc"))
                  (setenv "CXX" (string-append seed "/bin/g++"))
                  (setenv "GNATBIND" (string-append seed "/bin/gnatbind"))
                  (setenv "GNATMAKE" (string-append seed "/bin/gnatmake")))))))))
    (native-inputs
     (modify-inputs (package-native-inputs gcc-14.2)
       (prepend gnat-bootstrap)))
    (properties (alist-delete 'hidden? (package-properties gcc-14.2)))
    (synopsis "GNU Ada compiler (GNAT) 14.2.0, built from source")
    (description
     "GNAT is the GNU Ada compiler, part of GCC.  This build of GCC 14.2.0
provides C and Ada.  coreboot's libgfxinit (native Intel graphics init, used
by Heads' Intel laptop boards) is written in Ada and needs it.")))
