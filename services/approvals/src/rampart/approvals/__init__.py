"""Rampart's approvals service."""
