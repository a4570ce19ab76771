"""The console's pages: sign-in, the event queue and page, approvals, and the admin pages.

Every page is rendered on the server from the services' APIs, called with the signed-in
person's token. A form posts back here with the session's CSRF value; a refused form is shown
again with the API's problem details beside the fields it names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.background import BackgroundTask

from rampart.console.api import Api, ApiProblem, SignedOut
from rampart.console.session import (
    LOGIN_COOKIE,
    Session,
    clear_session,
    new_login_nonce,
    read_session,
    same_value,
    set_login_nonce,
    start_session,
)
from rampart.console.state import ConsoleState
from rampart.core.crypto import Keyring
from rampart.core.deps import service_state

__all__ = ["router"]

SLA_REPORT_DAYS = timedelta(days=30)


class ConsoleRoute(APIRoute):
    """A page route: a missing session or a refused token goes to sign-in; a refusal of the
    APIs becomes a page that says what was refused, with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except NeedsSignIn as needed:
                return _to_login(needed.message, needed.next_path)
            except SignedOut:
                return _to_login(
                    "Rampart no longer accepts your token (revoked or expired); sign in again.",
                    request.url.path if request.method == "GET" else "",
                )
            except ApiProblem as problem:
                session = read_session(request, _keyring(request))
                return _render(
                    request,
                    "problem.html",
                    session,
                    status=problem.status if problem.status < 500 else 502,
                    problem=problem,
                )

        return page


def _keyring(request: Request) -> Keyring:
    state: ConsoleState = service_state(ConsoleState)(request)
    return state.keyring


router = APIRouter(tags=["console"], default_response_class=HTMLResponse, route_class=ConsoleRoute)
State = Annotated[ConsoleState, Depends(service_state(ConsoleState))]
_SHA256 = re.compile(r"[0-9a-f]{64}")

_env = Environment(
    loader=PackageLoader("rampart.console", "templates"),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Scripts and styles only from the console itself; widgets render in sandboxed frames.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("new", "open", "closed")


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


def _waited(step: dict[str, Any]) -> str:
    """How long a step waited for its result: ``3s``, ``2m 5s``, or ``waiting``."""
    if not step.get("completed_at"):
        return "waiting"
    began = datetime.fromisoformat(str(step["created_at"]))
    ended = datetime.fromisoformat(str(step["completed_at"]))
    seconds = max(0, int((ended - began).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def _brief(value: Any, limit: int = 160) -> str:
    """A result in one short line of JSON (the page escapes it)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _left(value: str | None) -> str:
    """Time from now to ``value``, as people read it (``12m``, ``-3h 5m`` once past)."""
    if not value:
        return ""
    try:
        due = datetime.fromisoformat(value)
    except ValueError:
        return ""
    seconds = int((due - datetime.now(UTC)).total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours >= 48:
        return f"{sign}{hours // 24}d"
    return f"{sign}{hours}h {minutes}m" if hours else f"{sign}{minutes}m"


def _sla_class(due: str | None, breached: str | None, created: str | None = None) -> str:
    if breached:
        return "breached"
    if not due:
        return ""
    try:
        due_at = datetime.fromisoformat(due)
    except ValueError:
        return ""
    now = datetime.now(UTC)
    if due_at <= now:
        return "breached"
    start = datetime.fromisoformat(created) if created else None
    if start and (due_at - now) <= (due_at - start) * 0.25:
        return "warned"
    return "running"


_env.filters["when"] = _when
_env.filters["left"] = _left
_env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
_env.filters["waited"] = _waited
_env.filters["brief"] = _brief
_env.globals["sla_class"] = _sla_class


def _render(
    request: Request, template: str, session: Session | None, status: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("csrf", session.csrf if session else "")
    html = _env.get_template(template).render(request=request, session=session, **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _to_login(message: str = "", next_path: str = "") -> RedirectResponse:
    query = {k: v for k, v in {"message": message, "next": next_path}.items() if v}
    response = RedirectResponse(
        "/login" + (f"?{urlencode(query)}" if query else ""), status_code=303
    )
    clear_session(response)
    return response


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


class NeedsSignIn(Exception):
    """No valid session: send the person to the sign-in page."""

    def __init__(self, message: str, next_path: str) -> None:
        super().__init__(message)
        self.message = message
        self.next_path = next_path


def _session(request: Request, state: State) -> Session:
    session = read_session(request, state.keyring)
    if session is None:
        had = "rampart_session" in request.cookies
        raise NeedsSignIn("Your session has ended; sign in again." if had else "", request.url.path)
    return session


SessionDep = Annotated[Session, Depends(_session)]


def _checked(form: dict[str, str], session: Session) -> None:
    if not same_value(form.get("csrf"), session.csrf):
        raise ApiProblem(403, {"title": "Forbidden", "detail": "the form expired; try again"})


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/events"


# --- static and sign-in --------------------------------------------------------------------


@router.get("/console/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    """The console's own stylesheet and script (no CDN, nothing downloaded)."""
    if name not in _STATIC:
        return Response(status_code=404)
    data = resources.files("rampart.console").joinpath("static", name).read_bytes()
    return Response(
        data, media_type=_STATIC[name], headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/")
async def home() -> RedirectResponse:
    """The event queue is the console's front page."""
    return RedirectResponse("/events", status_code=303)


@router.get("/login")
async def login_page(request: Request, message: str = "", next: str = "") -> HTMLResponse:
    """The sign-in form: one field, the token."""
    nonce = new_login_nonce(request)
    response = _render(
        request, "login.html", None, csrf=nonce, message=message, next=_safe_next(next)
    )
    set_login_nonce(response, request, nonce)
    return response


@router.post("/login")
async def login(request: Request, state: State) -> Response:
    """Check the token against the APIs; on success the session cookie is set."""
    form = await _form(request)
    token = form.get("token", "").strip()
    next_path = _safe_next(form.get("next"))
    if not same_value(form.get("csrf"), request.cookies.get(LOGIN_COOKIE) or "\0"):
        return _to_login("The sign-in form expired; try again.", next_path)
    if not token:
        return _to_login("Enter your API token.", next_path)
    api = Api(state, token)
    try:
        # any route that needs a token tells a valid one (2xx, or 403 for a role that may not
        # read events, such as an approver's) from one that is not (401)
        await api.get("/api/v1/events", limit=1)
    except SignedOut:
        return _to_login("That token was not accepted: it is wrong, revoked or expired.", next_path)
    except ApiProblem as problem:
        if problem.status != 403:
            return _to_login(f"Rampart could not check the token: {problem.detail}", next_path)
    response = RedirectResponse(next_path, status_code=303)
    start_session(response, request, state.keyring, token)
    return response


@router.post("/logout")
async def logout(request: Request, state: State) -> Response:
    """Sign out."""
    session = read_session(request, state.keyring)
    form = await _form(request)
    if session is not None and not same_value(form.get("csrf"), session.csrf):
        return RedirectResponse("/events", status_code=303)
    return _to_login("You are signed out.")


# --- events --------------------------------------------------------------------------------


async def _event_page(api: Api, query: dict[str, str]) -> dict[str, Any]:
    params = {k: query.get(k) for k in ("status", "severity", "owner", "label", "source", "q")}
    page: dict[str, Any] = await api.get(
        "/api/v1/events", **params, cursor=query.get("cursor"), limit=50
    )
    return page


@router.get("/events")
async def events(request: Request, state: State, session: SessionDep) -> Response:
    """The event queue: filters, search, SLA countdowns, cursor pagination; live."""
    query = dict(request.query_params)
    page = await _event_page(Api(state, session.token), query)
    filters = {k: v for k, v in query.items() if k != "cursor" and v}
    next_link = (
        "/events?" + urlencode({**filters, "cursor": page["next_cursor"]})
        if page.get("next_cursor")
        else ""
    )
    template = "event_rows.html" if request.headers.get("x-partial") else "events.html"
    return _render(
        request,
        template,
        session,
        page=page,
        filters=filters,
        next_link=next_link,
        rows_url="/events?" + urlencode(query),
        severities=SEVERITIES,
        statuses=STATUSES,
    )


async def _event_context(api: Api, event_id: str) -> dict[str, Any]:
    event = await api.get(f"/api/v1/events/{quote(event_id)}")
    runs = await api.get("/api/v1/runs", event_id=event_id, limit=50)
    action_page = await api.get("/api/v1/action-runs", event_id=event_id, limit=100)
    actions = action_page["items"] if isinstance(action_page, dict) else action_page
    widgets: dict[str, str] = {}
    files = {run["id"]: _vault_files(run.get("data")) for run in actions}
    for run in actions:
        if run["status"] in ("success", "failed"):
            try:
                widgets[run["id"]] = await api.get(f"/api/v1/action-runs/{run['id']}/widget")
            except ApiProblem:
                continue
    catalog = await api.get("/api/v1/actions")
    playbooks = await api.get("/api/v1/playbooks")
    run_list = runs["items"] if isinstance(runs, dict) else runs
    # The list answers each run's step count; its timeline comes with the run itself.
    timelines = [await api.get(f"/api/v1/runs/{quote(str(run['id']))}") for run in run_list]
    return {
        "event": event,
        "runs": timelines,
        "actions": actions,
        "widgets": widgets,
        "files": files,
        "catalog": catalog,
        "playbooks": [p for p in playbooks if p.get("active")],
    }


def _vault_files(value: Any) -> list[dict[str, Any]]:
    """The vault files a result names: every object with a SHA-256 digest and a size."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        digest = value.get("sha256")
        if isinstance(digest, str) and _SHA256.fullmatch(digest) and "size" in value:
            found.append(value)
        else:
            for item in value.values():
                found.extend(_vault_files(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_vault_files(item))
    return found


@router.get("/vault/{sha256}")
async def vault_file(sha256: str, state: State, session: SessionDep) -> Response:
    """A vault file, streamed from the action broker with the signed-in person's token."""
    if not _SHA256.fullmatch(sha256):
        raise ApiProblem(404, {"title": "Not Found", "detail": "not a SHA-256 digest"})
    answer = await Api(state, session.token).download(f"/api/v1/vault/{sha256}")
    passed = ("content-length", "content-disposition", "x-rampart-content-type")
    return StreamingResponse(
        answer.aiter_raw(),
        media_type="application/octet-stream",
        headers={
            **{k: answer.headers[k] for k in passed if k in answer.headers},
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(answer.aclose),
    )


@router.get("/events/{event_id}")
async def event_page(
    event_id: str, request: Request, state: State, session: SessionDep
) -> Response:
    """One event: artifacts, notes, workbook, runs as timelines, actions with their widgets."""
    context = await _event_context(Api(state, session.token), event_id)
    return _render(request, "event.html", session, **context, errors={}, problem=None, form={})


async def _event_form(
    request: Request,
    state: State,
    session: Session,
    event_id: str,
    call: Any,
) -> Response:
    form = await _form(request)
    _checked(form, session)
    api = Api(state, session.token)
    try:
        await call(api, form)
    except ApiProblem as problem:
        context = await _event_context(api, event_id)
        return _render(
            request,
            "event.html",
            session,
            status=problem.status if problem.status < 500 else 502,
            **context,
            problem=problem,
            errors=problem.field_errors(),
            form=form,
        )
    return RedirectResponse(f"/events/{quote(event_id)}", status_code=303)


@router.post("/events/{event_id}/close")
async def close_event(
    event_id: str, request: Request, state: State, session: SessionDep
) -> Response:
    """Close the event with a resolution."""

    async def call(api: Api, form: dict[str, str]) -> None:
        await api.patch(
            f"/api/v1/events/{quote(event_id)}",
            {"status": "closed", "resolution": form.get("resolution", "")},
        )

    return await _event_form(request, state, session, event_id, call)


@router.post("/events/{event_id}/notes")
async def add_note(event_id: str, request: Request, state: State, session: SessionDep) -> Response:
    """Add a note."""

    async def call(api: Api, form: dict[str, str]) -> None:
        await api.post(f"/api/v1/events/{quote(event_id)}/notes", {"text": form.get("text", "")})

    return await _event_form(request, state, session, event_id, call)


def _params(text: str) -> Any:
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiProblem(
            422,
            {
                "title": "Unprocessable Content",
                "detail": f"parameters are not JSON: {exc.msg}",
                "errors": [{"field": "params", "message": f"not JSON: {exc.msg}"}],
            },
        ) from None


@router.post("/events/{event_id}/actions")
async def run_action(
    event_id: str, request: Request, state: State, session: SessionDep
) -> Response:
    """Run an action by hand for this event (same resolution and approval gate)."""

    async def call(api: Api, form: dict[str, str]) -> None:
        target = {form.get("target_kind") or "asset": form.get("target", "")}
        await api.post(
            "/api/v1/action-runs",
            {
                "action": form.get("action", ""),
                "target": target,
                "params": _params(form.get("params", "")),
                "event_id": event_id,
            },
        )

    return await _event_form(request, state, session, event_id, call)


@router.post("/events/{event_id}/playbooks")
async def run_playbook(
    event_id: str, request: Request, state: State, session: SessionDep
) -> Response:
    """Run a playbook on this event now."""

    async def call(api: Api, form: dict[str, str]) -> None:
        await api.post("/api/v1/runs", {"playbook": form.get("playbook", ""), "event_id": event_id})

    return await _event_form(request, state, session, event_id, call)


# --- approvals -----------------------------------------------------------------------------


@router.get("/approvals")
async def approvals(request: Request, state: State, session: SessionDep) -> Response:
    """My approvals inbox, live, with the history of decided ones."""
    api = Api(state, session.token)
    pending = await api.get("/api/v1/approvals", mine="true", status="pending", limit=100)
    decided = [
        a
        for a in await api.get("/api/v1/approvals", mine="true", limit=100)
        if a["status"] != "pending"
    ]
    template = "approval_rows.html" if request.headers.get("x-partial") else "approvals.html"
    return _render(
        request,
        template,
        session,
        pending=pending,
        decided=decided,
        problem=None,
        notice=request.query_params.get("notice", ""),
    )


@router.post("/approvals/{approval_id}/decision")
async def decide(approval_id: str, request: Request, state: State, session: SessionDep) -> Response:
    """Approve or deny with a comment."""
    form = await _form(request)
    _checked(form, session)
    api = Api(state, session.token)
    decision = form.get("decision", "")
    try:
        approval = await api.post(
            f"/api/v1/approvals/{quote(approval_id)}/decision",
            {"decision": decision, "comment": form.get("comment", "")},
        )
    except ApiProblem as problem:
        pending = await api.get("/api/v1/approvals", mine="true", status="pending", limit=100)
        return _render(
            request,
            "approvals.html",
            session,
            status=problem.status if problem.status < 500 else 502,
            pending=pending,
            decided=[],
            problem=problem,
            notice="",
        )
    notice = f"{decision}d: {approval['action']} on {approval['asset']} is {approval['status']}"
    return RedirectResponse("/approvals?" + urlencode({"notice": notice}), status_code=303)


# --- assets, playbooks, sources, dead letters, SLA report ----------------------------------


@router.get("/assets")
async def assets(request: Request, state: State, session: SessionDep) -> Response:
    """Assets with their owners and approval policies."""
    api = Api(state, session.token)
    owners = await api.get("/api/v1/owners")
    names = {o["id"]: o["name"] for o in owners}
    return _render(
        request,
        "assets.html",
        session,
        assets=await api.get("/api/v1/assets"),
        owners=owners,
        names=names,
    )


async def _playbooks_page(
    request: Request,
    api: Api,
    session: Session,
    problem: ApiProblem | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return _render(
        request,
        "playbooks.html",
        session,
        status=(problem.status if problem.status < 500 else 502) if problem else 200,
        playbooks=await api.get("/api/v1/playbooks"),
        problem=problem,
        form=form or {},
        shown=request.query_params.get("show", ""),
    )


@router.get("/playbooks")
async def playbooks(request: Request, state: State, session: SessionDep) -> Response:
    """Playbooks: their versions, code, activation; upload a new version."""
    return await _playbooks_page(request, Api(state, session.token), session)


@router.post("/playbooks")
async def upload_playbook(request: Request, state: State, session: SessionDep) -> Response:
    """Upload a playbook's source (pasted, or read from a file by the page)."""
    form = await _form(request)
    _checked(form, session)
    api = Api(state, session.token)
    try:
        made = await api.post(
            "/api/v1/playbooks",
            {"source": form.get("source", ""), "active": form.get("active") == "on"},
        )
    except ApiProblem as problem:
        return await _playbooks_page(request, api, session, problem, form)
    return RedirectResponse(f"/playbooks?show={quote(made['name'])}", status_code=303)


@router.post("/playbooks/{name}/active")
async def activate_playbook(
    name: str, request: Request, state: State, session: SessionDep
) -> Response:
    """Switch a playbook on or off."""
    form = await _form(request)
    _checked(form, session)
    api = Api(state, session.token)
    try:
        await api.patch(f"/api/v1/playbooks/{quote(name)}", {"active": form.get("active") == "1"})
    except ApiProblem as problem:
        return await _playbooks_page(request, api, session, problem)
    return RedirectResponse("/playbooks", status_code=303)


@router.get("/sources")
async def sources(request: Request, state: State, session: SessionDep) -> Response:
    """Event sources with their webhook URLs and a copy-paste example."""
    api = Api(state, session.token)
    ingest = state.settings.service_url("ingest")
    found = await api.get("/api/v1/sources")
    bodies = {s["name"]: json.dumps(_example_body(s)) for s in found}
    return _render(request, "sources.html", session, sources=found, base=ingest, bodies=bodies)


def _example_body(source: dict[str, Any]) -> Any:
    """A test alert shaped as the source's kind sends one (its mapping, for a generic one)."""
    if source.get("kind") == "generic":
        mapping = source.get("mapping") or {}
        body: dict[str, Any] = {}
        for field, value in (("name", "test alert"), ("severity", "high")):
            path = mapping.get(field)
            if isinstance(path, str) and path.replace("_", "").isalnum():
                body[path] = value
        return body
    return _EXAMPLES.get(str(source.get("kind")), _EXAMPLES["splunk"])


_EXAMPLES: dict[str, Any] = {
    "splunk": {"search_name": "test alert", "result": {"severity": "high"}},
    "sentinel": {
        "type": "Microsoft.SecurityInsights/incidents",
        "name": "rampart-test-1",
        "properties": {"title": "test alert", "severity": "High"},
    },
    "elastic": {"kibana.alert.rule.name": "test alert", "kibana.alert.severity": "high"},
    "arcsight": ["CEF:0|Rampart|Console|1.0|100|test alert|8|src=203.0.113.7"],
    "qradar": {"description": "test alert", "severity": 8, "id": 1},
}


@router.get("/dead-letters")
async def dead_letters(
    request: Request, state: State, session: SessionDep, queue: str = ""
) -> Response:
    """Messages a queue gave up on, with a replay button."""
    letters: Any = None
    problem: ApiProblem | None = None
    if queue:
        try:
            letters = await Api(state, session.token).get(f"/api/v1/dead-letters/{quote(queue)}")
        except ApiProblem as refused:
            problem = refused
    return _render(
        request,
        "dead_letters.html",
        session,
        queue=queue,
        letters=letters,
        problem=problem,
        notice=request.query_params.get("notice", ""),
    )


@router.post("/dead-letters/{queue}/replay")
async def replay(queue: str, request: Request, state: State, session: SessionDep) -> Response:
    """Put a queue's dead letters back on it."""
    form = await _form(request)
    _checked(form, session)
    try:
        answer = await Api(state, session.token).post(f"/api/v1/dead-letters/{quote(queue)}/replay")
    except ApiProblem as problem:
        return _render(
            request,
            "dead_letters.html",
            session,
            status=problem.status,
            queue=queue,
            letters=None,
            problem=problem,
            notice="",
        )
    notice = f"replayed: {json.dumps(answer)}" if answer is not None else "replayed"
    return RedirectResponse(
        "/dead-letters?" + urlencode({"queue": queue, "notice": notice}), status_code=303
    )


@router.get("/reports/sla")
async def sla_report(request: Request, state: State, session: SessionDep) -> Response:
    """SLA compliance and time to resolve, by severity, as a chart."""
    params = {k: v for k, v in request.query_params.items() if k in ("since", "until") and v}
    # the API asks for the range's start; the page opens on the last 30 days
    params.setdefault("since", (datetime.now(UTC) - SLA_REPORT_DAYS).isoformat(timespec="seconds"))
    try:
        report = await Api(state, session.token).get("/api/v1/reports/sla", **params)
    except ApiProblem as problem:
        return _render(
            request,
            "sla_report.html",
            session,
            status=problem.status if problem.status < 500 else 502,
            report=None,
            problem=problem,
            range=params,
        )
    return _render(request, "sla_report.html", session, report=report, range=params)
