"""Rampart's built-in connectors, found through the rampart.connectors entry points."""
