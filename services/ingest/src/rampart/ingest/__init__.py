"""Rampart's ingest service."""
