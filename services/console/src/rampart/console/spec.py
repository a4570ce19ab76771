"""The console as the platform runs it: pages only, no queues, no workers, no tables."""

from __future__ import annotations

from rampart.console.state import ConsoleState, console_state
from rampart.console.views import router
from rampart.core.runtime import ServiceSpec

SPEC: ServiceSpec[ConsoleState] = ServiceSpec(
    name="console",
    schema="console",
    migrations_package="rampart.console",
    state=console_state,
    pages=(router,),
)
