"""The `ted` command."""
