"""Load a playbook module from its source text and find its one decorated entry point.

This runs only inside a playbook process: importing a module runs its top-level code.
"""

from __future__ import annotations

import sys
import traceback
import types

from rampart.engine.sandbox.protocol import PlaybookMeta
from rampart.sdk.playbook import Playbook


class PlaybookSourceError(Exception):
    """The source does not import, or has no (or more than one) ``@playbook`` entry point."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def load(source: str, *, filename: str, module_name: str) -> Playbook:
    """Import ``source`` as a module and return its playbook."""
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        # the type and the line only: a message may quote the source or what it read
        raise PlaybookSourceError(
            f"the module does not compile: SyntaxError at line {exc.lineno}", line=exc.lineno
        ) from None
    module = types.ModuleType(module_name)
    module.__file__ = filename
    # dataclasses and typing look a module up by name while it runs
    sys.modules[module_name] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - playbooks are trusted code, run in their own process
    except Exception as exc:
        sys.modules.pop(module_name, None)
        line = _line(exc, filename)
        where = f" at line {line}" if line else ""
        raise PlaybookSourceError(
            f"the module does not import: {type(exc).__name__}{where}", line=line
        ) from None
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, Playbook) and getattr(value.func, "__module__", None) == module_name
    ]
    if not found:
        sys.modules.pop(module_name, None)
        raise PlaybookSourceError("no entry point: decorate one async function with @playbook")
    if len(found) > 1:
        sys.modules.pop(module_name, None)
        names = ", ".join(sorted(p.name for p in found))
        raise PlaybookSourceError(f"one @playbook per module, found {len(found)}: {names}")
    return found[0]


def _line(exc: BaseException, filename: str) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == filename:
            return frame.lineno
    return None


def describe(playbook: Playbook) -> PlaybookMeta:
    """What the engine stores about a playbook besides its source."""
    return PlaybookMeta(
        name=playbook.name,
        labels=list(playbook.labels),
        priority=playbook.priority,
        budget=playbook.budget.to_json(),
        on_update=playbook.on_update,
        has_predicate=playbook.when is not None,
        description=playbook.description,
        entry=getattr(playbook.func, "__name__", playbook.name),
    )
