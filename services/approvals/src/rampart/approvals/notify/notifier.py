"""What the approvals service keeps to notify: settings, link signer, contact book, senders."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx

from rampart.approvals.notify.channels import Senders
from rampart.approvals.notify.contacts import Contact, ContactBook, HttpContactBook
from rampart.approvals.notify.links import LinkClaims, LinkSigner, derive_key
from rampart.approvals.notify.render import Notice, Renderable
from rampart.approvals.notify.settings import NotifySettings
from rampart.approvals.notify.sla_notice import SlaNotice
from rampart.core.registry_client import open_registry_client
from rampart.core.runtime import Resources
from rampart.core.store import Record


@dataclass(frozen=True, slots=True)
class Notifier:
    """Tells assignees about approvals and signs the links they decide through."""

    settings: NotifySettings
    signer: LinkSigner
    contacts: ContactBook
    senders: Senders
    public_url: str

    def link(self, claims: LinkClaims) -> str:
        """The decision page's address for ``claims``."""
        return f"{self.public_url}/api/v1/approve/{self.signer.mint(claims)}"

    def notice(self, row: Record, contact: Contact, now: datetime) -> Renderable:
        """The notice of one claimed notification row (see ``store.claim_due``)."""
        if row["timer_id"] is not None:
            return SlaNotice(
                notification_id=row["id"],
                reason=row["reason"],
                timer_id=row["timer_id"],
                subject_kind=row["subject_kind"],
                subject_id=row["subject_id"],
                event_id=row["event_id"],
                event_name=row["event_name"],
                severity=row["severity"],
                due_at=row["timer_due_at"],
                now=now,
                recipient=contact.name,
            )
        return self.approval_notice(row, contact, now)

    def approval_notice(self, row: Record, contact: Contact, now: datetime) -> Notice:
        """The notice of one claimed notification row about an approval stage."""
        link: str | None = None
        # a breach notice has no expiry: it tells of a stage that is over, so it has no link
        if row["link_expires_at"] is not None:
            link = self.link(
                LinkClaims(
                    link_id=row["id"],
                    approval_id=row["approval_id"],
                    stage_index=row["stage_index"],
                    owner_id=row["owner_id"],
                    fingerprint=row["fingerprint"] or "",
                    expires_at=row["link_expires_at"],
                )
            )
        outcome: str | None = None
        if row["reason"] == "breach":
            if row["approval_status"] == "pending":
                outcome = f"moved to the {row['current_stage']} stage"
            elif row["approval_status"] == "expired":
                outcome = "expired"
            else:
                outcome = f"was {row['approval_status']}"
        return Notice(
            notification_id=row["id"],
            reason=row["reason"],
            approval_id=row["approval_id"],
            action=row["action"],
            asset=row["asset"],
            connector=row["connector"],
            params=row["params"],
            requested_by=row["requested_by"],
            stage=row["stage"],
            due_at=row["due_at"],
            now=now,
            recipient=contact.name,
            link=link,
            outcome=outcome,
        )


@contextlib.asynccontextmanager
async def open_notifier(
    resources: Resources, settings: NotifySettings | None = None
) -> AsyncIterator[Notifier]:
    """The notifier of a running approvals service, with its HTTP clients."""
    settings = settings or NotifySettings()
    platform = resources.settings
    secret = settings.link_secret or platform.master_key
    if secret is None:
        raise RuntimeError("decision links need RAMPART_APPROVALS_LINK_SECRET or a master key")
    async with (
        open_registry_client(platform) as registry,
        httpx.AsyncClient(timeout=settings.send_timeout_s, follow_redirects=False) as http,
    ):
        yield Notifier(
            settings=settings,
            signer=LinkSigner(derive_key(secret.get_secret_value())),
            contacts=HttpContactBook(registry),
            senders=Senders(settings, http),
            public_url=(settings.public_url or platform.public_url).rstrip("/"),
        )
