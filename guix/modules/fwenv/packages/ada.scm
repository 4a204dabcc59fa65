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
;;;
;;; The seed is built for a conventional distribution: its programs ask for
;;; /lib64/ld-linux-x86-64.so.2 and its gcc links with its own `ld'.  In a Guix
;;; build neither works, so, as nixpkgs does with its cc-wrapper around the
;;; binary GNAT: its ELF files get Guix's loader and a RUNPATH, its `ld' is
;;; removed (the compiler then finds Guix's ld-wrapper on PATH, which adds a
;;; RUNPATH for every store library linked, e.g. gmp/mpfr/mpc for stage 1's
;;; cc1 and gnat1), and its compiler drivers are wrapped so that the programs
;;; they link get Guix's loader too (configure's "can run C programs" test).
(define-module (fwenv packages ada)
  #:use-module (guix packages)
  #:use-module (guix download)
  #:use-module (guix gexp)
  #:use-module (guix utils)
  #:use-module (guix build-system gnu)
  #:use-module ((guix licenses) #:prefix license:)
  #:use-module (gnu packages base)
  #:use-module (gnu packages bash)
  #:use-module (gnu packages bootstrap)
  #:use-module (gnu packages elf)
  #:use-module (fwenv packages gcc)
  #:use-module (srfi srfi-1))

;; Compiler drivers of the seed that link programs: wrapped.
(define %seed-drivers '("gcc" "g++" "c++" "x86_64-pc-linux-gnu-gcc"
                        "x86_64-pc-linux-gnu-g++" "x86_64-pc-linux-gnu-c++"))

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
      #:modules '((guix build gnu-build-system)
                  (guix build utils)
                  (guix build gremlin)
                  (guix elf)
                  (ice-9 binary-ports)
                  (srfi srfi-1))
      #:phases
      #~(modify-phases %standard-phases
          (delete 'configure)
          (delete 'build)
          (replace 'install
            (lambda _ (copy-recursively "." #$output)))
          (add-after 'install 'make-writable
            ;; The release tarball has read-only files and directories.
            (lambda _
              (for-each make-file-writable
                        (find-files #$output
                                    (lambda (file stat)
                                      (memq (stat:type stat)
                                            '(regular directory)))
                                    #:directories? #t))))
          (add-after 'make-writable 'remove-ld
            ;; Without its own ld the seed's gcc finds Guix's ld-wrapper.
            (lambda _
              (for-each delete-file
                        (find-files #$output "^(.*-)?ld(\\.bfd|\\.gold)?$"))))
          (add-after 'remove-ld 'patch-elf
            ;; Dynamic executables get Guix's glibc loader; every dynamic ELF
            ;; file a RUNPATH into glibc and the seed's own libraries.  Static
            ;; executables, relocatable objects and non-ELF files are left as
            ;; they are (patchelf fails on them).
            (lambda* (#:key inputs #:allow-other-keys)
              (let ((ld.so (search-input-file inputs #$(glibc-dynamic-linker)))
                    (rpath (string-join
                            (list (dirname (search-input-file
                                            inputs "lib/libc.so.6"))
                                  (string-append #$output "/lib64")
                                  (string-append #$output "/lib"))
                            ":")))
                (define (dynamic-elf file)
                  (and (elf-file? file)
                       (false-if-exception
                        (let ((elf (parse-elf
                                    (call-with-input-file file
                                      get-bytevector-all #:binary #t))))
                          (and (elf-dynamic-info elf) elf)))))
                (define (interpreter? elf)
                  (any (lambda (segment)
                         (= (elf-segment-type segment) PT_INTERP))
                       (elf-segments elf)))
                (for-each
                 (lambda (file)
                   (let ((elf (dynamic-elf file)))
                     (when elf
                       (when (interpreter? elf)
                         (invoke "patchelf" "--set-interpreter" ld.so file))
                       (invoke "patchelf" "--set-rpath" rpath file))))
                 (find-files #$output
                             (lambda (file stat)
                               (eq? 'regular (stat:type stat))))))))
          (add-after 'patch-elf 'wrap-drivers
            ;; bin/gcc becomes a script that runs the real driver (kept as
            ;; bin/.gcc-real, so that it still finds cc1/gnat1 relative to
            ;; bin/) with Guix's loader and RUNPATH for what it links.
            (lambda* (#:key inputs #:allow-other-keys)
              (let ((bash (search-input-file inputs "bin/bash"))
                    (ld.so (search-input-file inputs #$(glibc-dynamic-linker)))
                    (libc (dirname (search-input-file inputs
                                                      "lib/libc.so.6"))))
                (for-each
                 (lambda (name)
                   (let* ((wrapper (string-append #$output "/bin/" name))
                          (real (string-append #$output "/bin/." name
                                               "-real")))
                     (when (file-exists? wrapper)
                       (rename-file wrapper real)
                       (call-with-output-file wrapper
                         (lambda (port)
                           (format port "#!~a
exec -a \"$0\" ~a \"$@\" -Wl,-dynamic-linker,~a -Wl,-rpath,~a \
-Wl,-rpath,~a/lib64~%"
                                   bash real ld.so libc #$output)))
                       (chmod wrapper #o555))))
                 '#$%seed-drivers)))))))
    (native-inputs (list patchelf))
    (inputs (list bash-minimal))
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
              ;; Stage 1 is compiled by the (wrapped) seed compiler, the only
              ;; one with Ada; stages 2 and 3 by the stage-1 compiler.  The
              ;; seed's bin/ comes first on PATH: Guix's gcc-14 recipe has
              ;; already set CC to a script that runs the `gcc' on PATH (see
              ;; its relax-gcc-14s-strictness phase), and the seed's gnatlink
              ;; and gnatmake find their gcc there too.  The seed has no `ld',
              ;; so links still go through Guix's ld-wrapper.
              (lambda _
                (let ((seed #$(this-package-native-input "gnat-bootstrap")))
                  (setenv "PATH" (string-append seed "/bin:" (getenv "PATH")))
                  (when (file-exists? (string-append seed "/bin/g++"))
                    (setenv "CXX" (string-append seed "/bin/g++")))
                  (setenv "GNATBIND" (string-append seed "/bin/gnatbind"))
                  (setenv "GNATMAKE"
                          (string-append seed "/bin/gnatmake")))))))))
    (native-inputs
     (modify-inputs (package-native-inputs gcc-14.2)
       (prepend gnat-bootstrap)))
    (properties (alist-delete 'hidden? (package-properties gcc-14.2)))
    (synopsis "GNU Ada compiler (GNAT) 14.2.0, built from source")
    (description
     "GNAT is the GNU Ada compiler, part of GCC.  This build of GCC 14.2.0
provides C and Ada.  coreboot's libgfxinit (native Intel graphics init, used
by Heads' Intel laptop boards) is written in Ada and needs it.")))
