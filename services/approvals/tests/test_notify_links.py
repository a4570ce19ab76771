"""Decision links: a signed, expiring, single-use link per assignee and stage, and its page.

A link decides without a Rampart login, after a confirmation step; a forged, expired,
replayed, other-stage or other-assignee link is refused with a 4xx page and the attempt is
written to the approval's history.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from rampart.approvals.notify.links import LinkClaims, LinkRefused, LinkSigner, derive_key
from rampart.core.messages import ApprovalDecided
from services.approvals.tests._harness import Owner, Rampart, approval_request, eventually
from services.approvals.tests._notify_fakes import (
    LINK_SECRET,
    Mailbox,
    contact_owner,
    history,
    notify_env,
    opened,
    smtp,
)

__all__ = ["notify_env", "smtp"]

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
SIGNER = LinkSigner(derive_key(LINK_SECRET))


def _claims(**changes: Any) -> LinkClaims:
    base = LinkClaims(
        link_id=uuid4(),
        approval_id=uuid4(),
        stage_index=0,
        owner_id=uuid4(),
        fingerprint="f" * 64,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return dataclasses.replace(base, **changes)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(token: str) -> dict[str, Any]:
    text = token.split(".")[0]
    body: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return body


# the signer alone


def test_a_minted_link_reads_back_until_it_expires() -> None:
    claims = _claims()
    token = SIGNER.mint(claims)
    assert SIGNER.read(token, now=claims.expires_at - timedelta(seconds=1)) == claims
    with pytest.raises(LinkRefused) as refused:
        SIGNER.read(token, now=claims.expires_at)
    assert refused.value.reason == "expired"


def test_a_link_with_a_changed_claim_is_forged() -> None:
    claims = _claims()
    token = SIGNER.mint(claims)
    body = _payload(token)
    body["o"] = str(uuid4())
    tampered = _b64(json.dumps(body, separators=(",", ":")).encode()) + "." + token.split(".")[1]
    with pytest.raises(LinkRefused) as refused:
        SIGNER.read(tampered, now=datetime(2029, 1, 1, tzinfo=UTC))
    assert refused.value.reason == "forged"
    assert refused.value.claims is not None
    assert str(refused.value.claims.owner_id) == body["o"]


def test_a_link_signed_with_another_key_is_forged() -> None:
    token = LinkSigner(derive_key("another secret entirely, 32 bytes+")).mint(_claims())
    with pytest.raises(LinkRefused) as refused:
        SIGNER.read(token, now=datetime(2029, 1, 1, tzinfo=UTC))
    assert refused.value.reason == "forged"


@pytest.mark.parametrize("token", ["", "abc", "a.b", "." * 3, "x" * 5000, "ä.ö"])
def test_garbage_is_forged(token: str) -> None:
    with pytest.raises(LinkRefused) as refused:
        SIGNER.read(token, now=datetime(2029, 1, 1, tzinfo=UTC))
    assert refused.value.reason == "forged"


# the page, end to end


async def _mailed_link(smtp: Mailbox, owner: Owner, *, nth: int = 0) -> str:
    mails = await eventually(lambda: smtp.to(f"{owner.name}@soc.example")[nth:])
    return mails[0].link()


async def _person(rampart: Rampart, prefix: str) -> Owner:
    name = f"{prefix}-{uuid4().hex[:8]}"
    return await contact_owner(rampart, name, email=f"{name}@soc.example")


def _form_token(page: httpx.Response) -> str:
    found = FORM_TOKEN.findall(page.text)
    assert len(found) == 1, page.text
    return str(found[0])


async def _decide(
    client: httpx.AsyncClient, link: str, decision: str, comment: str = ""
) -> httpx.Response:
    """Open the page, review, confirm: what a person does in the browser."""
    page = await client.get(link)
    assert page.status_code == 200, page.text
    review = await client.post(
        link,
        data={
            "step": "review",
            "form_token": _form_token(page),
            "decision": decision,
            "comment": comment,
        },
    )
    assert review.status_code == 200, review.text
    return await client.post(link, data={"step": "confirm", "form_token": _form_token(review)})


async def _refusals(rampart: Rampart, approval_id: str) -> list[tuple[str | None, str]]:
    return [
        (h["actor"], h["detail"]["reason"])
        for h in await history(rampart, approval_id)
        if h["kind"] == "link_refused"
    ]


async def _approval(rampart: Rampart, approval_id: str) -> dict[str, Any]:
    found = await rampart.admin.get(f"/api/v1/approvals/{approval_id}")
    assert found.status_code == 200
    body: dict[str, Any] = found.json()
    return body


async def test_the_page_shows_what_will_run_without_a_login(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice = await _person(rampart, "alice")
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    link = await _mailed_link(notify_env, alice)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for shown in ("terminate process", "web-01", "ssh", "&#34;pid&#34;: 4242", "primary"):
        assert shown in page.text, shown
    assert "playbook:contain-malware:run-1" in page.text
    assert "30 min" in page.text
    assert "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert (await _approval(rampart, approval_id))["status"] == "pending"


async def test_an_assignee_approves_through_the_link_after_confirming(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice = await _person(rampart, "alice")
    request = approval_request(("primary", [alice.id], 30))
    approval_id = await opened(rampart, request)
    link = await _mailed_link(notify_env, alice)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link)
        review = await browser.post(
            link,
            data={"step": "review", "form_token": _form_token(page), "decision": "approve"},
        )
        assert review.status_code == 200
        assert "You are about to approve terminate process on web-01" in review.text
        # reviewing is not deciding
        assert (await _approval(rampart, approval_id))["status"] == "pending"
        done = await browser.post(link, data={"step": "confirm", "form_token": _form_token(review)})
    assert done.status_code == 200, done.text
    assert "recorded: approve" in done.text
    detail = await _approval(rampart, approval_id)
    assert detail["status"] == "approved"
    assert detail["decided_by"] == str(alice.id)
    assert [(d["owner_id"], d["channel"]) for d in detail["decisions"]] == [(str(alice.id), "link")]
    decided = await eventually(
        lambda: [m for m in rampart.messages(ApprovalDecided) if str(m.approval_id) == approval_id]
    )
    assert decided[0].fingerprint == request.fingerprint


async def test_a_deny_through_the_link_keeps_the_comment(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice = await _person(rampart, "alice")
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    async with httpx.AsyncClient() as browser:
        done = await _decide(
            browser, await _mailed_link(notify_env, alice), "deny", "not during business hours"
        )
    assert done.status_code == 200, done.text
    detail = await _approval(rampart, approval_id)
    assert detail["status"] == "denied"
    assert detail["decisions"][0]["comment"] == "not during business hours"


async def test_a_used_link_is_refused_and_the_attempt_recorded(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice, carol = await _person(rampart, "alice"), await _person(rampart, "carol")
    request = approval_request(("primary", [alice.id, carol.id], 30), required=2)
    approval_id = await opened(rampart, request)
    link = await _mailed_link(notify_env, alice)
    async with httpx.AsyncClient() as browser:
        assert (await _decide(browser, link, "approve")).status_code == 200
        again = await browser.get(link)
    assert again.status_code == 410
    assert "used already" in again.text
    assert await _refusals(rampart, approval_id) == [(str(alice.id), "replayed")]
    detail = await _approval(rampart, approval_id)
    assert detail["status"] == "pending"
    assert len(detail["decisions"]) == 1


async def test_a_forged_link_is_refused_and_the_attempt_recorded(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice, mallory = await _person(rampart, "alice"), await _person(rampart, "mallory")
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    link = await _mailed_link(notify_env, alice)
    base, token = link.rsplit("/", 1)
    body = _payload(token)
    body["o"] = str(mallory.id)
    forged = _b64(json.dumps(body, separators=(",", ":")).encode()) + "." + token.split(".")[1]
    async with httpx.AsyncClient() as browser:
        refused = await browser.get(f"{base}/{forged}")
        garbage = await browser.get(f"{base}/not-a-link")
        posted = await browser.post(f"{base}/{forged}", data={"step": "confirm", "form_token": "x"})
    assert refused.status_code == 403
    assert garbage.status_code == 403
    assert posted.status_code == 403
    assert await _refusals(rampart, approval_id) == [
        (str(mallory.id), "forged"),
        (str(mallory.id), "forged"),
    ]
    assert (await _approval(rampart, approval_id))["decisions"] == []


async def test_an_expired_link_is_refused_and_the_attempt_recorded(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice, bob = await _person(rampart, "alice"), await _person(rampart, "bob")
    request = approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 60))
    approval_id = await opened(rampart, request)
    link = await _mailed_link(notify_env, alice)
    rampart.clock.advance(timedelta(minutes=30))
    async with httpx.AsyncClient() as browser:
        late = await browser.get(link)
    assert late.status_code == 410
    assert "expired" in late.text
    assert await _refusals(rampart, approval_id) == [(str(alice.id), "expired")]


async def test_a_link_for_another_stage_is_refused_and_the_attempt_recorded(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice, bob = await _person(rampart, "alice"), await _person(rampart, "bob")
    request = approval_request(("primary", [alice.id], 30), ("secondary", [bob.id], 60))
    approval_id = await opened(rampart, request)
    link = await _mailed_link(notify_env, alice)
    # a genuine link for bob's stage while the approval is still at alice's
    early = SIGNER.mint(
        _claims(
            approval_id=UUID(approval_id),
            stage_index=1,
            owner_id=bob.id,
            expires_at=rampart.clock.now() + timedelta(minutes=90),
        )
    )
    async with httpx.AsyncClient() as browser:
        refused = await browser.get(f"{link.rsplit('/', 1)[0]}/{early}")
    assert refused.status_code == 410
    assert "primary stage" in refused.text
    assert await _refusals(rampart, approval_id) == [(str(bob.id), "other_stage")]


async def test_a_link_for_someone_not_assigned_is_refused_and_the_attempt_recorded(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice, mallory = await _person(rampart, "alice"), await _person(rampart, "mallory")
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    link = await _mailed_link(notify_env, alice)
    theirs = SIGNER.mint(
        _claims(
            approval_id=UUID(approval_id),
            owner_id=mallory.id,
            expires_at=rampart.clock.now() + timedelta(minutes=30),
        )
    )
    async with httpx.AsyncClient() as browser:
        refused = await browser.get(f"{link.rsplit('/', 1)[0]}/{theirs}")
    assert refused.status_code == 403
    assert await _refusals(rampart, approval_id) == [(str(mallory.id), "other_assignee")]
    assert (await _approval(rampart, approval_id))["status"] == "pending"


async def test_a_link_for_a_different_action_is_refused(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice = await _person(rampart, "alice")
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    link = await _mailed_link(notify_env, alice)
    other = SIGNER.mint(
        _claims(
            approval_id=UUID(approval_id),
            owner_id=alice.id,
            fingerprint="0" * 64,
            expires_at=rampart.clock.now() + timedelta(minutes=30),
        )
    )
    async with httpx.AsyncClient() as browser:
        refused = await browser.get(f"{link.rsplit('/', 1)[0]}/{other}")
    assert refused.status_code == 403
    assert await _refusals(rampart, approval_id) == [(str(alice.id), "changed")]


async def test_each_form_posts_once_and_only_with_its_token(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice = await _person(rampart, "alice")
    approval_id = await opened(rampart, approval_request(("primary", [alice.id], 30)))
    link = await _mailed_link(notify_env, alice)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link)
        form = {"step": "review", "form_token": _form_token(page), "decision": "approve"}
        first = await browser.post(link, data=form)
        again = await browser.post(link, data=form)
        made_up = await browser.post(link, data={"step": "confirm", "form_token": "guess"})
        # a review form's token does not confirm: only the confirmation's token holds a decision
        unused_review = _form_token(await browser.get(link))
        review_as_confirm = await browser.post(
            link, data={"step": "confirm", "form_token": unused_review}
        )
        no_decision = await browser.post(
            link, data={"step": "review", "form_token": _form_token(await browser.get(link))}
        )
    assert first.status_code == 200
    assert again.status_code == 400
    assert made_up.status_code == 400
    assert review_as_confirm.status_code == 400
    assert no_decision.status_code == 422
    assert "decision: choose approve or deny" in no_decision.text
    assert (await _approval(rampart, approval_id))["status"] == "pending"


async def test_what_the_page_shows_from_data_is_escaped(
    notify_env: Mailbox, rampart: Rampart
) -> None:
    alice = await _person(rampart, "alice")
    request = approval_request(("primary", [alice.id], 30))
    request = request.model_copy(
        update={"params": {"cmd": "<script>alert(1)</script>"}, "requested_by": "<b>eve</b>"}
    )
    await opened(rampart, request)
    link = await _mailed_link(notify_env, alice)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link)
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;eve&lt;/b&gt;" in page.text
