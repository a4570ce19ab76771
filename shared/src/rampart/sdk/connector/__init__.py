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
``ActionError`` is the one to raise when the product refuses. An HTTP product's
configuration extends :class:`ProductConfig` (or :class:`TokenOrPassword`), which opens its
clients; see :mod:`rampart.sdk.connector._product`. The connector harness of
:mod:`rampart.sdk.testing` runs an action against a fake transport in a unit test.
"""

from rampart.core.vault import Vault, VaultRef
from rampart.sdk.catalog import (
    CATALOG,
    ActionParams,
    CreateTicketParams,
    DomainParams,
    GetFileParams,
    HashParams,
    HostParams,
    HuntHashParams,
    HuntIpParams,
    IpParams,
    ListEntryParams,
    ListProcessesParams,
    LookupDomainParams,
    LookupHashParams,
    LookupIpParams,
    LookupUrlParams,
    NoParams,
    ProcessParams,
    QuarantineFileParams,
    RunQueryParams,
    RunScriptParams,
    SendMessageParams,
    TerminateProcessParams,
    UpdateTicketParams,
    UrlParams,
    UserParams,
    VmParams,
)
from rampart.sdk.connector._config import AssetConfig, destination_fields, secret_fields
from rampart.sdk.connector._context import ActionContext, HttpClientFactory, SshConnect
from rampart.sdk.connector._declare import ActionBinding, Connector, action
from rampart.sdk.connector._delivery import Delivered, deliver_each
from rampart.sdk.connector._errors import (
    ActionError,
    ActionNotImplemented,
    ConnectorError,
    InvalidConfiguration,
    InvalidParameters,
    TargetUnavailable,
)
from rampart.sdk.connector._http import (
    HttpsUrl,
    ProductClient,
    RetryAfter,
    TlsOptions,
    check_answer,
    product_client,
    retry_after_seconds,
    same_origin,
)
from rampart.sdk.connector._oauth import ClientCredentials, TokenCache
from rampart.sdk.connector._paging import Collected, collect, follow_links, next_link
from rampart.sdk.connector._product import (
    HttpOptions,
    ProductConfig,
    TokenOrPassword,
    Webhooks,
    WebhookUrl,
    check_webhooks,
    post_webhook,
)

__all__ = [
    "CATALOG",
    "ActionBinding",
    "ActionContext",
    "ActionError",
    "ActionNotImplemented",
    "ActionParams",
    "AssetConfig",
    "ClientCredentials",
    "Collected",
    "Connector",
    "ConnectorError",
    "CreateTicketParams",
    "Delivered",
    "DomainParams",
    "GetFileParams",
    "HashParams",
    "HostParams",
    "HttpClientFactory",
    "HttpOptions",
    "HttpsUrl",
    "HuntHashParams",
    "HuntIpParams",
    "InvalidConfiguration",
    "InvalidParameters",
    "IpParams",
    "ListEntryParams",
    "ListProcessesParams",
    "LookupDomainParams",
    "LookupHashParams",
    "LookupIpParams",
    "LookupUrlParams",
    "NoParams",
    "ProcessParams",
    "ProductClient",
    "ProductConfig",
    "QuarantineFileParams",
    "RetryAfter",
    "RunQueryParams",
    "RunScriptParams",
    "SendMessageParams",
    "SshConnect",
    "TargetUnavailable",
    "TerminateProcessParams",
    "TlsOptions",
    "TokenCache",
    "TokenOrPassword",
    "UpdateTicketParams",
    "UrlParams",
    "UserParams",
    "Vault",
    "VaultRef",
    "VmParams",
    "WebhookUrl",
    "Webhooks",
    "action",
    "check_answer",
    "check_webhooks",
    "collect",
    "deliver_each",
    "destination_fields",
    "follow_links",
    "next_link",
    "post_webhook",
    "product_client",
    "retry_after_seconds",
    "same_origin",
    "secret_fields",
]
