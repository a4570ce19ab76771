"""FastAPI dependencies every service's routes use: the database and the service's state.

```python
@router.get("/events/{event_id}")
async def get_event(event_id: UUID, conn: Conn, _who: Reader) -> EventPublic: ...

IngestDep = Annotated[IngestState, Depends(service_state(IngestState))]
```
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from rampart.core.auth._deps import identify_caller
from rampart.core.auth._tokens import Principal
from rampart.core.runtime import LifespanState, Resources
from rampart.core.store import Connection, Pool

S = TypeVar("S")


def lifespan_state(request: HTTPConnection) -> LifespanState:
    """The app's typed lifespan state."""
    return cast(LifespanState, request.state._state)


def _pool(request: HTTPConnection) -> Pool:
    return lifespan_state(request)["pool"]


async def _connection(
    request: HTTPConnection, _caller: Annotated[Principal | None, Depends(identify_caller)]
) -> AsyncIterator[Connection]:
    # the caller's token is verified first: see identify_caller
    async with _pool(request).acquire() as conn:
        yield conn


def _resources(request: HTTPConnection) -> Resources:
    return lifespan_state(request)["resources"]


Conn = Annotated[Connection, Depends(_connection)]
"""A pooled connection for the request (and, in a message handler, the handler's transaction)."""

DbPool = Annotated[Pool, Depends(_pool)]
"""The service's pool, for routes that hold no connection while they wait."""

Platform = Annotated[Resources, Depends(_resources)]
"""The platform's resources: settings, pool, bus, keyring, metrics."""


def service_state(kind: type[S]) -> Callable[[HTTPConnection], S]:
    """A dependency that returns the running state of type ``kind``."""

    def dependency(request: HTTPConnection) -> S:
        services: dict[type[Any], Any] = lifespan_state(request)["services"]
        try:
            return cast(S, services[kind])
        except KeyError:
            raise RuntimeError(f"no running service keeps a {kind.__name__}") from None

    dependency.__name__ = f"{kind.__name__}_state"
    return dependency
