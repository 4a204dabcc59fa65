;; Print, as one JSON object, what Guix itself says about packages of guix/modules:
;;   guix repl -L guix/modules -- package-facts.scm MODULE:VARIABLE ...
;; e.g. ada:gnat coreboot:coreboot-gcc-i386-elf.  For each: name, version,
;; source (method, url/commit or uri, nix-base32 sha256, patch names),
;; native input labels, the derivation's file name, the text of its builder
;; script (where the build phases end up), and the names of its input
;; derivations and sources.  Computing the derivation needs no network.
(use-modules (guix packages) (guix store) (guix derivations) (guix git-download)
             (guix base32) (guix utils) (guix monads) (ice-9 match)
             (ice-9 textual-ports) (srfi srfi-1) (srfi srfi-26) (json))

(define (basename* file)
  ;; Store file name without /gnu/store/HASH-.
  (let ((base (basename file)))
    (if (string-prefix? (%store-prefix) file)
        (substring base 33)
        base)))

(define (patch-name patch)
  (cond ((string? patch) (basename patch))
        ((origin? patch)
         (let ((uri (origin-uri patch)))
           (basename (if (list? uri) (car uri) uri))))
        (else (object->string patch))))

(define (source-facts source)
  (if (origin? source)
      (let ((uri (origin-uri source))
            (hash (origin-hash source)))
        `(("method" . ,(cond ((eq? (origin-method source) git-fetch) "git-fetch")
                             ((eq? (origin-method source) (@ (guix download) url-fetch))
                              "url-fetch")
                             (else "other")))
          ,@(if (git-reference? uri)
                `(("url" . ,(git-reference-url uri))
                  ("commit" . ,(git-reference-commit uri)))
                `(("uri" . ,(if (list? uri) (car uri) uri))))
          ("sha256" . ,(bytevector->nix-base32-string (content-hash-value hash)))
          ("patches" . ,(list->vector (map patch-name (origin-patches source))))
          ;; Patches that are origins themselves (fetched, pinned by hash).
          ("patch-hashes"
           . ,(filter-map (lambda (patch)
                            (and (origin? patch)
                                 (cons (patch-name patch)
                                       (bytevector->nix-base32-string
                                        (content-hash-value
                                         (origin-hash patch))))))
                          (origin-patches source)))))
      '()))

(define (builder-text drv)
  ;; gexp builders are a -builder file in the store, the last argument.
  (let ((script (find (cut string-suffix? "-builder" <>)
                      (derivation-builder-arguments drv))))
    (if script (call-with-input-file script get-string-all) "")))

(define (facts store spec)
  (match (string-split spec #\:)
    ((module variable)
     (let* ((pkg (module-ref (resolve-interface
                              `(fwenv packages ,(string->symbol module)))
                             (string->symbol variable)))
            (drv (package-derivation store pkg)))
       (cons spec
             `(("name" . ,(package-name pkg))
               ("version" . ,(package-version pkg))
               ("source" . ,(source-facts (package-source pkg)))
               ("native-inputs" . ,(list->vector
                                    (map car (package-native-inputs pkg))))
               ("derivation" . ,(basename* (derivation-file-name drv)))
               ("builder" . ,(builder-text drv))
               ("input-derivations"
                . ,(list->vector
                    (map (compose basename* derivation-input-path)
                         (derivation-inputs drv))))
               ("sources" . ,(list->vector
                              (map basename* (derivation-sources drv))))))))))

(match (command-line)
  ((_ specs ...)
   (with-store store
     (scm->json (map (cut facts store <>) specs))
     (newline))))
