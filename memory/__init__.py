"""ted.memory."""
