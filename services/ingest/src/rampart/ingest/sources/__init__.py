"""Ingest sources: their settings and secrets, the cached live view, and webhook auth."""
