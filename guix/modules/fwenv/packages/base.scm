;;; fwenv — the shape of the firmware build image: users, groups, directories.
;;; SPDX-License-Identifier: GPL-3.0-or-later
(define-module (fwenv packages base)
  #:use-module (guix packages)
  #:use-module (guix gexp)
  #:use-module (guix build-system trivial)
  #:use-module ((guix licenses) #:prefix license:))

;; uid/gid 1000 is what coreboot's coreboot-sdk image uses for its `coreboot`
;; user, so ROMs and build trees created in either image have the same owner.
(define %passwd
  "root:x:0:0:root:/root:/bin/sh
coreboot:x:1000:1000:coreboot build user:/home/coreboot:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
")

(define %group
  "root:x:0:
coreboot:x:1000:
nogroup:x:65534:
")

(define-public fwenv-base
  (package
    (name "fwenv-base")
    (version "1")
    (source #f)
    (build-system trivial-build-system)
    (arguments
     (list
      #:modules '((guix build utils))
      #:builder
      #~(begin
          (use-modules (guix build utils))
          (let ((etc (string-append #$output "/etc")))
            (mkdir-p etc)
            (call-with-output-file (string-append etc "/passwd")
              (lambda (port) (display #$%passwd port)))
            (call-with-output-file (string-append etc "/group")
              (lambda (port) (display #$%group port)))
            ;; Files and DNS only; the image runs with --network=none anyway.
            (call-with-output-file (string-append etc "/nsswitch.conf")
              (lambda (port)
                (display "passwd: files\ngroup: files\nhosts: files dns\n" port)))
            ;; A skeleton home, copied or mounted writable by whoever runs the
            ;; image: the store itself is read-only.
            (mkdir-p (string-append #$output "/home/coreboot"))
            (call-with-output-file
                (string-append #$output "/home/coreboot/.gitconfig")
              (lambda (port)
                ;; Build trees are bind-mounted and owned by another uid.
                (display "[safe]\n\tdirectory = *\n" port)))))))
    (home-page "https://www.coreboot.org/")
    (synopsis "Users, groups and home skeleton of the fwenv build image")
    (description
     "This package provides @file{/etc/passwd}, @file{/etc/group} and
@file{/etc/nsswitch.conf} with a @code{coreboot} user (uid 1000), plus a home
skeleton, for the container image that builds coreboot and Heads firmware.")
    (license license:gpl3+)))
