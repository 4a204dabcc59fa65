;;; fwenv test scaffolding: real `guix pack` runs with no network (see README.md here).
;;;
;;; Stock Guix cannot build anything offline: every build path starts with a download
;;; (bootstrap binaries, source tarballs).  This module seeds the store from the builder
;;; image's OWN binaries instead, so that the real `guix pack` code and a real guix-daemon
;;; can build a real pack:
;;;
;;;   seed            a local-file added to the store: static busybox, Debian's guile 3.0
;;;                   (+ its modules, guile-json, guile-gcrypt), tar, xz, gzip, their shared
;;;                   libraries and ld.so, and the gconv modules.
;;;   seed-env        built from the seed with a raw (busybox sh) builder: bin/sh plus wrapper
;;;                   scripts that run guile/tar/xz/gzip through the seed's ld.so (the build
;;;                   chroot has no /lib64) with GCONV_PATH set (guile aborts without it);
;;;                   see restore-env.scm and tar-wrapper.sh for the two other fixes.
;;;   hello-offline   the package the test packs: a static busybox and a `hello` script.
;;;
;;; `install-seed!` (called by the test manifest) points what `guix pack --bootstrap` uses
;;; (the bootstrap guile and coreutils&co, guile-json, guile-gcrypt, the default guile-3.0
;;; and the Guile that runs build scripts) at seed-env.  Nothing here is used by the product code.

(define-module (fwenv offline)
  #:use-module (guix packages)
  #:use-module (guix gexp)
  #:use-module (guix store)
  #:use-module (guix monads)
  #:use-module (guix derivations)
  #:use-module (guix build-system)
  #:use-module ((guix build utils) #:select (mkdir-p copy-recursively))
  #:use-module ((guix licenses) #:prefix license:)
  #:use-module (ice-9 match)
  #:use-module (ice-9 popen)
  #:use-module (ice-9 rdelim)
  #:use-module (srfi srfi-1)
  #:export (seed seed-env seed-guile-json seed-guile-gcrypt hello-offline install-seed!))

(define %multiarch "/usr/lib/x86_64-linux-gnu")
(define %programs                       ; program in the image -> name in the seed
  '(("/usr/bin/guile-3.0" . "guile") ("/usr/bin/tar" . "tar")
    ("/usr/bin/xz" . "xz") ("/usr/bin/gzip" . "gzip")))
(define %dlopened '("libgcrypt.so.20" "libgpg-error.so.0")) ; guile-gcrypt dlopens these

(define (ldd file)
  "The shared libraries FILE needs (absolute paths), from ldd."
  (let* ((port (open-pipe* OPEN_READ "ldd" file))
         (libs (let loop ((acc '()))
                 (match (read-line port)
                   ((? eof-object?) acc)
                   (line
                    (loop (match (filter (lambda (w) (string-prefix? "/" w))
                                         (string-tokenize line))
                            ((path . _) (cons path acc))
                            (() acc))))))))
    (close-pipe port)
    libs))

(define (copy-lib file lib-dir)
  (let ((target (string-append lib-dir "/" (basename file))))
    (unless (file-exists? target)
      (copy-file (canonicalize-path file) target))))

(define (make-seed-directory)
  "Copy the builder image's binaries into a fresh directory; return its name."
  (let* ((dir  (mkdtemp (string-copy "/tmp/fwenv-seed-XXXXXX")))
         (bin  (string-append dir "/bin"))
         (lib  (string-append dir "/lib"))
         (site (string-append dir "/share/guile/site/3.0"))
         (ccache (string-append dir "/lib/guile/3.0/site-ccache")))
    (for-each mkdir-p (list bin lib site ccache))
    (copy-file (canonicalize-path "/bin/busybox") (string-append bin "/busybox"))
    (for-each (match-lambda
                ((file . name)
                 (copy-file (canonicalize-path file) (string-append bin "/" name))
                 (for-each (lambda (l) (copy-lib l lib)) (ldd file))))
              %programs)
    (for-each (lambda (l) (copy-lib (string-append %multiarch "/" l) lib)) %dlopened)
    (symlink "libgcrypt.so.20" (string-append lib "/libgcrypt.so"))
    (for-each (lambda (f)
                (copy-file (search-path %load-path (string-append "fwenv/" f))
                           (string-append dir "/" f)))
              '("restore-env.scm" "tar-wrapper.sh"))
    (copy-recursively "/usr/share/guile/3.0" (string-append dir "/share/guile/3.0")
                      #:log (%make-void-port "w"))
    (copy-recursively (string-append %multiarch "/guile/3.0/ccache")
                      (string-append dir "/lib/guile/3.0/ccache")
                      #:log (%make-void-port "w"))
    (copy-recursively (string-append %multiarch "/gconv") (string-append lib "/gconv")
                      #:log (%make-void-port "w"))
    (for-each (lambda (name)
                (copy-recursively (string-append "/usr/share/guile/site/3.0/" name)
                                  (string-append site "/" name) #:log (%make-void-port "w"))
                (when (file-exists? (string-append "/usr/share/guile/site/3.0/" name ".scm"))
                  (copy-file (string-append "/usr/share/guile/site/3.0/" name ".scm")
                             (string-append site "/" name ".scm")))
                (copy-recursively (string-append %multiarch "/guile/3.0/site-ccache/" name)
                                  (string-append ccache "/" name) #:log (%make-void-port "w"))
                (when (file-exists? (string-append %multiarch "/guile/3.0/site-ccache/"
                                                   name ".go"))
                  (copy-file (string-append %multiarch "/guile/3.0/site-ccache/" name ".go")
                             (string-append ccache "/" name ".go"))))
              '("json" "gcrypt"))
    dir))

(define seed
  ;; Content-addressed: the same image gives the same store item in any container.
  (local-file (make-seed-directory) "fwenv-offline-seed" #:recursive? #t))

;;; A raw build system: the builder is the seed's static busybox running `sh -c SCRIPT`.

(define* (busybox-build name inputs #:key system script #:allow-other-keys)
  (mlet* %store-monad ((seed-dir (lower-object seed system))
                       (lowered (mapm %store-monad
                                      (match-lambda
                                        ((label obj . _)
                                         (mlet %store-monad ((x (lower-object obj system)))
                                           (return (cons label x)))))
                                      inputs)))
    (define (store-path x) (if (derivation? x) (derivation->output-path x) x))
    (raw-derivation name (string-append seed-dir "/bin/busybox")
                    (list "sh" "-ec"
                          (script seed-dir (map (match-lambda
                                                  ((label . x) (cons label (store-path x))))
                                                lowered)))
                    #:system system
                    #:inputs (filter-map (match-lambda
                                           ((_ . (? derivation? d)) (derivation-input d))
                                           (_ #f))
                                         lowered)
                    #:sources (cons seed-dir (filter string? (map cdr lowered))))))

(define* (lower-busybox name #:key source inputs native-inputs outputs system target script)
  (bag
    (name name)
    (system system)
    (build-inputs (append native-inputs inputs))
    (build busybox-build)
    (arguments (list #:script script))))

(define busybox-build-system
  (build-system
    (name 'fwenv-busybox)
    (description "Run a shell script with the seed's static busybox")
    (lower lower-busybox)))

(define (seed-package name script)
  (package
    (name name)
    (version "0")
    (source #f)
    (build-system busybox-build-system)
    (arguments (list #:script script))
    (home-page "https://example.invalid/fwenv")
    (synopsis "fwenv offline test seed")
    (description "Test scaffolding built from the builder image's binaries.")
    (license license:gpl3+)))

(define (wrapper seed-dir program)
  ;; A script that runs a seed program through the seed's ld.so.  For guile it first saves
  ;; its environ (see restore-env.scm) and has guile load restore-env.scm before anything.
  (define guile? (string=? program "guile"))
  (string-append
   "printf '%s\\n' '#!'\"$out\"'/bin/sh' "
   "'export GCONV_PATH=" seed-dir "/lib/gconv' "
   "'export GUILE_SYSTEM_PATH=" seed-dir "/share/guile/3.0' "
   "'export GUILE_SYSTEM_COMPILED_PATH=" seed-dir "/lib/guile/3.0/ccache' "
   (if guile?
       (string-append
        "'FWENV_SAVED_ENVIRON=\"${TMPDIR:-/tmp}/.fwenv-environ-$$\"' "
        "'" seed-dir "/bin/busybox cp /proc/$$/environ \"$FWENV_SAVED_ENVIRON\"' "
        "'export FWENV_SAVED_ENVIRON' ")
       "")
   "'exec " seed-dir "/lib/ld-linux-x86-64.so.2 --library-path " seed-dir "/lib "
   seed-dir "/bin/" program
   (if guile? (string-append " -l " seed-dir "/restore-env.scm") "")
   " \"$@\"' > \"$out/bin/" program "\"\n"
   seed-dir "/bin/busybox chmod 555 \"$out/bin/" program "\"\n"))

(define seed-env
  (seed-package "fwenv-seed-env"
                (lambda (seed-dir inputs)
                  (string-append
                   seed-dir "/bin/busybox mkdir -p \"$out/bin\"\n"
                   seed-dir "/bin/busybox ln -s " seed-dir "/bin/busybox \"$out/bin/sh\"\n"
                   (string-concatenate
                    (map (lambda (p) (wrapper seed-dir p)) '("guile" "xz" "gzip")))
                   "printf '%s\\n' '#!'\"$out\"'/bin/sh' 'SEED=" seed-dir "' "
                   "'export SEED' 'exec \"$SEED/bin/busybox\" sh \"$SEED/tar-wrapper.sh\" \"$@\"'"
                   " > \"$out/bin/tar\"\n"
                   seed-dir "/bin/busybox chmod 555 \"$out/bin/tar\"\n"))))

(define* (guile-extension name module #:optional (fixup ""))
  ;; MODULE's files in the layout `with-extensions` expects: share/guile/site/3.0 and
  ;; lib/guile/3.0/site-ccache.
  (seed-package name
                (lambda (seed-dir inputs)
                  (let ((bb (string-append seed-dir "/bin/busybox "))
                        (site (string-append seed-dir "/share/guile/site/3.0/" module))
                        (ccache (string-append seed-dir "/lib/guile/3.0/site-ccache/" module)))
                    (string-append
                     "s=\"$out/share/guile/site/3.0\" c=\"$out/lib/guile/3.0/site-ccache\"\n"
                     bb "mkdir -p \"$s\" \"$c\"\n"
                     bb "cp -r " site " \"$s/\"\n"
                     bb "cp -r " ccache " \"$c/\"\n"
                     "if [ -e " site ".scm ]; then " bb "cp " site ".scm " ccache ".go \"$s/\"; fi\n"
                     "if [ -e \"$s/" module ".go\" ]; then " bb "mv \"$s/" module ".go\" \"$c/\"; fi\n"
                     bb "chmod -R u+w \"$out\"\n"
                     (string-join (map (lambda (line) (string-append bb line))
                                       (string-split fixup #\newline))
                                  "\n" 'suffix))))))

(define seed-guile-json
  ;; Debian's guile-json 4.7 writes #nil (what (guix docker) puts in container_config) as
  ;; `false`, which `docker load` rejects; write it as `null` (and drop the stale .go).
  (guile-extension
   "fwenv-seed-guile-json" "json"
   (string-append
    "sed -i 's/((eq? scm null) (json-build-null port))/((or (eq? scm null) (eq? scm #nil)) "
    "(json-build-null port))/' \"$out/share/guile/site/3.0/json/builder.scm\"\n"
    "rm \"$out/lib/guile/3.0/site-ccache/json/builder.go\"")))

(define seed-guile-gcrypt (guile-extension "fwenv-seed-guile-gcrypt" "gcrypt"))

(define hello-offline
  ;; What the test pack holds: no reference to the seed, ~1 MB compressed.
  (seed-package "hello-offline"
                (lambda (seed-dir inputs)
                  (let ((bb (string-append seed-dir "/bin/busybox ")))
                    (string-append
                     bb "mkdir -p \"$out/bin\"\n"
                     bb "cp " seed-dir "/bin/busybox \"$out/bin/busybox\"\n"
                     bb "ln -s busybox \"$out/bin/sh\"\n"
                     bb "ln -s busybox \"$out/bin/env\"\n"
                     "printf '%s\\n' '#!'\"$out\"'/bin/sh' "
                     "'echo \"Hello from an offline Guix pack\"' > \"$out/bin/hello\"\n"
                     bb "chmod 555 \"$out/bin/hello\"\n")))))

(define (install-seed!)
  "Point what `guix pack --bootstrap` builds with at seed-env (see the commentary)."
  (module-set! (resolve-module '(gnu packages bootstrap)) '%bootstrap-guile seed-env)
  (module-set! (resolve-module '(gnu packages bootstrap)) '%bootstrap-coreutils&co seed-env)
  (module-set! (resolve-module '(gnu packages guile)) 'guile-json-3 seed-guile-json)
  ;; `-f docker` lowers (guix config) with (default-guile), i.e. guile-3.0.
  (module-set! (resolve-module '(gnu packages guile)) 'guile-3.0 seed-env)
  (module-set! (resolve-module '(gnu packages gnupg)) 'guile-gcrypt seed-guile-gcrypt)
  ;; `guix pack` computed the Guile for build scripts before loading the manifest.
  (%guile-for-build (with-store store (package-derivation store seed-env))))
