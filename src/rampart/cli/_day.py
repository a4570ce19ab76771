"""The day's work in a terminal: events, approvals, playbooks, actions, assets and sources.

Every command talks to a running Rampart through its public API (see ``_client`` for where it
is, the token and the exit codes), prints a table by default and the API's JSON with ``--json``.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar
from urllib.parse import quote

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rampart.cli._client import (
    EXIT_WAIT_FAILED,
    Api,
    CliConfig,
    Failure,
    config_path,
    fail,
    load_config,
    save_config,
)

P = ParamSpec("P")
R = TypeVar("R")

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Rampart's address (else RAMPART_URL, the config file)")
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="API token (else RAMPART_TOKEN, the config file)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the API's JSON, for scripts")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=500, help="at most this many")]

events_app = typer.Typer(help="Events: list, show, close.", no_args_is_help=True)
approvals_app = typer.Typer(help="Approvals: list, approve, deny.", no_args_is_help=True)
playbooks_app = typer.Typer(help="Playbooks: list, push, activate, test.", no_args_is_help=True)
actions_app = typer.Typer(help="Actions: run one by hand, show a run.", no_args_is_help=True)
assets_app = typer.Typer(help="Assets: list, add, test connectivity.", no_args_is_help=True)
sources_app = typer.Typer(help="Event sources: list, add, rotate a secret.", no_args_is_help=True)

GROUPS = {
    "events": events_app,
    "approvals": approvals_app,
    "playbooks": playbooks_app,
    "actions": actions_app,
    "assets": assets_app,
    "sources": sources_app,
}


def _out() -> Console:
    # made per use, so the terminal's current width (or COLUMNS) applies
    return Console()


def _err() -> Console:
    return Console(stderr=True)


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`Failure` into its message on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except Failure as failure:
            raise fail(failure) from None

    return wrapper


def _api(url: str | None, token: str | None) -> Api:
    return Api(load_config(url, token))


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _table(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold", no_wrap=column == "id")
    count = 0
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
        count += 1
    if count:
        _out().print(table)
    else:
        _err().print("nothing to show")


def list_rows(
    path: str,
    columns: Sequence[str],
    *,
    json_out: bool,
    url: str | None,
    token: str | None,
    **params: Any,
) -> None:
    """``GET path`` and print the list it answers: a table, or the API's JSON."""
    with _api(url, token) as api:
        rows = api.get(path, **params)
    if json_out:
        _print_json(rows)
        return
    _table(rows, columns)


def _fields(row: dict[str, Any], keys: Sequence[str]) -> None:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in keys:
        if key in row:
            table.add_row(key.replace("_", " "), _cell(row[key]))
    _out().print(table)


def _param_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value that reads as JSON (a number, list, true) is taken as such."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r}: write parameters as key=value")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _read_json(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{path}: not JSON: {exc}") from None


# --- login ---------------------------------------------------------------------------------


def login(
    url: Annotated[str, typer.Option("--url", help="Rampart's address")],
    token: Annotated[
        str, typer.Option("--token", help="your API token", prompt=True, hide_input=True)
    ],
) -> None:
    """Check a token against Rampart and keep the URL and token in the config file."""
    config = CliConfig(url=url.rstrip("/"), token=token)
    try:
        with Api(config) as api:
            api.get("/api/v1/events", limit=1)
    except Failure as failure:
        raise fail(failure) from None
    path = save_config(config)
    _err().print(f"signed in to {config.url}; kept in {path}")


# --- events --------------------------------------------------------------------------------

EVENT_COLUMNS = ("id", "severity", "status", "name", "owner", "source", "labels", "due_at")


@events_app.command("ls")
@handled
def events_ls(
    status: Annotated[str | None, typer.Option(help="new, open or closed")] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium, high or critical")] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    label: Annotated[str | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="text search")] = None,
    limit: LimitOpt = 50,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The event queue, newest first."""
    with _api(url, token) as api:
        page = api.get(
            "/api/v1/events",
            status=status,
            severity=severity,
            owner=owner,
            label=label,
            q=search,
            limit=limit,
        )
    if json_out:
        _print_json(page)
        return
    _table(page["items"], EVENT_COLUMNS)
    if page.get("next_cursor"):
        _err().print("more events: narrow the filters or raise --limit")


@events_app.command("show")
@handled
def events_show(
    event_id: Annotated[str, typer.Argument(help="the event's id")],
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One event with its artifacts, notes and tasks."""
    with _api(url, token) as api:
        event = api.get(f"/api/v1/events/{quote(event_id)}")
    if json_out:
        _print_json(event)
        return
    _fields(event, (*EVENT_COLUMNS, "resolution", "occurred_at", "sla_breached_at", "closed_at"))
    artifacts = event.get("artifacts") or []
    if artifacts:
        _table(artifacts, ("name", "cef", "contains"), title="artifacts")
    notes = event.get("notes") or []
    if notes:
        _table(notes, ("created_at", "author", "text"), title="notes")
    tasks = [
        {**task, "phase": phase["name"]}
        for phase in event.get("workbook") or []
        for task in phase.get("tasks") or []
    ]
    if tasks:
        _table(
            tasks,
            ("phase", "name", "status", "owner", "due_at", "sla_breached_at"),
            title="workbook",
        )


@events_app.command("close")
@handled
def events_close(
    event_id: Annotated[str, typer.Argument(help="the event's id")],
    resolution: Annotated[str, typer.Option(help="how it ended, e.g. 'contained'")],
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Close an event with its resolution."""
    with _api(url, token) as api:
        event = api.patch(
            f"/api/v1/events/{quote(event_id)}", {"status": "closed", "resolution": resolution}
        )
    if json_out:
        _print_json(event)
        return
    _err().print(f"closed {event['id']}: {event.get('resolution')}")


# --- approvals -----------------------------------------------------------------------------

APPROVAL_COLUMNS = (
    "id",
    "status",
    "stage",
    "action",
    "asset",
    "params",
    "requested_by",
    "due_at",
)


@approvals_app.command("ls")
@handled
def approvals_ls(
    mine: Annotated[bool, typer.Option("--mine/--all", help="only those I may decide")] = True,
    status: Annotated[str | None, typer.Option(help="pending, approved, denied, expired")] = None,
    limit: LimitOpt = 50,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Approvals waiting for a decision (by default: mine)."""
    list_rows(
        "/api/v1/approvals",
        APPROVAL_COLUMNS,
        json_out=json_out,
        url=url,
        token=token,
        mine="true" if mine else None,
        status=status,
        limit=limit,
    )


def _decide(approval_id: str, decision: str, comment: str, json_out: bool, api: Api) -> None:
    approval = api.post(
        f"/api/v1/approvals/{quote(approval_id)}/decision",
        {"decision": decision, "comment": comment},
    )
    if json_out:
        _print_json(approval)
        return
    _err().print(
        f"{decision}d {approval['action']} on {approval['asset']}: the approval is now "
        f"{approval['status']} (stage {approval['stage']})"
    )


@approvals_app.command("approve")
@handled
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="the approval's id")],
    comment: Annotated[str, typer.Option(help="why")] = "",
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Approve an action waiting for you."""
    with _api(url, token) as api:
        _decide(approval_id, "approve", comment, json_out, api)


@approvals_app.command("deny")
@handled
def approvals_deny(
    approval_id: Annotated[str, typer.Argument(help="the approval's id")],
    comment: Annotated[str, typer.Option(help="why")] = "",
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Deny an action waiting for you; it will not run."""
    with _api(url, token) as api:
        _decide(approval_id, "deny", comment, json_out, api)


# --- playbooks -----------------------------------------------------------------------------

PLAYBOOK_COLUMNS = ("name", "version", "active", "labels", "priority", "description")


@playbooks_app.command("ls")
@handled
def playbooks_ls(json_out: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Installed playbooks and their current versions."""
    list_rows("/api/v1/playbooks", PLAYBOOK_COLUMNS, json_out=json_out, url=url, token=token)


def _with_progress(label: str, work: Callable[[], R]) -> R:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    ) as progress:
        progress.add_task(label, total=None)
        return work()


@playbooks_app.command("push")
@handled
def playbooks_push(
    files: Annotated[list[Path], typer.Argument(help="playbook source files (.py)")],
    activate: Annotated[bool, typer.Option("--activate/--inactive", help="run on events")] = True,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Upload playbooks: each file becomes a new version."""
    pushed: list[dict[str, Any]] = []
    with _api(url, token) as api, Progress(console=_err(), transient=True) as progress:
        task = progress.add_task("uploading", total=len(files))
        for path in files:
            try:
                source = path.read_text()
            except OSError as exc:
                raise typer.BadParameter(f"{path}: {exc.strerror}") from None
            progress.update(task, description=f"uploading {path.name}")
            pushed.append(api.post("/api/v1/playbooks", {"source": source, "active": activate}))
            progress.advance(task)
    if json_out:
        _print_json(pushed)
        return
    _table(pushed, PLAYBOOK_COLUMNS)


@playbooks_app.command("activate")
@handled
def playbooks_activate(
    name: Annotated[str, typer.Argument(help="the playbook's name")],
    off: Annotated[bool, typer.Option("--off", help="deactivate instead")] = False,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Make a playbook run on matching events (or stop it with --off)."""
    with _api(url, token) as api:
        row = api.patch(f"/api/v1/playbooks/{quote(name)}", {"active": not off})
    if json_out:
        _print_json(row)
        return
    _err().print(f"{row['name']} v{row['version']} is {'active' if row['active'] else 'inactive'}")


_FINISHED_RUN = {"completed", "failed", "cancelled", "timed_out"}


def _wait_for(api: Api, path: str, finished: set[str], wait_s: float, label: str) -> Any:
    deadline = time.monotonic() + wait_s

    def poll() -> Any:
        delay = 0.1
        while True:
            row = api.get(path)
            if row["status"] in finished:
                return row
            if time.monotonic() >= deadline:
                raise Failure(
                    f"{label} is still {row['status']} after {wait_s:g} s", EXIT_WAIT_FAILED
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    return _with_progress(label, poll)


@playbooks_app.command("test")
@handled
def playbooks_test(
    name: Annotated[str, typer.Argument(help="an installed playbook")],
    event_id: Annotated[str, typer.Option("--event", help="the event to run it on")],
    version: Annotated[int | None, typer.Option(help="a pinned version (admin)")] = None,
    wait_s: Annotated[float, typer.Option("--wait", help="seconds to wait for the end")] = 120,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Run a playbook on an event now and wait for its end; exit 5 if it did not complete."""
    body: dict[str, Any] = {"playbook": name, "event_id": event_id}
    if version is not None:
        body["version"] = version
    with _api(url, token) as api:
        run = api.post("/api/v1/runs", body)
        run = _wait_for(api, f"/api/v1/runs/{run['id']}", _FINISHED_RUN, wait_s, f"run of {name}")
    if json_out:
        _print_json(run)
    else:
        _fields(run, ("id", "playbook", "version", "status", "steps", "result", "error"))
    if run["status"] != "completed":
        raise typer.Exit(EXIT_WAIT_FAILED)


# --- actions -------------------------------------------------------------------------------

RUN_COLUMNS = ("id", "action", "asset", "status", "summary", "message", "requested_by")
_FINISHED_ACTION = {"success", "failed", "denied", "expired", "cancelled", "unknown"}


@actions_app.command("run")
@handled
def actions_run(
    action: Annotated[str, typer.Argument(help="a catalog action, e.g. 'block ip'")],
    params: Annotated[list[str] | None, typer.Argument(help="parameters as key=value")] = None,
    asset: Annotated[str | None, typer.Option(help="the asset, by name")] = None,
    tag: Annotated[str | None, typer.Option(help="every asset with this tag")] = None,
    product: Annotated[str | None, typer.Option(help="every asset of this product")] = None,
    event_id: Annotated[str | None, typer.Option("--event", help="the event it is for")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait for the outcome")] = False,
    wait_s: Annotated[float, typer.Option("--timeout", help="seconds to wait")] = 300,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Run an action by hand: same resolution and approval gate as a playbook's."""
    target = {k: v for k, v in {"asset": asset, "tag": tag, "product": product}.items() if v}
    if len(target) != 1:
        raise typer.BadParameter("give exactly one of --asset, --tag, --product")
    body: dict[str, Any] = {
        "action": action,
        "target": target,
        "params": _param_pairs(params or []),
    }
    if event_id:
        body["event_id"] = event_id
    with _api(url, token) as api:
        accepted = api.post("/api/v1/action-runs", body)
        runs = list(accepted.get("runs") or [])
        if wait:
            runs = [
                _wait_for(
                    api,
                    f"/api/v1/action-runs/{r['id']}",
                    _FINISHED_ACTION,
                    wait_s,
                    f"{action} on {r['asset']}",
                )
                for r in runs
            ]
    if json_out:
        _print_json({**accepted, "runs": runs})
    else:
        _table(runs, RUN_COLUMNS)
    if wait and any(r["status"] != "success" for r in runs):
        raise typer.Exit(EXIT_WAIT_FAILED)


@actions_app.command("show")
@handled
def actions_show(
    run_id: Annotated[str, typer.Argument(help="the action run's id")],
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One action run with its attempts, approval and result."""
    with _api(url, token) as api:
        run = api.get(f"/api/v1/action-runs/{quote(run_id)}")
    if json_out:
        _print_json(run)
        return
    _fields(
        run,
        (
            *RUN_COLUMNS,
            "connector",
            "params",
            "approval",
            "decided_by",
            "data",
            "created_at",
            "finished_at",
        ),
    )
    attempts = run.get("attempts") or []
    if attempts:
        _table(
            attempts,
            ("number", "runner", "started_at", "ended_at", "outcome", "error"),
            title="attempts",
        )


# --- assets --------------------------------------------------------------------------------

ASSET_COLUMNS = ("id", "name", "connector", "tags", "primary_owners", "secondary_owners")


@assets_app.command("ls")
@handled
def assets_ls(
    tag: Annotated[str | None, typer.Option()] = None,
    product: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="assets whose app implements it")] = None,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Configured assets."""
    list_rows(
        "/api/v1/assets",
        ASSET_COLUMNS,
        json_out=json_out,
        url=url,
        token=token,
        tag=tag,
        product=product,
        action=action,
    )


@assets_app.command("add")
@handled
def assets_add(
    file: Annotated[
        Path, typer.Argument(help="a JSON asset definition, or a list of them; - reads stdin")
    ],
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Add assets from a JSON file (one definition or a list: a bulk import)."""
    loaded = _read_json(file)
    definitions = loaded if isinstance(loaded, list) else [loaded]
    if not all(isinstance(d, dict) for d in definitions):
        raise typer.BadParameter(f"{file}: give an asset definition object or a list of them")
    added: list[dict[str, Any]] = []
    with _api(url, token) as api, Progress(console=_err(), transient=True) as progress:
        task = progress.add_task("adding assets", total=len(definitions))
        for number, definition in enumerate(definitions):
            try:
                added.append(api.post("/api/v1/assets", definition))
            except Failure as failure:
                where = f" (definition {number}, {definition.get('name')!r})"
                message = f"{failure}{where}; {len(added)} added before it"
                raise Failure(message, failure.code) from None
            progress.advance(task)
    if json_out:
        _print_json(added)
        return
    _table(added, ASSET_COLUMNS)


@assets_app.command("test")
@handled
def assets_test(
    asset_id: Annotated[str, typer.Argument(help="the asset's id")],
    wait_s: Annotated[float, typer.Option("--timeout", help="seconds to wait")] = 120,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Test an asset's connectivity through a connector runner; exit 5 if it fails."""
    with _api(url, token) as api:
        accepted = api.post(f"/api/v1/assets/{quote(asset_id)}/test")
        runs = [
            _wait_for(
                api,
                f"/api/v1/action-runs/{r['id']}",
                _FINISHED_ACTION,
                wait_s,
                f"test connectivity of {r['asset']}",
            )
            for r in accepted.get("runs") or []
        ]
    if json_out:
        _print_json(runs)
    else:
        _table(runs, RUN_COLUMNS)
    if not runs or any(r["status"] != "success" for r in runs):
        raise typer.Exit(EXIT_WAIT_FAILED)


# --- sources -------------------------------------------------------------------------------

SOURCE_COLUMNS = ("name", "kind", "auth", "default_severity", "webhook_path")


@sources_app.command("ls")
@handled
def sources_ls(json_out: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Configured event sources and their webhook paths."""
    list_rows("/api/v1/sources", SOURCE_COLUMNS, json_out=json_out, url=url, token=token)


def _show_secret(created: dict[str, Any], api: Api) -> None:
    secret = created.get("secret")
    path = created.get("webhook_path")
    if path:
        _err().print(f"webhook: {api.config.base_for(path)}{path}")
    if secret:
        _err().print("secret (shown once):")
        typer.echo(secret)


@sources_app.command("add")
@handled
def sources_add(
    name: Annotated[str, typer.Argument(help="the source's name, e.g. splunk-prod")],
    kind: Annotated[str, typer.Option(help="the sender: splunk, qradar, arcsight, generic, ...")],
    auth: Annotated[
        str | None, typer.Option(help="how senders prove who they are: hmac, ...")
    ] = None,
    severity: Annotated[str | None, typer.Option("--default-severity")] = None,
    labels: Annotated[
        list[str] | None,
        typer.Option("--label", help="a label every event of it gets; playbooks match them"),
    ] = None,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Add an event source; prints its webhook URL and its secret once."""
    body: dict[str, Any] = {"name": name, "kind": kind}
    if auth:
        body["auth"] = auth
    if severity:
        body["default_severity"] = severity
    if labels:
        body["default_labels"] = labels
    with _api(url, token) as api:
        created = api.post("/api/v1/sources", body)
        if json_out:
            _print_json(created)
            return
        _show_secret(created, api)


@sources_app.command("rotate")
@handled
def sources_rotate(
    name: Annotated[str, typer.Argument(help="the source's name")],
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Give a source a new secret; prints it once."""
    with _api(url, token) as api:
        rotated = api.post(f"/api/v1/sources/{quote(name)}/rotate-secret")
        if json_out:
            _print_json(rotated)
            return
        _show_secret(rotated, api)


def where_config() -> Path:
    """The config file's path (for the docs and ``rampart login``)."""
    return config_path()
