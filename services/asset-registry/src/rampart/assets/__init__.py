"""Rampart's asset-registry service."""
