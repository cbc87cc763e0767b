"""Learners' work placements at employers, on the placement workflow."""
