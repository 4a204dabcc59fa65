;; Read every form of the file given (Guile reports a syntax error as FILE:LINE:COL);
;; run with guile -c by fwenv.guix.pack before packing.
(let ((p (open-input-file (cadr (command-line))))) (let loop () (unless (eof-object? (read p)) (loop))))
