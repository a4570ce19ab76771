"""Questions runs asked people: list them, and answer one so its run resumes."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from rampart.core.auth import Principal, Role
from rampart.core.deps import Conn
from rampart.core.errors import ConflictError, FieldError, NotFoundError
from rampart.engine.config import SCHEMA
from rampart.engine.models import PromptPublic
from rampart.engine.runs import timers

_PROMPT = (
    "id, run_id, seq, event_id, question, recipient, choices, status, answer, answered_by, "
    "due_at, created_at, answered_at"
)


class PromptClosed(ConflictError):
    """The prompt was answered, expired or cancelled already; ``prompt_status`` says which."""

    def __init__(self, prompt_id: UUID, prompt_status: str) -> None:
        super().__init__(f"prompt {prompt_id} is {prompt_status}")
        self.prompt_status = prompt_status


class NotAChoice(FieldError):
    """The answer is not one of the prompt's choices."""

    def __init__(self, choices: list[str]) -> None:
        super().__init__("answer", f"must be one of {', '.join(choices)}")
        self.choices = choices


async def list_prompts(
    *, conn: Conn, status: str | None, recipient: str | None, limit: int
) -> list[PromptPublic]:
    """Prompts, oldest first, filtered by status and recipient."""
    rows = await conn.fetch(
        f"SELECT {_PROMPT} FROM {SCHEMA}.prompts WHERE ($1::text IS NULL OR status = $1) "
        "AND ($2::text IS NULL OR recipient = $2) ORDER BY created_at LIMIT $3",
        status,
        recipient,
        limit,
    )
    return [PromptPublic(**dict(r)) for r in rows]


def may_answer(principal: Principal, recipient: str) -> bool:
    """Analysts answer any prompt; an approver only those addressed to the owner its token is
    bound to (``subject``). A token's name is a label anyone may be given: it never authorizes."""
    if principal.role in (Role.ADMIN, Role.ANALYST):
        return True
    return principal.subject is not None and principal.subject == recipient


async def answer_prompt(
    *, conn: Conn, prompt_id: UUID, answer: str, principal: Principal
) -> PromptPublic:
    """Answer a pending prompt; the run resumes with the answer."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_PROMPT} FROM {SCHEMA}.prompts WHERE id = $1 FOR UPDATE", prompt_id
        )
        if row is None or not may_answer(principal, row["recipient"]):
            # an approver learns nothing of prompts addressed to others
            raise NotFoundError(f"no prompt {prompt_id} for you")
        if row["status"] != "pending":
            raise PromptClosed(prompt_id, row["status"])
        if row["choices"] and answer not in row["choices"]:
            raise NotAChoice(list(row["choices"]))
        updated = await conn.fetchrow(
            f"UPDATE {SCHEMA}.prompts SET status = 'answered', answer = $2, answered_by = $3, "
            f"answered_at = now() WHERE id = $1 RETURNING {_PROMPT}",
            prompt_id,
            answer,
            principal.name,
        )
        await timers.add(
            conn=conn,
            run_id=row["run_id"],
            kind="result",
            seq=row["seq"],
            result={"answer": answer, "by": principal.name},
            due_at=datetime.now(UTC),
        )
    assert updated is not None  # the row is locked: it is still there
    return PromptPublic(**dict(updated))
