"""What can go wrong when handling a message, and what the bus does about it.

Exception hierarchy::

    RampartError
    ├── TransientError     the handler may succeed later: the bus redelivers with backoff
    │                      until the queue's delivery limit, then dead-letters with the reason
    └── PermanentError     retrying cannot help: the bus dead-letters at once, with the reason
        └── InvalidMessage the body is not a CloudEvent, its type is unknown, or its data does
                           not validate against the type's model

Any other exception raised by a handler is treated as transient: a bug may be fixed and the
message replayed, so nothing is dropped and no consumer loop stops.
"""

from __future__ import annotations


class RampartError(Exception):
    """Base of Rampart's own errors."""


class TransientError(RampartError):
    """Retry later: a dependency is down, a lock is busy, a timeout passed."""


class PermanentError(RampartError):
    """Never retry: the message can not be handled as it is."""


class InvalidMessage(PermanentError):
    """The message is not a valid Rampart CloudEvent of a known type."""
