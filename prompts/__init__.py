"""ted.prompts."""
