"""One replay pass: run a playbook from the top against its history, up to its next wait.

Recorded results are handed back in the order they originally arrived, one at a time, with
the loop run until idle in between, exactly as the original passes saw them; so parallel
branches issue their commands in the same order on every replay. What the pass reports:

* ``completed`` with the playbook's return value, or ``failed`` with the error;
* ``waiting``: the playbook awaits results the engine has not got yet;
* ``nondeterministic`` / ``budget``: the engine stopped it, with the reason (an invalid
  ``ctx.act`` fails the run at once: ``failed``, naming the step and the field);

plus the new commands the pass issued, in step order.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from rampart.engine.sandbox._context import Lookup, ReplayContext
from rampart.engine.sandbox._loop import ReplayLoop
from rampart.engine.sandbox.protocol import Outcome, Replayed
from rampart.engine.steps import Step
from rampart.sdk.playbook import (
    BudgetExceeded,
    Event,
    InvalidAction,
    NonDeterministicPlaybook,
    Playbook,
    jsonable,
)

MAX_TRACE_LINES = 40


def replay(
    playbook: Playbook,
    *,
    run_id: UUID,
    event: Mapping[str, Any],
    history: Sequence[Step],
    max_steps: int,
    lookup: Lookup,
    filename: str,
) -> Replayed:
    """Run one pass of ``playbook``; returns the outcome and the new commands."""
    loop = ReplayLoop()  # type: ignore[abstract]  # I/O methods stay unimplemented on purpose
    ctx = ReplayContext(
        run_id=run_id,
        playbook=playbook.name,
        history=history,
        max_steps=max_steps,
        lookup=lookup,
        loop=loop,
    )
    main = loop.create_task(playbook(ctx, Event.from_json(event)), name=playbook.name)
    try:
        loop.run_until_idle()
        outcome = _deliver(loop, ctx, main, history)
        if outcome is None:
            outcome = _settle(ctx, main, history, filename)
    finally:
        _tear_down(loop, ctx)
    return outcome.model_copy(update={"commands": ctx.new})


def _deliver(
    loop: ReplayLoop,
    ctx: ReplayContext,
    main: asyncio.Task[Any],
    history: Sequence[Step],
) -> Replayed | None:
    """Hand back recorded results in arrival order; an outcome if the replay cannot go on."""
    arrived = sorted((h for h in history if h.order is not None), key=lambda h: h.order or 0)
    for entry in arrived:
        if ctx.stop is not None:
            return None
        future = ctx.futures.get(entry.seq)
        if future is None:
            return _stopped(
                "nondeterministic",
                f"non-deterministic playbook: step {entry.seq} "
                f"({entry.command.describe()}) got its result, but on replay "
                "the playbook had not issued it yet",
            )
        if not future.done():
            future.set_result(entry.result or {})
        loop.run_until_idle()
    return None


def _settle(
    ctx: ReplayContext, main: asyncio.Task[Any], history: Sequence[Step], filename: str
) -> Replayed:
    if isinstance(ctx.stop, NonDeterministicPlaybook):
        return _stopped("nondeterministic", str(ctx.stop))
    if isinstance(ctx.stop, BudgetExceeded):
        return _stopped("budget", str(ctx.stop))
    if isinstance(ctx.stop, InvalidAction):
        return _stopped("failed", str(ctx.stop))
    if ctx.issued < len(history):
        missing = history[ctx.issued]
        return _stopped(
            "nondeterministic",
            f"non-deterministic playbook: step {missing.seq} "
            f"({missing.command.describe()}) is in the run's history, but "
            "the playbook no longer issues it",
        )
    if main.done():
        if main.cancelled():
            return _stopped("failed", "the playbook's main task was cancelled")
        error = main.exception()
        if error is not None:
            return Replayed(outcome="failed", error=_error_text(error, filename))
        try:
            value = jsonable(main.result())
        except TypeError as exc:
            return _stopped("failed", f"the playbook returned a value that is not JSON: {exc}")
        except ValueError as exc:
            return _stopped("failed", f"the playbook returned a value Rampart cannot store: {exc}")
        return Replayed(outcome="completed", value=value)
    waiting = [seq for seq, future in ctx.futures.items() if not future.done()]
    if not waiting:
        return _stopped(
            "failed",
            "the playbook waits for something the engine cannot provide (an asyncio future, "
            "lock or I/O outside ctx); it would never resume",
        )
    return Replayed(outcome="waiting", waiting=sorted(waiting))


def _stopped(outcome: Outcome, error: str) -> Replayed:
    return Replayed(outcome=outcome, error=error)


def _error_text(error: BaseException, filename: str) -> str:
    """The error and the traceback lines inside the playbook's own file."""
    frames = [
        line
        for line in traceback.format_exception(type(error), error, error.__traceback__)
        if filename in line or not line.startswith("  File ")
    ]
    headline = f"{type(error).__name__}: {error}"
    text = "".join(frames[-MAX_TRACE_LINES:-1]).strip()
    return f"{headline}\n{text}" if text else headline


def _tear_down(loop: ReplayLoop, ctx: ReplayContext) -> None:
    """Close every coroutine of the pass now, inside the step's time budget, not at GC time."""
    ctx.sealed = True
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    loop.run_until_idle()
    for task in pending:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: nothing to report at garbage collection
    loop.close()
