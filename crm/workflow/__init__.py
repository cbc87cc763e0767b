"""The workflow engine: definitions from YAML, pure decisions, and the firing service."""
