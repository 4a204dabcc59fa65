"""fwenv.env."""
