"""Publishing what reproduces: preflight, reproduce, artifacts, smoke, publish, attest, check
(release.verify), sign, verify, sbom; options resolved once in options. Uses the steps before it."""
