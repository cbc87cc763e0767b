"""Partnership health: a score from 0 to 100 that explains itself, its history and its jobs."""
