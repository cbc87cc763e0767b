"""Partnerships: the provider's relationship with one organisation, on the partnership workflow."""
