"""The environment image: import a pack (importer), build it end to end (build), a shell in it
(shell), clean up (clean). Uses fwenv.guix and the ground."""
