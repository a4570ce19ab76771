"""Sending one message to several recipients, each on its own, and never twice.

```python
delivered = await deliver_each(params.to, post_to_one)
return Sent(sent=delivered.sent, refused=delivered.refused)
```

A refusal of one recipient (an :class:`ActionError`) does not stop the others; it is kept
with the product's words, and when every recipient was refused the action fails with an
``ActionError`` naming each refusal. A transient failure (:class:`TargetUnavailable`) before
anything was sent is raised at once, so the runner retries the whole action later (after the
product's ``Retry-After``); once something was sent it is kept as that recipient's refusal
instead, because a retry would send the message again to those who already have it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rampart.sdk.connector._errors import ActionError, TargetUnavailable

__all__ = ["Delivered", "deliver_each"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Delivered(Generic[T]):
    """What each recipient got: the sends that worked, and each refusal by recipient."""

    sent: list[T] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


async def deliver_each(
    recipients: Iterable[str], send: Callable[[str], Awaitable[T]]
) -> Delivered[T]:
    """``send(recipient)`` for each distinct recipient, in order; see the module for failures."""
    sent: list[T] = []
    refused: dict[str, str] = {}
    for recipient in dict.fromkeys(recipients):
        try:
            sent.append(await send(recipient))
        except TargetUnavailable as exc:
            if not sent:
                raise
            refused[recipient] = f"not sent, the product was busy: {exc}"
        except ActionError as exc:
            refused[recipient] = str(exc)
    if not sent:
        raise ActionError(
            "every recipient was refused: " + "; ".join(f"{r}: {why}" for r, why in refused.items())
        )
    return Delivered(sent, refused)
