"""The evaluation and learner feedback pages (to be written)."""
