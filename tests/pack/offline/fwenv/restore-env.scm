(use-modules (rnrs io ports) (rnrs bytevectors))
;; Loaded first by the seed's guile wrapper (see offline.scm): busybox sh drops environment
;; variables whose names are not shell names (Guix's compile-modules builder passes
;; "module count" and "optimization level"), so the wrapper saved its original environ
;; to a file before exec; put those variables back.
(let ((saved (getenv "FWENV_SAVED_ENVIRON")))
  (when saved
    (let* ((port (open-input-file saved #:binary #t))
           (text (utf8->string (get-bytevector-all port))))
      (close-port port)
      (for-each (lambda (entry)
                  (let ((i (string-index entry #\=)))
                    (when (and i (not (getenv (substring entry 0 i))))
                      (setenv (substring entry 0 i) (substring entry (1+ i))))))
                (string-split text #\nul))
      (delete-file saved)
      (unsetenv "FWENV_SAVED_ENVIRON"))))
