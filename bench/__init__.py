"""Benchmarks of the issues' performance targets; run with `python -m bench` (see README.md)."""
