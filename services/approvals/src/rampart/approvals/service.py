"""Approvals: opened from ``approval.requested``, decided by assignees, escalated on breach.

An approval moves through the stages the broker planned (primary → secondary → executive).
Only a person assigned to the current stage decides, never the requester; the decision that
completes the stage wins under the approval's row lock, and ``approval.decided`` carries the
fingerprint of exactly what will run. When a stage's SLA passes, the approval moves to the
next stage, or expires after the last one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from rampart.approvals import notify, policies, timers
from rampart.approvals.directory import OwnerDirectory
from rampart.approvals.models import (
    ApprovalDetail,
    ApprovalPublic,
    DecisionCreate,
    DecisionPublic,
    DelegationCreate,
    HistoryEntry,
    StagePublic,
)
from rampart.approvals.state import ApprovalsState
from rampart.core.auth import Principal
from rampart.core.consumers import Queue
from rampart.core.deps import Conn
from rampart.core.envelope import Envelope
from rampart.core.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    PermanentError,
    TransientError,
    UnavailableError,
)
from rampart.core.ids import uuid7
from rampart.core.messages import ApprovalDecided, ApprovalEscalated, ApprovalRequested
from rampart.core.outbox import enqueue
from rampart.core.store import Record

SCHEMA = timers.SCHEMA
publish = timers.publish

_COLUMNS = (
    "id, action_run_id, request_key, action, asset, connector, params, fingerprint, "
    "requested_by, event_id, required_approvals, stages, stage_index, stage, status, due_at, "
    "created_at, decided_at, decided_by"
)


async def create(
    *, conn: Conn, request: ApprovalRequested, owners: OwnerDirectory, now: datetime
) -> UUID:
    """Open the approval of one gated action run (once), assign its stages, start its clock."""
    existing = await conn.fetchval(
        f"SELECT id FROM {SCHEMA}.approvals WHERE action_run_id = $1", request.action_run_id
    )
    if existing is not None:
        return UUID(str(existing))
    approval_id = uuid7()
    first = request.stages[0]
    plan = await _stage_plan(conn=conn, minutes=first.sla_minutes, now=now)
    due_at = plan.due_at
    await conn.execute(
        f"INSERT INTO {SCHEMA}.approvals (id, action_run_id, request_key, action, asset, "
        "connector, params, fingerprint, requested_by, event_id, required_approvals, stages, "
        "stage, due_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        approval_id,
        request.action_run_id,
        request.request_key,
        request.action,
        request.asset,
        request.connector,
        request.params,
        request.fingerprint,
        request.requested_by,
        request.event_id,
        request.required_approvals,
        [s.model_dump(mode="json") for s in request.stages],
        first.stage,
        due_at,
        now,
    )
    rows: list[tuple[UUID, int, UUID, UUID | None]] = []
    for index, stage in enumerate(request.stages):
        seen: set[UUID] = set()
        for assignee in stage.assignees:
            owner_id = UUID(assignee)
            people = await owners.people(owner_id)
            for person in people:
                if person not in seen:
                    seen.add(person)
                    rows.append(
                        (approval_id, index, person, None if person == owner_id else owner_id)
                    )
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.approval_assignees (approval_id, stage_index, owner_id, via_group) "
        "VALUES ($1, $2, $3, $4)",
        rows,
    )
    await _record(
        conn=conn,
        approval_id=approval_id,
        kind="requested",
        actor=request.requested_by,
        detail={"stage": first.stage, "due_at": due_at.isoformat()},
    )
    await timers.start_timer(
        conn=conn,
        subject_kind="approval",
        subject_id=approval_id,
        event_id=request.event_id,
        plan=plan,
        restart=True,
    )
    await notify.announce(conn=conn, approval_id=approval_id, reason="stage", now=now)
    return approval_id


async def decide(
    *,
    conn: Conn,
    approval_id: UUID,
    who: Principal,
    decision: DecisionCreate,
    now: datetime,
    channel: str = "api",
) -> ApprovalDetail:
    """One assignee's answer; the answer that completes the stage decides the approval."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM {SCHEMA}.approvals WHERE id = $1 FOR UPDATE", approval_id
        )
        if row is None:
            raise NotFoundError(f"no approval {approval_id}")
        if row["status"] != "pending":
            raise ConflictError(f"approval {approval_id} is {row['status']} already")
        owner_id = owner_of(who)
        refusal: str | None = None
        if owner_id is None or not await _assigned(
            conn=conn, approval_id=approval_id, stage_index=row["stage_index"], owner_id=owner_id
        ):
            refusal = f"you are not an assignee of the {row['stage']} stage of this approval"
        elif row["requested_by"] in _identities(who):
            refusal = "the requester of an action cannot decide its approval"
        if refusal is not None:
            await _record(
                conn=conn,
                approval_id=approval_id,
                kind="refused",
                actor=who.subject or who.name,
                channel=channel,
                detail={"reason": refusal},
            )
        elif owner_id is not None and not await _answer(
            conn=conn, row=row, owner_id=owner_id, decision=decision, channel=channel, now=now
        ):
            raise ConflictError(f"you decided the {row['stage']} stage already")
    if refusal is not None:
        # raised after the commit, so the refused attempt stays in the history
        raise ForbiddenError(refusal)
    detail = await get(conn=conn, approval_id=approval_id)
    assert detail is not None
    return detail


async def _answer(
    *,
    conn: Conn,
    row: Record,
    owner_id: UUID,
    decision: DecisionCreate,
    channel: str,
    now: datetime,
) -> bool:
    """Store one assignee's answer and finish the approval if it completes the stage."""
    inserted = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.approval_decisions (approval_id, stage_index, owner_id, "
        "decision, comment, channel) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT DO NOTHING RETURNING true",
        row["id"],
        row["stage_index"],
        owner_id,
        decision.decision,
        decision.comment,
        channel,
    )
    if not inserted:
        return False
    await _record(
        conn=conn,
        approval_id=row["id"],
        kind=decision.decision,
        actor=str(owner_id),
        channel=channel,
        detail={"stage": row["stage"], "comment": decision.comment},
    )
    outcome: Literal["approved", "denied"] | None = None
    if decision.decision == "deny":
        outcome = "denied"
    else:
        approvals = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.approval_decisions WHERE approval_id = $1 "
            "AND stage_index = $2 AND decision = 'approve'",
            row["id"],
            row["stage_index"],
        )
        if approvals >= row["required_approvals"]:
            outcome = "approved"
    if outcome is not None:
        await _finish(
            conn=conn,
            row=row,
            status=outcome,
            by=str(owner_id),
            comment=decision.comment,
            now=now,
        )
    return True


async def delegate(
    *,
    conn: Conn,
    approval_id: UUID,
    who: Principal,
    delegation: DelegationCreate,
    owners: OwnerDirectory,
) -> ApprovalDetail:
    """A current assignee hands their part of the stage to another owner (recorded)."""
    try:
        people = await owners.people(delegation.to)
    except PermanentError:
        raise FieldError("to", f"no owner {delegation.to}") from None
    except TransientError as exc:
        raise UnavailableError(str(exc)) from None
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM {SCHEMA}.approvals WHERE id = $1 FOR UPDATE", approval_id
        )
        if row is None:
            raise NotFoundError(f"no approval {approval_id}")
        if row["status"] != "pending":
            raise ConflictError(f"approval {approval_id} is {row['status']} already")
        owner_id = owner_of(who)
        if owner_id is None or not await _assigned(
            conn=conn, approval_id=approval_id, stage_index=row["stage_index"], owner_id=owner_id
        ):
            raise ForbiddenError(
                f"you are not an assignee of the {row['stage']} stage of this approval"
            )
        if owner_id in people:
            raise FieldError("to", "an approval cannot be delegated to yourself")
        await conn.execute(
            f"DELETE FROM {SCHEMA}.approval_assignees WHERE approval_id = $1 "
            "AND stage_index = $2 AND owner_id = $3",
            approval_id,
            row["stage_index"],
            owner_id,
        )
        await conn.executemany(
            f"INSERT INTO {SCHEMA}.approval_assignees (approval_id, stage_index, owner_id, "
            "via_group) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [
                (approval_id, row["stage_index"], p, None if p == delegation.to else delegation.to)
                for p in people
            ],
        )
        await _record(
            conn=conn,
            approval_id=approval_id,
            kind="delegated",
            actor=str(owner_id),
            channel="api",
            detail={
                "stage": row["stage"],
                "to": str(delegation.to),
                "people": [str(p) for p in people],
                "comment": delegation.comment,
            },
        )
    detail = await get(conn=conn, approval_id=approval_id)
    assert detail is not None
    return detail


async def breached(
    *, conn: Conn, approval_id: UUID, at: datetime, outgoing: list[Envelope] | None = None
) -> None:
    """The current stage's SLA passed: move to the next stage, or expire after the last.

    ``outgoing`` collects the escalation's message for the caller to write with its batch's
    (one outbox insert for many approvals); without it, it is written here.
    """
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.approvals WHERE id = $1 FOR UPDATE", approval_id
    )
    if row is None or row["status"] != "pending":
        return
    await notify.announce(
        conn=conn,
        approval_id=approval_id,
        reason="breach",
        now=at,
        stage_index=row["stage_index"],
        approval=row,
    )
    stages: list[dict[str, Any]] = row["stages"]
    following = row["stage_index"] + 1
    if following >= len(stages):
        await _record(
            conn=conn,
            approval_id=approval_id,
            kind="expired",
            detail={"stage": row["stage"], "due_at": row["due_at"].isoformat()},
        )
        await _finish(conn=conn, row=row, status="expired", by=None, comment="", now=at)
        return
    plan = stages[following]
    timer = await _stage_plan(conn=conn, minutes=float(plan["sla_minutes"]), now=at)
    due_at = timer.due_at
    await conn.execute(
        f"UPDATE {SCHEMA}.approvals SET stage_index = $2, stage = $3, due_at = $4 WHERE id = $1",
        approval_id,
        following,
        plan["stage"],
        due_at,
    )
    await _record(
        conn=conn,
        approval_id=approval_id,
        kind="escalated",
        detail={"from": row["stage"], "to": plan["stage"], "due_at": due_at.isoformat()},
    )
    await timers.start_timer(
        conn=conn,
        subject_kind="approval",
        subject_id=approval_id,
        event_id=row["event_id"],
        plan=timer,
        restart=True,
    )
    assignees = await notify.announce(
        conn=conn,
        approval_id=approval_id,
        reason="stage",
        now=at,
        approval={"stage_index": following, "stages": stages, "due_at": due_at},
    )
    escalated = Envelope.wrap(
        ApprovalEscalated(
            approval_id=approval_id,
            action_run_id=row["action_run_id"],
            from_stage=row["stage"],
            to_stage=plan["stage"],
            assignees=[str(a) for a in assignees],
            due_at=due_at,
        ),
        source=publish.source,
        subject=str(approval_id),
        correlation_id=str(row["event_id"] or approval_id),
    )
    if outgoing is None:
        await enqueue(conn=conn, schema=SCHEMA, envelopes=[escalated])
    else:
        outgoing.append(escalated)


async def _finish(
    *,
    conn: Conn,
    row: Record,
    status: Literal["approved", "denied", "expired"],
    by: str | None,
    comment: str,
    now: datetime,
) -> None:
    await conn.execute(
        f"UPDATE {SCHEMA}.approvals SET status = $2, decided_at = $3, decided_by = $4 "
        "WHERE id = $1",
        row["id"],
        status,
        now,
        by,
    )
    await timers.stop_timer(conn=conn, subject_kind="approval", subject_id=row["id"], now=now)
    await publish(
        conn,
        ApprovalDecided(
            approval_id=row["id"],
            action_run_id=row["action_run_id"],
            request_key=row["request_key"],
            decision=status,
            decided_by=by,
            decided_at=now,
            comment=comment,
            fingerprint=row["fingerprint"],
        ),
        subject=str(row["id"]),
        correlation_id=str(row["event_id"] or row["id"]),
    )


async def _stage_plan(*, conn: Conn, minutes: float, now: datetime) -> policies.TimerPlan:
    plan = await policies.plan(
        conn=conn,
        subject_kind="approval",
        severity=None,
        started_at=now,
        budget=timedelta(minutes=minutes),
    )
    assert plan is not None  # a budget always makes a plan
    return plan


def owner_of(who: Principal) -> UUID | None:
    try:
        return UUID(who.subject) if who.subject else None
    except ValueError:
        return None


def _identities(who: Principal) -> set[str]:
    names = {who.name, f"token:{who.token_id}"}
    if who.subject:
        names |= {who.subject, f"owner:{who.subject}"}
    return names


async def _assigned(*, conn: Conn, approval_id: UUID, stage_index: int, owner_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            f"SELECT true FROM {SCHEMA}.approval_assignees WHERE approval_id = $1 "
            "AND stage_index = $2 AND owner_id = $3",
            approval_id,
            stage_index,
            owner_id,
        )
    )


async def _record(
    *,
    conn: Conn,
    approval_id: UUID,
    kind: str,
    actor: str | None = None,
    channel: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.approval_history (approval_id, at, kind, actor, channel, detail) "
        "VALUES ($1, clock_timestamp(), $2, $3, $4, $5)",
        approval_id,
        kind,
        actor,
        channel,
        detail or {},
    )


async def _stages(*, conn: Conn, rows: list[Record]) -> dict[UUID, list[StagePublic]]:
    ids = [r["id"] for r in rows]
    assigned = await conn.fetch(
        f"SELECT approval_id, stage_index, owner_id FROM {SCHEMA}.approval_assignees "
        "WHERE approval_id = ANY($1::uuid[]) ORDER BY owner_id",
        ids,
    )
    people: dict[tuple[UUID, int], list[UUID]] = {}
    for a in assigned:
        people.setdefault((a["approval_id"], a["stage_index"]), []).append(a["owner_id"])
    return {
        r["id"]: [
            StagePublic(
                stage=s["stage"],
                sla_minutes=s["sla_minutes"],
                assignees=people.get((r["id"], i), []),
            )
            for i, s in enumerate(r["stages"])
        ]
        for r in rows
    }


def _public(row: Record, stages: list[StagePublic]) -> dict[str, Any]:
    fields = {k: v for k, v in dict(row).items() if k not in ("stages", "stage_index")}
    return {**fields, "stages": stages}


async def get(*, conn: Conn, approval_id: UUID) -> ApprovalDetail | None:
    """One approval with its decisions and history."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.approvals WHERE id = $1", approval_id
    )
    if row is None:
        return None
    stages = (await _stages(conn=conn, rows=[row]))[approval_id]
    names = [s["stage"] for s in row["stages"]]
    decisions = await conn.fetch(
        f"SELECT stage_index, owner_id, decision, comment, channel, decided_at "
        f"FROM {SCHEMA}.approval_decisions WHERE approval_id = $1 ORDER BY decided_at",
        approval_id,
    )
    history = await conn.fetch(
        f"SELECT at, kind, actor, channel, detail FROM {SCHEMA}.approval_history "
        "WHERE approval_id = $1 ORDER BY seq",
        approval_id,
    )
    return ApprovalDetail(
        **_public(row, stages),
        decisions=[
            DecisionPublic(
                stage=names[d["stage_index"]],
                owner_id=d["owner_id"],
                decision=d["decision"],
                comment=d["comment"],
                channel=d["channel"],
                decided_at=d["decided_at"],
            )
            for d in decisions
        ],
        history=[HistoryEntry(**dict(h)) for h in history],
    )


async def list_approvals(
    *,
    conn: Conn,
    assignee: UUID | None = None,
    status: str | None = None,
    asset: str | None = None,
    event_id: UUID | None = None,
    stage: str | None = None,
    limit: int = 50,
) -> list[ApprovalPublic]:
    """Approvals, newest first; ``assignee`` keeps those at a stage the person decides now."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.approvals a "
        "WHERE ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM "
        f"{SCHEMA}.approval_assignees s WHERE s.approval_id = a.id "
        "AND s.stage_index = a.stage_index AND s.owner_id = $1)) "
        "AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR asset = $3) "
        "AND ($4::uuid IS NULL OR event_id = $4) AND ($5::text IS NULL OR stage = $5) "
        "ORDER BY created_at DESC, id DESC LIMIT $6",
        assignee,
        status,
        asset,
        event_id,
        stage,
        limit,
    )
    stages = await _stages(conn=conn, rows=list(rows))
    return [ApprovalPublic(**_public(r, stages[r["id"]])) for r in rows]


requests = Queue("approvals.requests")


@requests.on(ApprovalRequested)
async def open_approval(conn: Conn, message: ApprovalRequested, state: ApprovalsState) -> None:
    """A gated action run asks its asset's owners: open its approval at the first stage."""
    await create(conn=conn, request=message, owners=state.owners, now=state.clock.now())
