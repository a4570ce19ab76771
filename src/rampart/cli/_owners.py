"""``rampart owners``: the people and groups who answer for assets, and approve for them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rampart.cli._day import (
    JsonOpt,
    TokenOpt,
    UrlOpt,
    _api,
    _err,
    _print_json,
    handled,
    list_rows,
)

owners_app = typer.Typer(help="Owners: list, add.", no_args_is_help=True)

OWNER_COLUMNS = ("id", "name", "kind", "email", "members", "member_of")


@owners_app.command("ls")
@handled
def owners_ls(
    kind: Annotated[str | None, typer.Option(help="person or group")] = None,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Every owner, with a group's people and a person's groups."""
    list_rows("/api/v1/owners", OWNER_COLUMNS, json_out=json_out, url=url, token=token, kind=kind)


@owners_app.command("add")
@handled
def owners_add(
    name: Annotated[str, typer.Argument(help="the owner's name, e.g. alice or linux-team")],
    email: Annotated[str | None, typer.Option(help="where approvals are e-mailed")] = None,
    kind: Annotated[str, typer.Option(help="person or group")] = "person",
    members: Annotated[
        list[str] | None, typer.Option("--member", help="a group's person, by id (repeat)")
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
    json_out: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Add an owner; prints its id (for assets' owner lists) on stdout."""
    body: dict[str, Any] = {"name": name, "kind": kind}
    if email:
        body["email"] = email
    if members:
        body["members"] = members
    if description:
        body["description"] = description
    with _api(url, token) as api:
        owner = api.post("/api/v1/owners", body)
    if json_out:
        _print_json(owner)
        return
    _err().print(f"added {owner['kind']} {owner['name']}; its id:")
    typer.echo(owner["id"])
