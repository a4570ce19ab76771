"""Fixtures of the approvals tests."""

from services.approvals.tests._harness import rampart

__all__ = ["rampart"]
