"""What ``ctx.act`` checks when a playbook issues it: one target, a known verb, valid parameters.

Both the engine's context and ``rampart.sdk.testing.PlaybookHarness`` call ``check_act``, so
a playbook that passes its own unit tests fails no differently in the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from rampart.sdk.catalog import InvalidParameters, validate_params
from rampart.sdk.playbook._results import InvalidAction

__all__ = [
    "MAX_DURATION",
    "TARGET_KINDS",
    "check_act",
    "describe_act",
    "duration_seconds",
    "jsonable",
]

TARGET_KINDS = ("asset", "tag", "product")
MAX_DURATION = timedelta(days=366)
"""The longest a playbook may sleep or give a person to answer."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types; UUIDs, times and enums become strings, durations seconds.

    What a playbook passes to ``ctx`` is stored as JSON; anything else is a ``TypeError``, and
    what JSON or PostgreSQL cannot keep faithfully (NaN and infinite numbers, NUL characters)
    is a ``ValueError`` naming where it is, raised at the call that produced it.
    """
    plain = json.loads(json.dumps(value, default=_plain, sort_keys=True))
    _check_storable(plain, "value")
    return plain


def _check_storable(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value!r}: numbers must be finite")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where} holds a NUL character (\\x00), which cannot be stored")
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise ValueError(f"a key of {where} holds a NUL character (\\x00)")
            _check_storable(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_storable(item, f"{where}[{index}]")


def duration_seconds(duration: float | timedelta, *, what: str = "a duration") -> float:
    """``duration`` in seconds: finite, not negative, at most :data:`MAX_DURATION`."""
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a finite number of seconds, not negative: {duration!r}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{what} of {duration!r} is longer than {MAX_DURATION.days} days")
    return seconds


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | datetime):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON: pass plain values to ctx")


def describe_act(action: str, target: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """``act('block ip', asset='fw-1', ip='192.0.2.1')``: a call as a reader would write it."""
    parts = [repr(action), *(f"{k}={v!r}" for k, v in target.items())]
    parts.extend(f"{k}={v!r}" for k, v in params.items())
    return f"act({', '.join(parts)})"


def check_act(
    action: str,
    *,
    step: int,
    asset: str | None,
    tag: str | None,
    product: str | None,
    params: Mapping[str, Any],
) -> dict[str, str]:
    """The call's target (``{"asset": name}``, ...) once the call is known to be valid.

    Raises ``InvalidAction`` naming ``step`` and the fields at fault when the call has not
    exactly one target, names no action of the catalog, or has parameters its schema refuses.
    """
    given = {k: v for k, v in zip(TARGET_KINDS, (asset, tag, product), strict=True) if v}
    call = describe_act(action, given, params)
    if len(given) != 1:
        raise InvalidAction(
            f"step {step}: {call} needs exactly one of asset=, tag= or product=",
            step=step,
            fields=("target",),
        )
    try:
        validate_params(action, params)
    except InvalidParameters as exc:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        raise InvalidAction(
            f"step {step}: {call} does not match the parameters of {action!r}: {detail}",
            step=step,
            fields=tuple(e["field"] for e in exc.errors),
        ) from None
    except LookupError:
        raise InvalidAction(
            f"step {step}: {call}: {action!r} is not an action of the catalog",
            step=step,
            fields=("action",),
        ) from None
    return dict(given)
