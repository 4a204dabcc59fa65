;; Stand-in for guix/manifest.scm when it is missing: a few stock packages, used only to
;; compute a derivation offline (guix pack -d), never built here.
(specifications->manifest '("bash" "coreutils" "make" "gcc-toolchain"))
