"""One module per CLI command (see `core.cli`)."""
