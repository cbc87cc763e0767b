"""contacts area."""
