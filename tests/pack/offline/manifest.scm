;; Test manifest for the offline real-pack test: see fwenv/offline.scm.
(use-modules (fwenv offline))
(install-seed!)
(packages->manifest (list hello-offline))
