"""Rampart's own errors: what a message handler's failure means, and what a service refuses.

Exception hierarchy::

    RampartError
    ├── TransientError     the handler may succeed later: the bus redelivers with backoff
    │                      until the queue's delivery limit, then dead-letters with the reason
    ├── PermanentError     retrying cannot help: the bus dead-letters at once, with the reason
    │   └── InvalidMessage the body is not a CloudEvent, its type is unknown, its data does
    │                      not validate against the type's model, or no handler takes it
    └── DomainError        a service refuses a request; the API answers with problem+json
        ├── FieldError     one field's value is wrong (422, naming the field; or several)
        │   └── FieldConflict  a field's value clashes with what is stored: a name taken (409)
        ├── NotFoundError  the thing named does not exist (404)
        ├── ConflictError  the request contradicts what is stored (409)
        ├── ForbiddenError the caller may not do this to this object (403)
        └── UnavailableError another service it needs does not answer now (503); also a
                           TransientError, so a handler raising it is delivered again

Any other exception raised by a handler is treated as transient: a bug may be fixed and the
message replayed, so nothing is dropped and no consumer loop stops. Services raise
``DomainError`` and never HTTP problems; the problem handler renders them, so the same
service function serves a route, a consumer and the CLI. A ``DomainError`` that reaches a
message handler is permanent: the same message would be refused again — except
``UnavailableError``, which says nothing of the message and is retried like any transient
failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RampartError(Exception):
    """Base of Rampart's own errors."""


class TransientError(RampartError):
    """Retry later: a dependency is down, a lock is busy, a timeout passed."""


class PermanentError(RampartError):
    """Never retry: the message can not be handled as it is."""


class InvalidMessage(PermanentError):
    """The message is not a valid Rampart CloudEvent of a known type."""


class DomainError(RampartError):
    """A service refuses what it was asked; ``status`` is the HTTP status a route answers."""

    status = 400

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        """More members of the problem document, e.g. the assets that still name an owner."""


class FieldError(DomainError):
    """One field of the request is wrong; ``field`` is its dotted path (``params.ip``).

    ``more`` names other wrong fields of the same request, so every one is reported;
    ``errors`` lists them all as ``(field, message)``, the first one first.
    """

    status = 422

    def __init__(self, field: str, message: str, *, more: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors = [(field, message), *more]


class NotFoundError(DomainError):
    """What the request names does not exist (or the caller may not know it does)."""

    status = 404


class ConflictError(DomainError):
    """The request contradicts the stored state: a duplicate, or a finished object."""

    status = 409


class ForbiddenError(DomainError):
    """The caller's role allows the route but not this object."""

    status = 403


class FieldConflict(FieldError, ConflictError):
    """A field's value clashes with what is stored, such as a name already taken (409)."""

    status = 409


class UnavailableError(DomainError, TransientError):
    """Another service or product the request needs does not answer now; try again later.

    A route answers 503; a message handler that raises it is delivered again with backoff.
    """

    status = 503
