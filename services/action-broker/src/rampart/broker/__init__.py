"""Rampart's action-broker service."""
