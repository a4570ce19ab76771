"""Standard Webhooks signatures and bearer secrets, checked on the raw bytes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from rampart.ingest.sources.secrets import LiveSecret, hash_secret, new_secret, secret_key
from rampart.ingest.sources.webhook_auth import Unauthorized, check_bearer, check_signature, sign

BODY = b'{"a": 1}'


@pytest.fixture
def signed() -> tuple[str, tuple[LiveSecret, ...], dict[str, str], int]:
    """A secret, its live view, the headers of a body signed with it now, and now."""
    secret = new_secret()
    live = (LiveSecret(hash_secret(secret), secret_key(secret)),)
    now = int(time.time())
    signature = sign(secret, webhook_id="msg_1", timestamp=now, body=BODY)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    return secret, live, headers, now


def test_a_signature_is_accepted_with_its_webhook_id(
    signed: tuple[str, tuple[LiveSecret, ...], dict[str, str], int],
) -> None:
    _, live, headers, _ = signed
    assert check_signature(headers, BODY, live, window_s=300) == "msg_1"


def test_one_good_signature_among_several_is_enough(
    signed: tuple[str, tuple[LiveSecret, ...], dict[str, str], int],
) -> None:
    _, live, headers, _ = signed
    several = {**headers, "webhook-signature": f"v1,AAAA v2,zzz {headers['webhook-signature']}"}
    assert check_signature(several, BODY, live, window_s=300) == "msg_1"


Headers = dict[str, str]
CHANGES: dict[str, Callable[[Headers, int], Headers]] = {
    "other-id": lambda h, now: {**h, "webhook-id": "msg_2"},
    "other-timestamp": lambda h, now: {**h, "webhook-timestamp": str(now + 1)},
    "other-signature": lambda h, now: {**h, "webhook-signature": "v1,bm9wZQ=="},
    "no-signature": lambda h, now: {k: v for k, v in h.items() if k != "webhook-signature"},
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_changed_header_is_refused(
    signed: tuple[str, tuple[LiveSecret, ...], Headers, int],
    change: Callable[[Headers, int], Headers],
) -> None:
    _, live, headers, now = signed
    with pytest.raises(Unauthorized):
        check_signature(change(headers, now), BODY, live, window_s=300)


def test_a_changed_body_is_refused(
    signed: tuple[str, tuple[LiveSecret, ...], dict[str, str], int],
) -> None:
    _, live, headers, _ = signed
    with pytest.raises(Unauthorized, match="signature"):
        check_signature(headers, BODY + b" ", live, window_s=300)


def test_a_timestamp_outside_the_window_is_refused(
    signed: tuple[str, tuple[LiveSecret, ...], dict[str, str], int],
) -> None:
    _, live, headers, now = signed
    with pytest.raises(Unauthorized, match="timestamp"):
        check_signature(headers, BODY, live, window_s=300, now=now + 301)


def test_a_bearer_secret_must_match_exactly(
    signed: tuple[str, tuple[LiveSecret, ...], dict[str, str], int],
) -> None:
    secret, live, _, _ = signed
    check_bearer(f"Bearer {secret}", live)
    with pytest.raises(Unauthorized):
        check_bearer(f"Bearer {secret}x", live)
    with pytest.raises(Unauthorized):
        check_bearer(None, live)
