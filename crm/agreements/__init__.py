"""Agreements: generated, versioned PDF documents signed by every party, with evidence."""
