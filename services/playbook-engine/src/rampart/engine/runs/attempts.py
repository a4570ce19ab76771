"""How the engine counts and spaces its retries of work that fails: run timers and trigger jobs.

Both share the settings ``timer_retry_s`` (the first wait, doubled each failure, up to
``RETRY_CAP_S``) and ``timer_attempts`` (the failures on the work's data before it ends).
"""

from __future__ import annotations

from asyncpg.exceptions import PostgresConnectionError

from rampart.core.errors import TransientError

RETRY_CAP_S = 60.0

# the wait before the next try, from the failures counted before this one (``attempts``)
BACKOFF_SQL = "make_interval(secs => least({retry} * power(2, attempts), {cap}))"


def counts(error: BaseException) -> bool:
    """Whether a failure counts towards the limit: an outage says nothing of the work."""
    return not isinstance(error, TransientError | OSError | PostgresConnectionError)


def reason(error: BaseException) -> str:
    """The failure as stored with the work and shown to analysts."""
    return f"{type(error).__name__}: {error}".replace("\x00", "")[:2000]
