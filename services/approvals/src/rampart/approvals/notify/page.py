"""The decision page a notification links to: no Rampart login, only a valid link.

``GET`` shows what will run and a form; posting it shows a confirmation; confirming decides
through ``service.decide`` with channel ``link``. Each form carries a one-time token stored
(hashed) by the service, and the confirmation's token holds the decision that was reviewed.
A link that is forged, expired, used, for another stage or another assignee is refused with a
4xx page and the attempt is written to the approval's history.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from rampart.approvals import service
from rampart.approvals.models import ApprovalDetail, DecisionCreate
from rampart.approvals.notify import store
from rampart.approvals.notify.links import LinkClaims, LinkRefused, RefusalReason
from rampart.approvals.notify.render import params_text, templates, time_left
from rampart.approvals.state import Approvals
from rampart.core.auth import Principal, Role
from rampart.core.deps import Conn
from rampart.core.errors import DomainError

# a page for people, not an API: outside the OpenAPI document (whose every route needs a
# bearer token); a valid link is what authorises it
router = APIRouter(tags=["approvals"], include_in_schema=False, default_response_class=HTMLResponse)

FORM_TTL = timedelta(hours=1)
MAX_COMMENT = 4000
_STATUS: dict[RefusalReason, int] = {
    "forged": 403,
    "other_assignee": 403,
    "changed": 403,
    "expired": 410,
    "replayed": 410,
    "other_stage": 410,
    "finished": 409,
}
_HEADERS = {
    # nothing on these pages runs a script; forms post only back here; no framing
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    # the link is the credential: never hand it on in a Referer or keep it in a cache
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _refused(refused: LinkRefused) -> HTMLResponse:
    return _page(
        "refused.html",
        _STATUS[refused.reason],
        title="This link cannot be used",
        message=refused.message,
    )


async def _check(
    *, conn: Conn, state: Approvals, token: str, now: datetime
) -> tuple[LinkClaims, ApprovalDetail]:
    """The link's claims and approval if it may decide now; else ``LinkRefused``, recorded."""
    try:
        claims = state.notifier.signer.read(token, now=now)
        approval = await service.get(conn=conn, approval_id=claims.approval_id)
        if approval is None:
            raise LinkRefused("forged", "this decision link names no approval", None)
        if approval.status != "pending":
            raise LinkRefused("finished", f"this approval is {approval.status} already", claims)
        if await store.link_used(conn=conn, link_id=claims.link_id):
            raise LinkRefused("replayed", "this decision link was used already", claims)
        stages = approval.stages
        if claims.stage_index >= len(stages) or stages[claims.stage_index].stage != approval.stage:
            raise LinkRefused(
                "other_stage", f"the approval is at its {approval.stage} stage now", claims
            )
        if claims.fingerprint != (approval.fingerprint or ""):
            raise LinkRefused("changed", "what would run is not what this link was for", claims)
        if claims.owner_id not in stages[claims.stage_index].assignees:
            raise LinkRefused(
                "other_assignee", "this link's owner does not decide this stage", claims
            )
    except LinkRefused as refused:
        await _record_refusal(conn=conn, refused=refused)
        raise
    return claims, approval


async def _record_refusal(*, conn: Conn, refused: LinkRefused) -> None:
    claims = refused.claims
    if claims is None:
        return
    known = await conn.fetchval(
        f"SELECT true FROM {store.SCHEMA}.approvals WHERE id = $1", claims.approval_id
    )
    if known:
        # a forged link's claims are unproven: recorded as what it claimed to be
        await store.record(
            conn=conn,
            approval_id=claims.approval_id,
            kind="link_refused",
            actor=str(claims.owner_id),
            channel="link",
            detail={
                "reason": refused.reason,
                "stage_index": claims.stage_index,
                "link": str(claims.link_id),
            },
        )


async def _review_form(
    *,
    conn: Conn,
    claims: LinkClaims,
    approval: ApprovalDetail,
    now: datetime,
    status: int = 200,
    error: str | None = None,
    comment: str = "",
) -> HTMLResponse:
    form_token = secrets.token_urlsafe(32)
    await store.issue_form(
        conn=conn,
        form_token=form_token,
        link_id=claims.link_id,
        step="review",
        expires_at=min(claims.expires_at, now + FORM_TTL),
        now=now,
    )
    return _page(
        "decide.html",
        status,
        approval=approval,
        params=params_text(approval.params),
        time_left=time_left(approval.due_at, now),
        form_token=form_token,
        error=error,
        comment=comment,
    )


@router.get("/approve/{token}", summary="The decision page of a notification's link")
async def decision_page(token: str, conn: Conn, state: Approvals) -> HTMLResponse:
    """What will run and a form to approve or deny, for the link's assignee."""
    now = state.clock.now()
    try:
        claims, approval = await _check(conn=conn, state=state, token=token, now=now)
    except LinkRefused as refused:
        return _refused(refused)
    return await _review_form(conn=conn, claims=claims, approval=approval, now=now)


def _stale_form() -> HTMLResponse:
    return _page(
        "refused.html",
        400,
        title="This form was sent already or has expired",
        message="Open the link from your notification again to decide.",
    )


@router.post("/approve/{token}", summary="Review, then confirm, a decision through a link")
async def decision_post(token: str, request: Request, conn: Conn, state: Approvals) -> HTMLResponse:
    """``step=review`` shows the confirmation; ``step=confirm`` decides, once."""
    now = state.clock.now()
    raw = (await request.body()).decode("utf-8", "replace")
    fields = {k: v[0] for k, v in parse_qs(raw, max_num_fields=10).items()}
    try:
        claims, approval = await _check(conn=conn, state=state, token=token, now=now)
    except LinkRefused as refused:
        return _refused(refused)
    step = fields.get("step")
    form_token = fields.get("form_token", "")
    if step == "review":
        if (
            await store.take_form(
                conn=conn, form_token=form_token, link_id=claims.link_id, step="review", now=now
            )
            is None
        ):
            return _stale_form()
        decision = fields.get("decision")
        comment = fields.get("comment", "")
        error: str | None = None
        if decision not in ("approve", "deny"):
            error = "decision: choose approve or deny"
        elif len(comment) > MAX_COMMENT:
            error = f"comment: at most {MAX_COMMENT} characters"
        if error is not None:
            return await _review_form(
                conn=conn,
                claims=claims,
                approval=approval,
                now=now,
                status=422,
                error=error,
                comment=comment[:MAX_COMMENT],
            )
        confirm_token = secrets.token_urlsafe(32)
        await store.issue_form(
            conn=conn,
            form_token=confirm_token,
            link_id=claims.link_id,
            step="confirm",
            expires_at=min(claims.expires_at, now + FORM_TTL),
            now=now,
            decision=decision,
            comment=comment,
        )
        return _page(
            "confirm.html",
            approval=approval,
            params=params_text(approval.params),
            decision=decision,
            comment=comment,
            form_token=confirm_token,
        )
    if step != "confirm":
        return _page("refused.html", 400, title="Unknown step", message="step: review or confirm")
    return await _confirm(conn=conn, claims=claims, form_token=form_token, now=now)


async def _confirm(
    *, conn: Conn, claims: LinkClaims, form_token: str, now: datetime
) -> HTMLResponse:
    async with conn.transaction():
        reviewed = await store.take_form(
            conn=conn, form_token=form_token, link_id=claims.link_id, step="confirm", now=now
        )
        if reviewed is None:
            return _stale_form()
        if not await store.use_link(
            conn=conn,
            link_id=claims.link_id,
            approval_id=claims.approval_id,
            owner_id=claims.owner_id,
            now=now,
        ):
            # another request with this link decided a moment ago
            refused = LinkRefused("replayed", "this decision link was used already", claims)
            await _record_refusal(conn=conn, refused=refused)
            return _refused(refused)
        who = Principal(
            token_id=claims.link_id,
            name=f"link:{claims.owner_id}",
            role=Role.APPROVER,
            subject=str(claims.owner_id),
        )
        decision = DecisionCreate(decision=reviewed["decision"], comment=reviewed["comment"] or "")
        try:
            detail = await service.decide(
                conn=conn,
                approval_id=claims.approval_id,
                who=who,
                decision=decision,
                now=now,
                channel="link",
            )
        except DomainError as exc:
            # the link is spent either way; the refusal is in the history already
            return _page("refused.html", exc.status, title="Not recorded", message=exc.detail)
    return _page("done.html", approval=detail, decision=decision.decision)
