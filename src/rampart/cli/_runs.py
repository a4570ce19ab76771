"""``rampart runs``: playbook runs, what they did and how they ended."""

from __future__ import annotations

from typing import Annotated

import typer

from rampart.cli._day import (
    JsonOpt,
    LimitOpt,
    TokenOpt,
    UrlOpt,
    _api,
    _fields,
    _print_json,
    _table,
    handled,
    list_rows,
)

runs_app = typer.Typer(help="Playbook runs: list, show.", no_args_is_help=True)

RUN_COLUMNS = ("id", "playbook", "version", "status", "event_id", "steps", "created_at")


@runs_app.command("ls")
@handled
def runs_ls(
    event_id: Annotated[str | None, typer.Option("--event", help="one event's runs")] = None,
    playbook: Annotated[str | None, typer.Option(help="one playbook's runs")] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, waiting, completed, failed or cancelled")
    ] = None,
    limit: LimitOpt = 50,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Playbook runs, newest first."""
    list_rows(
        "/api/v1/runs",
        RUN_COLUMNS,
        json_out=json_out,
        url=url,
        token=token,
        event_id=event_id,
        playbook=playbook,
        status=status,
        limit=limit,
    )


@runs_app.command("show")
@handled
def runs_show(
    run_id: Annotated[str, typer.Argument(help="the run's id")],
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One run: its result or error, and every step it took."""
    with _api(url, token) as api:
        run = api.get(f"/api/v1/runs/{run_id}")
    if json_out:
        _print_json(run)
        return
    _fields(run, ("id", "playbook", "version", "status", "event_id", "result", "error"))
    _table(run.get("timeline") or [], ("seq", "kind", "summary", "status"), title="steps")
