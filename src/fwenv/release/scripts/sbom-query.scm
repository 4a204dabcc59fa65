;; Every package of a manifest, with version, licenses, source hash, outputs and derivation,
;; as JSON: run with
;; `guix repl -- sbom-query.scm MANIFEST` in a builder by fwenv.release.artifacts.
(use-modules (guix) (guix profiles) (guix packages) (guix licenses) (guix base16)
             (guix base32) (guix ui) (gnu) (srfi srfi-1) (json))

(define (uri->string u)
  (cond ((string? u) u)
        ((and (pair? u) (string? (car u))) (car u))
        ((git-reference? u)
         (let ((c (git-reference-commit u)))
           (string-append (git-reference-url u) "@" (if (string? c) c ""))))
        (else "")))

(define (licenses p)
  (let ((l (package-license p)))
    (map (lambda (x) (if (license? x) (license-name x) (format #f "~a" x)))
         (cond ((list? l) l) ((not l) '()) (else (list l))))))

(define (source-info p)
  (let ((s (package-source p)))
    (if (and (origin? s) (origin-hash s))
        (let ((h (origin-hash s)))
          `(("kind" . "origin")
            ("uri" . ,(uri->string (origin-uri s)))
            ("algorithm" . ,(symbol->string (content-hash-algorithm h)))
            ("hex" . ,(bytevector->base16-string (content-hash-value h)))
            ("nix-base32" . ,(bytevector->nix-base32-string (content-hash-value h)))))
        `(("kind" . ,(cond ((not s) "none") ((origin? s) "origin-without-hash")
                           (else "local")))))))

(define manifest
  (load* (cadr (command-line)) (make-user-module '((guix profiles) (gnu)))))
(define roots (filter package? (map manifest-entry-item (manifest-entries manifest))))

(with-store store
  (scm->json
   (list->vector
    (map (lambda (p)
           `(("name" . ,(package-name p))
             ("version" . ,(package-version p))
             ("licenses" . ,(list->vector (licenses p)))
             ("home-page" . ,(or (package-home-page p) ""))
             ("root" . ,(if (memq p roots) #t #f))
             ("outputs" . ,(list->vector
                            (map cdr (derivation->output-paths
                                      (package-derivation store p)))))
             ("output-names" . ,(list->vector
                                 (map car (derivation->output-paths
                                           (package-derivation store p)))))
             ("derivation" . ,(derivation-file-name (package-derivation store p)))
             ("source" . ,(source-info p))))
         (package-closure roots)))
   (current-output-port)))
(newline)
