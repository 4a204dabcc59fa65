;; A really non-reproducible Guix package for the release tests: like the offline test pack's
;; hello-offline (tests/pack/offline), but its build writes the build time (nanoseconds) into
;; the output.  Two builds in fresh stores therefore differ in one file; `invoke release`
;; must notice and stop.  Load path: tests/pack/offline.
(use-modules (guix packages) (fwenv offline))
(install-seed!)

(define clock-offline
  (package
    (inherit hello-offline)
    (name "clock-offline")
    (arguments
     (list #:script
           (lambda (seed-dir inputs)
             (let ((bb (string-append seed-dir "/bin/busybox ")))
               (string-append
                bb "mkdir -p \"$out/bin\"\n"
                bb "date +%s%N > \"$out/bin/build-time\"\n")))))))

(packages->manifest (list clock-offline))
