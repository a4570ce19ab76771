"""Rampart's platform library: what every service needs and nothing service-specific."""
