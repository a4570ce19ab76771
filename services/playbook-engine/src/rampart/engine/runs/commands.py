"""Carrying out the new steps of a pass: history rows, messages, timers, prompts, children."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from pydantic import ValidationError

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.messages import (
    ActionRequested,
    ActionTarget,
    EventChangeRequested,
    Message,
    PlaybookPromptRequested,
)
from rampart.core.store import Record
from rampart.engine.config import SCHEMA
from rampart.engine.playbooks import versions
from rampart.engine.runs import timers
from rampart.engine.runs.store import create_run, requester
from rampart.engine.steps import Act, Change, Child, Prompt, Sleep, Step


class BadCommand(Exception):
    """A command the playbook issued cannot be carried out as given."""


async def record(*, conn: Conn, run: Record, steps: list[Step]) -> list[Message]:
    """Store a pass's new steps and carry out each; returns the messages they send.

    Every message is built first, so a command that cannot be carried out changes nothing.
    """
    if not steps:
        return []
    run_id: UUID = run["id"]
    messages: list[Message] = []
    for step in steps:
        try:
            message = _message(run, step)
        except ValidationError as exc:
            raise BadCommand(f"step {step.seq} ({step.kind}) is not valid: {exc}") from exc
        if message is not None:
            messages.append(message)
    now = datetime.now(UTC)
    for step in steps:
        match step.command:
            case Sleep(seconds=seconds):
                await timers.add(
                    conn=conn,
                    run_id=run_id,
                    kind="result",
                    seq=step.seq,
                    result={},
                    due_at=now + timedelta(seconds=seconds),
                )
            case Prompt() as prompt:
                messages.append(
                    await _ask(conn=conn, run=run, seq=step.seq, prompt=prompt, now=now)
                )
            case Child(playbook=name):
                await _start_child(conn=conn, run=run, seq=step.seq, name=name)
            case _:
                pass
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.history (run_id, seq, kind, command, status, result) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (
                run_id,
                s.seq,
                s.kind,
                s.command.body(),
                "done" if s.command.immediate else "pending",
                s.result,
            )
            for s in steps
        ],
    )
    return messages


def _message(run: Record, step: Step) -> Message | None:
    """The message a new step sends at once, if any; keyed by run and step."""
    key = f"{run['id']}:{step.seq}"
    by = requester(run["playbook"], run["id"])
    match step.command:
        case Act() as act:
            return ActionRequested(
                request_key=key,
                action=act.action,
                target=ActionTarget.model_validate(act.target.model_dump()),
                params=act.params,
                event_id=run["event_id"],
                run_id=run["id"],
                requested_by=by,
            )
        case Change() as change:
            return EventChangeRequested.model_validate(
                {
                    **change.body(),
                    "event_id": run["event_id"],
                    "request_key": key,
                    "requested_by": by,
                }
            )
        case _:
            return None


async def _ask(
    *, conn: Conn, run: Record, seq: int, prompt: Prompt, now: datetime
) -> PlaybookPromptRequested:
    prompt_id = uuid7()
    due_at = now + timedelta(seconds=prompt.timeout_s)
    await conn.execute(
        f"INSERT INTO {SCHEMA}.prompts (id, run_id, seq, event_id, question, recipient, "
        "choices, status, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
        prompt_id,
        run["id"],
        seq,
        run["event_id"],
        prompt.question,
        prompt.to,
        list(prompt.choices),
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
        question=prompt.question,
        recipient=prompt.to,
        choices=list(prompt.choices),
        due_at=due_at,
    )


async def _start_child(*, conn: Conn, run: Record, seq: int, name: str) -> None:
    version = await versions.latest(conn=conn, name=name)
    now = datetime.now(UTC)
    if version is None:
        await timers.add(
            conn=conn,
            run_id=run["id"],
            kind="result",
            seq=seq,
            result={"status": "failed", "error": f"there is no playbook named {name!r}"},
            due_at=now,
        )
        return
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
