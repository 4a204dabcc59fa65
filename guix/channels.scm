;; The Guix that builds the fwenv environment: GNU Guix v1.5.0, pinned to the
;; release commit.  Used as `guix time-machine -C guix/channels.scm -- pack ...`;
;; the introduction lets time-machine authenticate every commit up to the pin.
;;
;; Commit source: Guix's own gnu/packages/package-management.scm after the
;; release ("guix" package, version "1.5.0", built --with-channel-commit=<this>);
;; see docs/environment.md "The Guix pin" for how it was checked.
;; Refresh with `invoke guix.pin` (never edit the commit by hand).
(list (channel
        (name 'guix)
        (url "https://git.guix.gnu.org/guix.git")
        (branch "master")
        (commit
          "230aa373f315f247852ee07dff34146e9b480aec")
        (introduction
          (make-channel-introduction
            "9edb3f66fd807b096b48283debdcddccfea34bad"
            (openpgp-fingerprint
              "BBB0 2DDF 2CEA F6A8 0D1D  E643 A2A0 6DF2 A33A 54FA")))))
