"""What authors' own tests import: harnesses that run their code as Rampart would."""

from rampart.sdk.testing._connectors import ConnectorHarness

__all__ = ["ConnectorHarness"]
