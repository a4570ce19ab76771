"""Recording SLA breaches of events, phases and tasks as the approvals service reports them."""

from __future__ import annotations

from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.messages import SlaBreached
from rampart.ingest.events import service
from rampart.ingest.workbook import service as workbook

sla_queue = Queue("ingest.sla")


@sla_queue.on(SlaBreached)
async def record_breach(conn: Conn, message: SlaBreached) -> None:
    """Mark the event, phase or task whose due time passed; approvals' own subjects are not ours."""
    if message.subject_kind == "event":
        await service.mark_sla_breached(
            conn=conn, event_id=message.subject_id, breached_at=message.breached_at
        )
    elif message.subject_kind in ("phase", "task"):
        await workbook.mark_breached(
            conn=conn,
            kind=message.subject_kind,
            subject_id=message.subject_id,
            at=message.breached_at,
        )
