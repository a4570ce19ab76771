"""The webhook SIEMs post to: authenticated by the source's secret, not by a Rampart token."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.routing import Route

from rampart.core.problems import Problem
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError
from rampart.ingest.events.store import Replayed, Stored, Submission
from rampart.ingest.events.unavailable import UNAVAILABLE, unavailable
from rampart.ingest.sources.models import NAME_PATTERN
from rampart.ingest.sources.webhook_auth import (
    Unauthorized,
    check_bearer,
    check_signature,
    check_url_token,
    presented_kind,
)
from rampart.ingest.state import IngestDep, IngestState, ingest_of
from rampart.ingest.webhook.intake import BodyError, parse_body
from rampart.ingest.webhook.models import IngestAccepted, IngestError, IngestResult

router = APIRouter(tags=["webhook"])

_NAME = re.compile(NAME_PATTERN)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rampart-ingest"'}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"description": "one event or an array of events"}},
            "text/plain": {"schema": {"type": "string", "description": "CEF lines"}},
        },
    },
    "security": [],
}


NOT_VALID = "the source or its secret is not valid"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers=_CHALLENGE)


@router.post(
    "/ingest/{source}",
    status_code=202,
    response_model=IngestAccepted,
    summary="Receive events from a SIEM (the source's secret or signature, no token)",
    openapi_extra=_BODY,
)
async def ingest_webhook(
    request: Request,
    source: str,
    ingest: IngestDep,
    token: Annotated[
        str | None, Query(description='the secret of a source with auth "url-token"')
    ] = None,
) -> Response:
    """Store the events of a body; in a batch, good events are stored and bad ones listed."""
    return await receive(request, source=source, ingest=ingest)


async def _plain(request: Request) -> Response:
    return await receive(request, source=request.path_params["source"], ingest=ingest_of(request))


# The plain route serves the requests; the one above documents them in OpenAPI. The body is
# bytes checked against the source's own secret, so FastAPI's per-request dependency and
# validation layers would add cost and nothing else on the busiest route.
router.routes.insert(
    0, Route("/ingest/{source}", _plain, methods=["POST"], include_in_schema=False)
)


async def receive(request: Request, *, source: str, ingest: IngestState) -> Response:
    """Authenticate, parse and store one webhook request."""
    body = await request.body()
    try:
        # what the request alone shows may be told; nothing here depends on the source
        kind = presented_kind(
            request.headers,
            window_s=ingest.settings.replay_window_s,
            url_token=request.query_params.get("token"),
        )
    except Unauthorized as exc:
        raise _unauthorized(str(exc)) from None
    config = None
    if _NAME.match(source):
        config = await ingest.sources.get(pool=ingest.pool, keyring=ingest.keyring, name=source)
    webhook_id = None
    try:
        if config is None or config.auth != kind:
            raise Unauthorized(NOT_VALID)
        if config.auth == "hmac":
            webhook_id = check_signature(
                request.headers, body, config.secrets, window_s=ingest.settings.replay_window_s
            )
        elif config.auth == "url-token":
            # opt-in for senders that cannot set headers; the token is redacted from logs
            check_url_token(request.query_params.get("token"), config.secrets)
        else:
            check_bearer(request.headers.get("authorization"), config.secrets)
    except Unauthorized:
        # one answer for an unknown source, another auth kind and a wrong secret, so the
        # answer never tells whether a source of that name exists
        raise _unauthorized(NOT_VALID) from None
    try:
        parsed = parse_body(
            config,
            request.headers.get("content-type", ""),
            body,
            max_events=ingest.settings.max_events_per_request,
        )
    except BodyError as exc:
        raise Problem(exc.status, str(exc), field=exc.field) from None
    good = [(p.index, p.outcome) for p in parsed if isinstance(p.outcome, NormalizedEvent)]
    errors = [
        IngestError(index=p.index, line=p.line, field=p.outcome.field, detail=p.outcome.message)
        for p in parsed
        if isinstance(p.outcome, PayloadError)
    ]
    if not good:
        first = errors[0]
        at_line = first.line is not None and not first.field.startswith("line")
        where = f"line {first.line}: " if at_line else ""
        raise Problem(
            422,
            f"{where}{first.field}: {first.detail}",
            field=first.field,
            errors=[e.model_dump() for e in errors],
        )

    def answer(stored: list[Stored]) -> str:
        accepted = IngestAccepted(
            accepted=len(stored),
            events=[
                IngestResult(index=index, id=result.id, created=result.created)
                for (index, _), result in zip(good, stored, strict=True)
            ],
            errors=errors,
        )
        return accepted.model_dump_json()

    submission = Submission(
        events=[event for _, event in good if isinstance(event, NormalizedEvent)],
        sla_minutes=ingest.settings.sla_for(config.sla_minutes),
        workbook=config.workbook,
        source_id=config.id,
        webhook_id=webhook_id,
        answer=answer,
    )
    try:
        stored = await ingest.writer.write(submission)
    except Replayed as replay:
        if replay.answer is None:  # accepted before answers were kept
            raise _unauthorized("webhook-id was already delivered: a replay") from None
        # a retry of a delivery already accepted: the same answer, nothing stored twice
        return Response(replay.answer, status_code=202, media_type="application/json")
    except UNAVAILABLE:
        raise unavailable() from None
    # already a validated model: answering with its JSON skips a second validation
    return Response(answer(stored), status_code=202, media_type="application/json")
