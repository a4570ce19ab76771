"""What a connector raises, and what each error tells the runner to do.

Exception hierarchy::

    ConnectorError           a declaration contradicts the catalog (refused at start)
    PermanentError
    ├── ActionError          the action ran and the product refused or failed; retrying
    │                        cannot help (a playbook sees the run as ``ActionFailed``)
    ├── ActionNotImplemented the connector does not implement the action
    ├── InvalidConfiguration the asset configuration does not validate
    └── InvalidParameters    the parameters do not validate (rampart.sdk.catalog)
    TransientError
    └── TargetUnavailable    the product could not be reached; retry later
"""

from __future__ import annotations

from rampart.core.errors import PermanentError, TransientError
from rampart.sdk.catalog import InvalidParameters

__all__ = [
    "ActionError",
    "ActionNotImplemented",
    "ConnectorError",
    "InvalidConfiguration",
    "InvalidParameters",
    "TargetUnavailable",
]


class ConnectorError(Exception):
    """A connector's declaration contradicts the catalog or the SDK's rules."""


class ActionError(PermanentError):
    """The action ran and failed on the product; retrying will not help."""


class ActionNotImplemented(PermanentError):
    """The connector does not implement the requested action."""


class TargetUnavailable(TransientError):
    """The product could not be reached or was busy; the same request may work later.

    ``retry_after`` (seconds) is the product's own word on when to try again (an HTTP
    ``Retry-After``); the runner waits at least that long before the next attempt.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidConfiguration(PermanentError, ValueError):
    """An asset configuration that does not validate; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0] if errors else {"field": "config", "message": "invalid"}
        super().__init__(f"{first['field']}: {first['message']}")
        self.errors = errors
