"""What connector authors import: ``from rampart.sdk.connector import Connector, action, ...``.

```python
from rampart.sdk.connector import ActionContext, AssetConfig, Connector, LookupIpParams, action

class Reputation(Connector[MyConfig]):
    name, vendor, product, config_model = "my-intel", "Example", "Intel API", MyConfig

    @action("lookup ip")
    async def lookup_ip(self, ctx: ActionContext, params: LookupIpParams) -> Verdict:
        async with ctx.http(base_url=self.config.url) as client:
            ...
```

A connector declares its asset configuration (an :class:`AssetConfig`, secrets typed
``SecretStr``), implements catalog actions with ``@action`` (each with a pydantic output
model and optionally a ``widget=`` Jinja2 template), and reaches its product only through the
transports of its :class:`ActionContext`. Errors: see :mod:`rampart.sdk.connector._errors`;
``ActionError`` is the one to raise when the product refuses. The connector harness of
:mod:`rampart.sdk.testing` runs an action against a fake transport in a unit test.
"""

from rampart.core.vault import Vault, VaultRef
from rampart.sdk.catalog import (
    CATALOG,
    ActionParams,
    DomainParams,
    GetFileParams,
    HostParams,
    IpParams,
    ListProcessesParams,
    LookupDomainParams,
    LookupHashParams,
    LookupIpParams,
    LookupUrlParams,
    NoParams,
    ProcessParams,
    RunQueryParams,
    RunScriptParams,
    SendMessageParams,
    TerminateProcessParams,
    UserParams,
    VmParams,
)
from rampart.sdk.connector._config import AssetConfig, secret_fields
from rampart.sdk.connector._context import ActionContext, HttpClientFactory, SshConnect
from rampart.sdk.connector._declare import ActionBinding, Connector, action
from rampart.sdk.connector._errors import (
    ActionError,
    ActionNotImplemented,
    ConnectorError,
    InvalidConfiguration,
    InvalidParameters,
    TargetUnavailable,
)

__all__ = [
    "CATALOG",
    "ActionBinding",
    "ActionContext",
    "ActionError",
    "ActionNotImplemented",
    "ActionParams",
    "AssetConfig",
    "Connector",
    "ConnectorError",
    "DomainParams",
    "GetFileParams",
    "HostParams",
    "HttpClientFactory",
    "InvalidConfiguration",
    "InvalidParameters",
    "IpParams",
    "ListProcessesParams",
    "LookupDomainParams",
    "LookupHashParams",
    "LookupIpParams",
    "LookupUrlParams",
    "NoParams",
    "ProcessParams",
    "RunQueryParams",
    "RunScriptParams",
    "SendMessageParams",
    "SshConnect",
    "TargetUnavailable",
    "TerminateProcessParams",
    "UserParams",
    "Vault",
    "VaultRef",
    "VmParams",
    "action",
    "secret_fields",
]
