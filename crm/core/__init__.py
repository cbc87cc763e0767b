"""Cross-cutting parts: security headers, error pages, pagination, formatting, CLI wiring."""
