"""The placement confirmation page (to be written)."""
