"""ted.graph."""
