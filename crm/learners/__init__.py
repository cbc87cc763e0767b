"""Programmes, their cohorts and learning outcomes, and learners."""
