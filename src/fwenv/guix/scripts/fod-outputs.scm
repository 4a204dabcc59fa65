;;; Run as the client user in the builder by fwenv.guix.bundle: print the derivations in the
;;; closure of the given .drv files (args) that are fixed-output (downloads: sources), one
;;; line each, "DRV OUTPUT", so their outputs go into the bundle with the derivations.
(use-modules (guix store) (guix derivations) (ice-9 match))

(with-store store
  (for-each (lambda (file)
              (when (string-suffix? ".drv" file)
                (let ((drv (read-derivation-from-file file)))
                  (when (fixed-output-derivation? drv)
                    (for-each (match-lambda
                                ((_ . out)
                                 (format #t "~a ~a~%" file (derivation-output-path out))))
                              (derivation-outputs drv))))))
            (requisites store (cdr (command-line)))))
