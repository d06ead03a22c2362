"""ted.sim."""
