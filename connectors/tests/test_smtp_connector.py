"""The smtp connector against a real SMTP server (aiosmtpd) on a loopback port.

The server requires STARTTLS (with a certificate the test makes and the asset's ``ca_cert``
trusts) and authentication (AUTH PLAIN/LOGIN, only after STARTTLS), refuses recipients at
``refused.test`` with 550, and keeps every message it accepts with the state of the session
it came in on, so a test reads what really arrived.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rampart.connectors.smtp import SmtpConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness
from tests._processes import free_port
from tests.harness import memory_only

USER, PASSWORD = "rampart", "smtp-secret-51d0"


@dataclass
class Arrived:
    """One accepted message and the session it came in on."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool


@dataclass
class Mailbox:
    """The server's handler: refuses recipients at refused.test, keeps the rest."""

    port: int
    ca_pem: str
    arrived: list[Arrived] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.test"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.arrived.append(
            Arrived(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                message,
                tls=session.ssl is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 2.0.0 queued"

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "host": "localhost",
            "port": self.port,
            "ca_cert": self.ca_pem,
            "username": USER,
            "password": PASSWORD,
            "from_address": "soc@rampart.test",
            "timeout_s": 10,
            **overrides,
        }


def _certificate(folder: Path) -> tuple[ssl.SSLContext, str]:
    """A self-signed certificate for localhost and 127.0.0.1: the server's context, its PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "cert.pem").write_text(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context, pem


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    """aiosmtpd on a free port: STARTTLS and AUTH required."""
    context, pem = _certificate(tmp_path_factory.mktemp("smtp"))
    box = Mailbox(free_port(), pem)
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=box.port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def test_declaration_matches_the_catalog(mailbox: Mailbox) -> None:
    ConnectorHarness(SmtpConnector, mailbox.config()).check()
    assert set(SmtpConnector.bindings()) == {"send message", "test connectivity"}


async def test_a_message_arrives_over_starttls_after_login(mailbox: Mailbox) -> None:
    smtp = ConnectorHarness(SmtpConnector, mailbox.config())
    result = await smtp.run(
        "send message",
        to=["ir@rampart.test", "ciso@rampart.test"],
        subject="Host web-01 isolated",
        body="web-01 was isolated at 10:02.\nTicket: INC-7",
    )
    sent = result.model_dump()
    [mail] = [m for m in mailbox.arrived if m.message["Message-ID"] == sent["message_id"]]
    assert (mail.tls, mail.authenticated) == (True, True)
    assert mail.mail_from == "soc@rampart.test"
    assert mail.rcpt_tos == ["ir@rampart.test", "ciso@rampart.test"]
    assert mail.message["Subject"] == "Host web-01 isolated"
    assert mail.message["To"] == "ir@rampart.test, ciso@rampart.test"
    text = mail.message.get_content().replace("\r\n", "\n")
    assert text == "web-01 was isolated at 10:02.\nTicket: INC-7\n"
    assert sent["accepted"] == ["ir@rampart.test", "ciso@rampart.test"]
    assert sent["refused"] == {}
    assert sent["reply"].startswith("2.0.0 queued")
    assert "ir@rampart.test, ciso@rampart.test" in smtp.render("send message", result)


async def test_refused_recipients_are_reported_and_all_refused_fails(mailbox: Mailbox) -> None:
    smtp = ConnectorHarness(SmtpConnector, mailbox.config())
    result = await smtp.run(
        "send message", to=["ir@rampart.test", "ghost@refused.test"], body="partial"
    )
    sent = result.model_dump()
    assert sent["accepted"] == ["ir@rampart.test"]
    assert sent["refused"] == {"ghost@refused.test": "550 5.1.1 no such mailbox"}
    assert mailbox.arrived[-1].rcpt_tos == ["ir@rampart.test"]
    count = len(mailbox.arrived)
    with pytest.raises(ActionError, match="every recipient was refused"):
        await smtp.run("send message", to=["ghost@refused.test"], body="nobody")
    with pytest.raises(ActionError, match="not an e-mail address: 'ops team'"):
        await smtp.run("send message", to=["ops team"], body="x")
    assert len(mailbox.arrived) == count


async def test_a_wrong_password_fails_without_showing_it(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = ConnectorHarness(SmtpConnector, mailbox.config(password="wrong-pw-77aa"))
    with pytest.raises(ActionError, match="login as 'rampart' was refused") as caught:
        await smtp.run("send message", to=["ir@rampart.test"], body="x")
    assert "wrong-pw-77aa" not in str(caught.value)
    assert "wrong-pw-77aa" not in caplog.text
    reached = await ConnectorHarness(SmtpConnector, mailbox.config()).run("test connectivity")
    assert reached.model_dump()["tls"] is True
    assert reached.model_dump()["authenticated"] is True
    assert PASSWORD not in caplog.text


async def test_an_untrusted_certificate_or_no_starttls_is_refused(mailbox: Mailbox) -> None:
    count = len(mailbox.arrived)
    untrusted = ConnectorHarness(SmtpConnector, mailbox.config(ca_cert=None))
    with pytest.raises(ActionError, match="certificate is not trusted"):
        await untrusted.run("send message", to=["ir@rampart.test"], body="x")
    # Without TLS the server offers no AUTH, and the password is never sent in the clear.
    plain = ConnectorHarness(SmtpConnector, mailbox.config(security="none"))
    with pytest.raises(ActionError, match="AUTH extension is not supported"):
        await plain.run("send message", to=["ir@rampart.test"], body="x")
    assert len(mailbox.arrived) == count
    down = ConnectorHarness(SmtpConnector, mailbox.config(port=free_port()))
    with pytest.raises(TargetUnavailable, match="is unreachable"):
        await down.run("test connectivity")


BROKER_VERBS = ("send message",)
"""The verbs the through-the-broker test below drives (the catalog coverage test reads them)."""


@memory_only
async def test_playbook_sends_a_message_through_the_broker(
    mailbox: Mailbox, playbook_run: Any
) -> None:
    run = await playbook_run(
        "smtp",
        mailbox.config(),
        f"""
result = await ctx.act({BROKER_VERBS[0]!r}, asset=ASSET, to=["ir@rampart.test"],
                       subject="from a playbook", body=f"event {{event.name}}")
[outcome] = result.results
return {{"status": outcome.status, "data": outcome.data}}
""",
    )
    assert run["status"] == "completed", run
    assert run["result"]["status"] == "success"
    [data] = run["result"]["data"]
    [mail] = [m for m in mailbox.arrived if m.message["Message-ID"] == data["message_id"]]
    assert mail.message["Subject"] == "from a playbook"
    assert mail.message.get_content().startswith("event ")
    assert (mail.tls, mail.authenticated) == (True, True)
