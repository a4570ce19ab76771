"""The HTTP connector and its unit tests that docs/connectors.md shows, run as shown."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


async def test_the_documented_connector_tests_pass_against_the_documented_connector(
    doc_example: Callable[[str], str], import_source: Callable[[str, str], Any]
) -> None:
    import_source("intel_api", doc_example("intel_api.py"))
    tests = import_source("test_intel_api", doc_example("test_intel_api.py"))
    ran = []
    for name, test in sorted(vars(tests).items()):
        if name.startswith("test_") and callable(test):
            outcome = test()
            if inspect.isawaitable(outcome):
                await outcome
            ran.append(name)
    assert ran == [
        "test_a_refused_token_is_an_action_error",
        "test_lookup_ip_returns_the_verdict",
        "test_the_declaration_matches_the_catalog",
    ]
