"""Durable wake-ups of runs: rows with a due time, fired once by whichever replica claims them.

Kinds: ``start`` (a run to begin: by hand or a child), ``result`` (a result to record at a
step: a sleep ending, a prompt answered or timing out, a child's outcome) and ``deadline``
(the run's time budget). A due-now row wakes the loops of every replica through NOTIFY;
``rampart.engine.runs.wakeups`` fires them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.engine.config import SCHEMA

NOTIFY_CHANNEL = "rampart_engine_timers"

TimerKind = Literal["start", "result", "deadline"]


async def add(
    *,
    conn: Conn,
    run_id: UUID,
    kind: TimerKind,
    due_at: datetime,
    seq: int | None = None,
    result: Any = None,
) -> None:
    """Schedule a wake-up of ``run_id``; replicas hear of it when the transaction commits."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.run_timers (id, run_id, kind, seq, result, due_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        uuid7(),
        run_id,
        kind,
        seq,
        result,
        due_at,
    )
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(due_at.timestamp()))
