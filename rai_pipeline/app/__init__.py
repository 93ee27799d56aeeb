"""Application services behind the CLI."""
