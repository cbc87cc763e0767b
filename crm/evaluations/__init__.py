"""Evaluations of placements by employers (ratings per programme skill) and learners."""
