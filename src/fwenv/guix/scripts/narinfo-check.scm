;;; Run as the client user in the builder by fwenv.guix.substitutes: for each substitute URL
;;; (first argument, space-separated) and the outputs of the derivations given after it, ask
;;; the server for their narinfos with Guix's own client code and check each signature
;;; against the daemon's ACL (/etc/guix/acl).  Prints one line per URL:
;;;   URL found=N authorized=M
(use-modules (guix substitutes) (guix narinfo) (guix pki) (guix derivations)
             (srfi srfi-1) (ice-9 match))

(match (command-line)
  ((_ urls drvs ...)
   (let ((paths (append-map (lambda (drv)
                              (map derivation-output-path
                                   (map cdr (derivation-outputs
                                             (read-derivation-from-file drv)))))
                            drvs))
         (acl (current-acl)))
     (for-each (lambda (url)
                 (let ((found (lookup-narinfos url paths)))
                   (format #t "~a found=~a authorized=~a~%" url (length found)
                           (count (lambda (n) (valid-narinfo? n acl)) found))))
               (string-tokenize urls)))))
