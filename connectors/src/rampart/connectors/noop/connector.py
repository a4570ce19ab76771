"""The ``noop`` connector: implements every action of the catalog and touches nothing.

Each action answers with its parameters as data, after ``delay_seconds``; the actions that
keep a file (``get file``, ``get process dump``) also put those parameters in the vault as a
JSON file and answer its reference, as a real product's would. An asset can be
told to fail (``fail_with``), to be unreachable (``unavailable``, a transient failure the
runner retries) or to hang (``hang``), and to give every answer a ``verdict``, so tests,
benchmarks and demos can drive every path of the action broker, and the playbooks that
branch on a lookup's verdict, without a real product.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from rampart.sdk.catalog import CATALOG, ActionParams
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    TargetUnavailable,
    VaultRef,
    action,
)

WIDGET = """<table class="rampart-noop">
<caption>{{ result.action }} on {{ result.asset }}</caption>
<tbody>{% for name, value in result.params.items() %}
<tr><th>{{ name }}</th><td>{{ value }}</td></tr>{% endfor %}
</tbody></table>"""


Verdict = Literal["malicious", "suspicious", "clean", "unknown"]
# the catalog's actions that keep a file: here, a JSON file of what was asked
_KEEPS_A_FILE = frozenset({"get file", "get process dump"})


class NoopConfig(AssetConfig):
    """How a ``noop`` asset behaves."""

    delay_seconds: float = Field(default=0.0, ge=0, le=3600, description="wait before answering")
    fail_with: str | None = Field(
        default=None, max_length=500, description="fail every action with this message"
    )
    unavailable: bool = Field(
        default=False, description="answer as an unreachable product would (transient)"
    )
    hang: bool = Field(default=False, description="never answer")
    verdict: Verdict | None = Field(
        default=None, description="what every answer says of its indicator, as a lookup would"
    )
    token: SecretStr | None = Field(default=None, description="a secret, to exercise sealing")


class NoopResult(BaseModel):
    """What every ``noop`` action answers: the action and its parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: str
    action: str
    params: dict[str, Any]
    token_set: bool = Field(description="whether the decrypted configuration held the secret")
    verdict: Verdict | None = Field(default=None, description="the configured verdict, if any")
    file: VaultRef | None = Field(
        default=None,
        description="for the actions that keep a file (get file, get process dump): its "
        "parameters as JSON, stored in the vault",
    )


class NoopConnector(Connector[NoopConfig]):
    """Answers every catalog action with its parameters; for tests, benchmarks and demos."""

    name = "noop"
    vendor = "Rampart"
    product = "Rampart test"
    description = (
        "Implements every catalog action without touching anything: answers with the "
        "parameters after an optional delay, and can be told to fail, be unavailable or hang."
    )
    config_model = NoopConfig

    async def answer(self, ctx: ActionContext, action_name: str, params: BaseModel) -> NoopResult:
        """Behave as the configuration says, then echo the parameters."""
        config = self.config
        if config.hang:
            await asyncio.Event().wait()
        if config.delay_seconds:
            await asyncio.sleep(config.delay_seconds)
        if config.unavailable:
            raise TargetUnavailable(f"{ctx.asset}: the test product is unavailable")
        if config.fail_with is not None:
            raise ActionError(config.fail_with)
        echoed = params.model_dump(mode="json")
        file = None
        if action_name in _KEEPS_A_FILE and ctx.vault is not None:
            file = await ctx.vault.put(
                json.dumps({"asset": ctx.asset, "action": action_name, "params": echoed}).encode(),
                name=f"{action_name.replace(' ', '-')}.json",
                content_type="application/json",
            )
        return NoopResult(
            asset=ctx.asset,
            action=action_name,
            params=echoed,
            file=file,
            token_set=config.token is not None and bool(config.token.get_secret_value()),
            verdict=config.verdict,
        )


def _implementation(
    action_name: str, params_model: type[ActionParams]
) -> Callable[..., Awaitable[NoopResult]]:
    async def run(self: NoopConnector, ctx: ActionContext, params: BaseModel) -> NoopResult:
        return await self.answer(ctx, action_name, params)

    run.__name__ = run.__qualname__ = "act_" + action_name.replace(" ", "_")
    run.__doc__ = f"{CATALOG[action_name].description} (answers with the parameters)"
    # the registry reads the parameter model from the annotations, as for a written method
    run.__annotations__ = {
        "ctx": ActionContext,
        "params": params_model,
        "return": NoopResult,
    }
    return action(action_name, widget=WIDGET)(run)


for _name, _spec in CATALOG.items():
    setattr(
        NoopConnector, "act_" + _name.replace(" ", "_"), _implementation(_name, _spec.parameters)
    )
