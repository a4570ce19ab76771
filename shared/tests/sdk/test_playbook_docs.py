"""The harness example of ``docs/playbooks.md`` runs as the tests it shows."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[3] / "docs" / "playbooks.md"
BLOCK = re.compile(r"```python\n(# harness example\n.*?)```", re.S)


def harness_example() -> dict[str, Any]:
    [source] = BLOCK.findall(DOC.read_text())
    namespace: dict[str, Any] = {"__name__": "docs_harness_example"}
    exec(compile(source, f"{DOC}:harness example", "exec"), namespace)  # noqa: S102
    return namespace


async def test_the_documented_harness_example_passes() -> None:
    namespace = harness_example()
    tests = {n: f for n, f in namespace.items() if n.startswith("test_") and callable(f)}
    assert set(tests) == {
        "test_a_denied_termination_is_noted",
        "test_no_answer_waits_then_blocks_everywhere",
        "test_a_misspelt_parameter_fails_at_once",
    }
    for test in tests.values():
        assert inspect.iscoroutinefunction(test)
        await test()
