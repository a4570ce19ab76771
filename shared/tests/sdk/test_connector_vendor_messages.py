"""The product's own words are found in the error bodies of the products connectors reach."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rampart.sdk.connector import ActionContext, ActionError, product_client


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"errorSummary": "Invalid token provided", "errorCode": "E0000011"}, "Invalid token"),
        ({"error": {"code": "NotFoundError", "message": "Domain not found"}}, "Domain not found"),
        ({"error": {"type": "security_exception", "reason": "unable to auth"}}, "unable to auth"),
        ({"errorMessages": ["Issue does not exist"], "errors": {}}, "Issue does not exist"),
        ({"messages": [{"type": "WARN", "text": "call not properly authenticated"}]}, "call not"),
        ({"errors": [{"detail": "Authentication failed.", "status": 401}]}, "Authentication"),
    ],
)
async def test_the_vendors_message_is_in_the_error(body: dict[str, Any], words: str) -> None:
    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        answer = httpx.MockTransport(lambda r: httpx.Response(401, json=body))
        return httpx.AsyncClient(**options, transport=answer)

    async with product_client(ActionContext(asset="a", http=factory), "https://p.example") as api:
        with pytest.raises(ActionError) as caught:
            await api.get("/x")
    assert f"answered 401: {words}" in str(caught.value)
    assert '"' not in str(caught.value).split(": ", 1)[1]  # the words, not a JSON dump
