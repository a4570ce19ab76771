"""The ``noop`` connector (product "Rampart test"): every catalog action, no side effects."""

from rampart.connectors.noop.connector import NoopConfig, NoopConnector, NoopResult

__all__ = ["NoopConfig", "NoopConnector", "NoopResult"]
