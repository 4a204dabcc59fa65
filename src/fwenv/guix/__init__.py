"""fwenv.guix."""
