"""activities area."""
