"""fwenv.release."""
