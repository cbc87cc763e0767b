"""Action links: single-purpose, expiring, revocable links e-mailed to employers and learners."""
