"""``rampart mail``: what embedded mode's mail catcher received (admin: links are credentials)."""

from __future__ import annotations

from typing import Annotated

import typer

from rampart.cli._client import EXIT_REFUSED, Failure
from rampart.cli._day import (
    JsonOpt,
    LimitOpt,
    TokenOpt,
    UrlOpt,
    _api,
    _print_json,
    handled,
    list_rows,
)

mail_app = typer.Typer(help="The mail catcher of `rampart run`: list, show.", no_args_is_help=True)

MAIL_COLUMNS = ("id", "received_at", "to", "subject")


@mail_app.command("ls")
@handled
def mail_ls(
    to: Annotated[str | None, typer.Option(help="mail to this address only")] = None,
    limit: LimitOpt = 50,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Caught mail, newest first."""
    list_rows(
        "/api/v1/mail", MAIL_COLUMNS, json_out=json_out, url=url, token=token, to=to, limit=limit
    )


@mail_app.command("show")
@handled
def mail_show(
    message_id: Annotated[
        str | None, typer.Argument(help="the message's id; the newest when left out")
    ] = None,
    to: Annotated[str | None, typer.Option(help="the newest to this address")] = None,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One caught message as its recipient reads it: headers, then the text."""
    with _api(url, token) as api:
        if message_id is None:
            newest = api.get("/api/v1/mail", to=to, limit=1)
            if not newest:
                raise Failure("no mail caught" + (f" to {to}" if to else ""), EXIT_REFUSED)
            message_id = str(newest[0]["id"])
        message = api.get(f"/api/v1/mail/{message_id}")
    if json_out:
        _print_json(message)
        return
    typer.echo(
        f"From: {message['sender']}\nTo: {', '.join(message['to'])}\n"
        f"Subject: {message['subject']}\nReceived: {message['received_at']}\n\n"
        f"{message['text'].rstrip()}"
    )
