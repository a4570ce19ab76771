"""Carrying out the new commands of a pass: history rows, messages, timers, prompts, children."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from rampart.core.ids import uuid7
from rampart.core.messages import (
    ActionRequested,
    ActionTarget,
    EventChangeRequested,
    Message,
    PlaybookPromptRequested,
)
from rampart.engine import timers, versions
from rampart.engine.versions import SCHEMA, PlaybookVersion


def requester(name: str, run_id: UUID) -> str:
    """Who a run's requests are from, as actions and event changes record it."""
    return f"playbook:{name}:{run_id}"


async def create_run(
    *,
    conn: Any,
    version: PlaybookVersion,
    event: dict[str, Any],
    trigger: str,
    trigger_ref: str | None,
    requested_by: str,
    parent: tuple[UUID, int] | None = None,
) -> UUID | None:
    """Insert a pending run with its deadline; None if this trigger already started it."""
    run_id = uuid7()
    inserted = await conn.fetchval(
        f"INSERT INTO {SCHEMA}.runs (id, playbook, version, event_id, status, trigger, "
        "trigger_ref, parent_run_id, parent_seq, event, requested_by) "
        "VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT DO NOTHING RETURNING id",
        run_id,
        version.name,
        version.version,
        UUID(event["id"]),
        trigger,
        trigger_ref,
        parent[0] if parent else None,
        parent[1] if parent else None,
        event,
        requested_by,
    )
    if inserted is None:
        return None
    if version.budget.duration is not None:
        await timers.add(
            conn=conn,
            run_id=run_id,
            kind="deadline",
            due_at=datetime.now(UTC) + version.budget.duration,
        )
    return run_id


class BadCommand(Exception):
    """A command the playbook issued cannot be carried out as given."""


async def record(
    *,
    conn: Any,
    run: Any,
    commands: list[dict[str, Any]],
) -> list[Message]:
    """Store a pass's new commands and carry out each; returns the messages they send.

    Every message is built first, so a command that cannot be carried out changes nothing.
    """
    if not commands:
        return []
    run_id: UUID = run["id"]
    messages: list[Message] = []
    for c in commands:
        try:
            message = _message(run, int(c["seq"]), c["kind"], c["command"])
        except (ValidationError, TypeError, KeyError) as exc:
            raise BadCommand(f"step {c['seq']} ({c['kind']}) is not valid: {exc}") from exc
        if message is not None:
            messages.append(message)
    now = datetime.now(UTC)
    for c in commands:
        seq, kind, command = int(c["seq"]), c["kind"], c["command"]
        if kind == "sleep":
            await timers.add(
                conn=conn,
                run_id=run_id,
                kind="result",
                seq=seq,
                result={},
                due_at=now + timedelta(seconds=float(command["seconds"])),
            )
        elif kind == "prompt":
            messages.append(await _ask(conn=conn, run=run, seq=seq, command=command, now=now))
        elif kind == "child":
            await _start_child(conn=conn, run=run, seq=seq, name=str(command["playbook"]))
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.history (run_id, seq, kind, command, status, result) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (
                run_id,
                int(c["seq"]),
                c["kind"],
                c["command"],
                "done" if "result" in c else "pending",
                c.get("result"),
            )
            for c in commands
        ],
    )
    return messages


def _message(run: Any, seq: int, kind: str, command: dict[str, Any]) -> Message | None:
    """The message a new command sends at once, if any; keyed by run and step."""
    key = f"{run['id']}:{seq}"
    by = requester(run["playbook"], run["id"])
    if kind == "act":
        return ActionRequested(
            request_key=key,
            action=command["action"],
            target=ActionTarget(**command["target"]),
            params=command["params"],
            event_id=run["event_id"],
            run_id=run["id"],
            requested_by=by,
        )
    if kind == "change":
        return EventChangeRequested(
            event_id=run["event_id"], request_key=key, requested_by=by, **command
        )
    return None


async def _ask(
    *, conn: Any, run: Any, seq: int, command: dict[str, Any], now: datetime
) -> PlaybookPromptRequested:
    prompt_id = uuid7()
    due_at = now + timedelta(seconds=float(command["timeout_s"]))
    await conn.execute(
        f"INSERT INTO {SCHEMA}.prompts (id, run_id, seq, event_id, question, recipient, "
        "choices, status, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
        prompt_id,
        run["id"],
        seq,
        run["event_id"],
        command["question"],
        command["to"],
        list(command["choices"]),
        due_at,
    )
    await timers.add(
        conn=conn,
        run_id=run["id"],
        kind="result",
        seq=seq,
        result={"answer": None, "expired": True, "prompt_id": str(prompt_id)},
        due_at=due_at,
    )
    return PlaybookPromptRequested(
        prompt_id=prompt_id,
        run_id=run["id"],
        playbook=run["playbook"],
        event_id=run["event_id"],
        question=command["question"],
        recipient=command["to"],
        choices=list(command["choices"]),
        due_at=due_at,
    )


async def _start_child(*, conn: Any, run: Any, seq: int, name: str) -> None:
    row = await conn.fetchrow(
        f"SELECT name, version FROM {SCHEMA}.playbooks WHERE name = $1 "
        "ORDER BY version DESC LIMIT 1",
        name,
    )
    now = datetime.now(UTC)
    if row is None:
        await timers.add(
            conn=conn,
            run_id=run["id"],
            kind="result",
            seq=seq,
            result={"status": "failed", "error": f"there is no playbook named {name!r}"},
            due_at=now,
        )
        return
    version = await versions.get(conn=conn, name=row["name"], version=row["version"])
    assert version is not None
    child = await create_run(
        conn=conn,
        version=version,
        event=run["event"],
        trigger="child",
        trigger_ref=str(run["id"]),
        requested_by=requester(run["playbook"], run["id"]),
        parent=(run["id"], seq),
    )
    assert child is not None
    await timers.add(conn=conn, run_id=child, kind="start", due_at=now)
