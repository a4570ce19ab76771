"""A connector harness: run one action of a connector as the platform would, on a fake.

```python
harness = ConnectorHarness(MyConnector, {"url": "https://intel.example"},
                           http=httpx.MockTransport(answer))
harness.check()                                   # the declaration matches the catalog
result = await harness.run("lookup ip", ip="203.0.113.9")
html = harness.render("lookup ip", result)        # the action's widget, if it has one
```

The harness validates the configuration and the parameters, checks the result against the
action's output model and runs the same declaration checks as the platform's loader, so a
connector that passes here loads and runs in Rampart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from rampart.core.connectors import check_connector
from rampart.core.widgets import render_widget
from rampart.sdk.connector import (
    ActionContext,
    AssetConfig,
    Connector,
    ConnectorError,
    HttpClientFactory,
    SshConnect,
    Vault,
)

__all__ = ["ConnectorHarness"]

C = TypeVar("C", bound=Connector[Any])


def _client_on(transport: httpx.AsyncBaseTransport) -> HttpClientFactory:
    def factory(**options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(**{**options, "transport": transport})

    return factory


class ConnectorHarness(Generic[C]):
    """One connector with one asset configuration, its transports pointed where a test says.

    ``http`` is an httpx transport every ``ctx.http(...)`` client uses (``httpx.MockTransport``
    for scripted answers, ``httpx.ASGITransport`` for a fake product's app); ``ssh`` replaces
    ``ctx.ssh`` (by default ``asyncssh.connect``, for a real sshd in a test's namespace).
    """

    def __init__(
        self,
        connector: type[C],
        config: Mapping[str, Any] | AssetConfig,
        *,
        asset: str = "test-asset",
        http: httpx.AsyncBaseTransport | None = None,
        ssh: SshConnect | None = None,
        vault: Vault | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.connector_class = connector
        self.config = config if isinstance(config, AssetConfig) else connector.parse_config(config)
        self.connector: C = connector(self.config)
        transports: dict[str, Any] = {}
        if http is not None:
            transports["http"] = _client_on(http)
        if ssh is not None:
            transports["ssh"] = ssh
        self.context = ActionContext(
            asset=asset,
            vault=vault,
            log=log or logging.getLogger(f"rampart.connector.{getattr(connector, 'name', '')}"),
            **transports,
        )

    def problems(self) -> list[str]:
        """Every way the connector's declaration contradicts the catalog; empty when sound."""
        return check_connector(self.connector_class)

    def check(self) -> None:
        """Raise ConnectorError listing every problem of the declaration, as the loader would."""
        problems = self.problems()
        if problems:
            name = getattr(self.connector_class, "name", self.connector_class.__name__)
            raise ConnectorError(f"connector {name!r} is refused:\n  - " + "\n  - ".join(problems))

    async def run(
        self, action: str, params: Mapping[str, Any] | BaseModel | None = None, **fields: Any
    ) -> BaseModel:
        """Run one action with ``params`` (or keyword fields); returns its checked result."""
        given = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
        return await self.connector.run(action, {**given, **fields}, self.context)

    def render(self, action: str, result: BaseModel | Mapping[str, Any]) -> str:
        """The action's widget rendered for ``result``; raises LookupError if it has none."""
        binding = self.connector_class.bindings().get(action)
        if binding is None or binding.widget is None:
            raise LookupError(f"{self.connector_class.name}: {action!r} has no widget")
        return render_widget(
            binding.widget, result if isinstance(result, BaseModel) else dict(result)
        )
