"""The embedded mode's mail catcher: a real SMTP session in, the API's list and message out.

Mail is sent with the standard library's ``smtplib`` to the catcher's socket, as the approvals
service sends it; what the API answers is what ``rampart mail ls`` / ``show`` print.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest

from rampart.cli._embedded import embedded_specs
from rampart.core.auth import Role
from rampart.mailcatcher import store
from rampart.mailcatcher.spec import catcher_spec, listening_socket
from tests.harness import StartServices, memory_only

LINK = "http://127.0.0.1:8000/api/v1/approve/eyJhIjoiMDEi.c2ln"


def _send(port: int, *, to: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"] = "rampart@localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(f"<p><a href='{LINK}'>Review</a></p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


@memory_only
async def test_caught_mail_is_listed_and_read_by_admins_only(
    start_services: StartServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "KEEP", 3)
    sock = listening_socket()
    port = sock.getsockname()[1]
    async with start_services([catcher_spec(sock)]) as rampart:
        for number in range(4):
            await asyncio.to_thread(
                _send,
                port,
                to="Alice@Example.com" if number % 2 else "bob@example.com",
                subject=f"Approval needed {number}",
                text=f"Review and decide:\n{LINK}\n",
            )
        async with rampart.client(Role.ADMIN) as admin:
            listed = (await admin.get("/api/v1/mail")).json()
            assert [m["subject"] for m in listed] == [
                "Approval needed 3",
                "Approval needed 2",
                "Approval needed 1",
            ], "newest first, the oldest beyond KEEP gone"
            to_alice = (await admin.get("/api/v1/mail", params={"to": "alice@example.com"})).json()
            assert [m["to"] for m in to_alice] == [["Alice@Example.com"]] * 2
            message = (await admin.get(f"/api/v1/mail/{listed[0]['id']}")).json()
            assert message["sender"] == "rampart@localhost"
            assert message["text"] == f"Review and decide:\n{LINK}\n"
            assert message["links"] == [LINK]

            missing = await admin.get("/api/v1/mail/01a23225-a955-7d4d-8e18-57a5ab013a26")
            bad: Any = await admin.get("/api/v1/mail/not-an-id")
            too_many = await admin.get("/api/v1/mail", params={"limit": 501})
        for refused, status in ((missing, 404), (bad, 422), (too_many, 422)):
            assert refused.status_code == status, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
        async with rampart.client(Role.ANALYST) as analyst:
            # a decision link in the mail is a credential: analysts may not read it
            assert (await analyst.get("/api/v1/mail")).status_code == 403
            assert (await analyst.get(f"/api/v1/mail/{listed[0]['id']}")).status_code == 403


def test_the_catcher_is_served_only_when_no_smtp_server_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAMPART_APPROVALS_SMTP_HOST", raising=False)
    specs, sock = embedded_specs()
    assert sock is not None
    try:
        names = [s.name for s in specs]
        assert names[-1] == "mail-catcher"
        assert names.count("approvals") == 1
    finally:
        sock.close()
    monkeypatch.setenv("RAMPART_APPROVALS_SMTP_HOST", "mail.example.com")
    specs, sock = embedded_specs()
    assert sock is None
    assert "mail-catcher" not in [s.name for s in specs]
