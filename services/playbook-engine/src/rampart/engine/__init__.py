"""Rampart's playbook-engine service."""
