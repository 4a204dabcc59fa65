;; Print, one per line, the name of every package the manifest (argv[1]) installs.
(use-modules (guix profiles) (guix ui) (ice-9 match))
(match (command-line)
  ((_ manifest-file)
   (let ((manifest (load* manifest-file (make-user-module '((guix profiles) (gnu))))))
     (for-each (lambda (e) (display (manifest-entry-name e)) (newline))
               (manifest-entries manifest)))))
