;; Run with `guix repl -- seed.scm DIR COMMIT...` as the client user: add DIR (a stand-in for
;; the pinned Guix's profile) to the store and make it time-machine's cache entry for COMMIT...,
;; computed as Guix's cached-channel-instance computes it (guix/inferior.scm). Prints the
;; profile's store path.
(use-modules (guix store) (guix base32) (gcrypt hash) (guix inferior) (guix build utils)
             (rnrs bytevectors))

(let* ((args (cdr (command-line)))
       (profile (with-store store
                  (add-to-store store "guix-stand-in" #t "sha256" (car args))))
       (key (bytevector->base32-string
             (sha256 (string->utf8 (string-concatenate (cdr args))))))
       (cache (%inferior-cache-directory)))
  (mkdir-p cache)
  (symlink profile (string-append cache "/" key))
  (display profile)
  (newline))
