"""Typer commands; each builds its settings from the environment when it runs.

The platform (FastAPI, the services, the database driver) is imported by the commands that
run it, so a command that only calls the API starts in a fraction of the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import Awaitable, Callable
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rampart.cli._day import GROUPS, login
from rampart.cli._demo import demo_app
from rampart.cli._mail import mail_app
from rampart.cli._owners import owners_app
from rampart.cli._runs import runs_app
from rampart.cli._services import SERVICES
from rampart.core.vocabulary import Role

if TYPE_CHECKING:
    from rampart.core.settings import Settings

app = typer.Typer(
    help="Rampart, an open-source programmable security controller.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
app.add_typer(owners_app, name="owners")
app.add_typer(runs_app, name="runs")
app.add_typer(mail_app, name="mail")
app.add_typer(demo_app, name="demo")
app.command("login")(login)


def main() -> None:
    """Entry point of the ``rampart`` script."""
    app()


async def _new_token(database_url: str, *, name: str, role: Role) -> str:
    from rampart.core.auth import AUTH_SCHEMA, create_token
    from rampart.core.store import apply_migrations, connect_pool, load_migrations

    pool = await connect_pool(database_url, min_size=1, max_size=2)
    try:
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        async with pool.acquire() as conn:
            _, secret = await create_token(conn=conn, name=name, role=role)
        return secret
    finally:
        await pool.close()


EMBEDDED_SERVICE_TOKEN = "embedded-service"  # noqa: S105 - a token name, not a secret


async def _fresh_service_token(database_url: str) -> str:
    """A new token for the services' calls to each other; the previous start's is revoked."""
    from rampart.core.auth import AUTH_SCHEMA, create_token
    from rampart.core.store import connect_pool

    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"UPDATE {AUTH_SCHEMA}.tokens SET revoked_at = now() "
                "WHERE name = $1 AND revoked_at IS NULL",
                EMBEDDED_SERVICE_TOKEN,
            )
            _, secret = await create_token(
                conn=conn, name=EMBEDDED_SERVICE_TOKEN, role=Role.SERVICE
            )
        return secret
    finally:
        await pool.close()


async def _has_admin(database_url: str) -> bool:
    from rampart.core.auth import AUTH_SCHEMA
    from rampart.core.store import apply_migrations, connect_pool, load_migrations

    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        await apply_migrations(
            pool, schema=AUTH_SCHEMA, migrations=load_migrations("rampart.core.auth")
        )
        count = await pool.fetchval(
            f"SELECT count(*) FROM {AUTH_SCHEMA}.tokens WHERE role = 'admin' AND revoked_at IS NULL"
        )
        return bool(count)
    finally:
        await pool.close()


def _serve(
    application: Any,
    settings: Settings,
    on_started: Callable[[], Awaitable[None]] | None = None,
) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if on_started is not None and not self.should_exit:
                await on_started()

    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
    # uvicorn re-raises the SIGINT that stopped it once it has shut down; that is the orderly end
    with contextlib.suppress(KeyboardInterrupt):
        Server(config).run()


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


@app.command()
def run(
    port: Annotated[int | None, typer.Option(help="port to listen on (default 8000)")] = None,
) -> None:
    """Run all of Rampart in one process: embedded PostgreSQL and the in-process bus."""
    from pydantic import SecretStr

    from rampart.cli._embedded import embedded_database, embedded_specs
    from rampart.cli._welcome import FirstStart, welcome
    from rampart.core.app import create_app
    from rampart.core.logs import configure_logging
    from rampart.core.settings import Settings

    settings = Settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    if "public_url" not in settings.model_fields_set:
        # links in notifications must lead here, whichever way the port was chosen
        public_url = f"http://{settings.host}:{settings.port}"
        settings = settings.model_copy(update={"public_url": public_url})
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn re-raises the signal that stopped it; a SIGTERM with its default action would
    # end the process before the embedded PostgreSQL is stopped, so make it an orderly exit
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with embedded_database(settings) as live:
        assert live.database_url is not None
        database_url = live.database_url.get_secret_value()
        first: FirstStart | None = None
        if not asyncio.run(_has_admin(database_url)):
            secret = asyncio.run(_new_token(database_url, name="first-admin", role=Role.ADMIN))
            first = FirstStart(admin_token=secret)
        if live.service_token is None:
            service_token = asyncio.run(_fresh_service_token(database_url))
            live = live.model_copy(update={"service_token": SecretStr(service_token)})
        url = f"http://{live.host}:{live.port}"
        specs, catcher = embedded_specs()

        async def announce() -> None:
            typer.echo(await welcome(url, first, mail_caught=catcher is not None), err=True)

        _serve(create_app(specs, live, title="Rampart"), live, announce)


@app.command()
def serve(
    service: Annotated[
        str, typer.Argument(help=f"one of: {', '.join(SERVICES)}, connector-runner")
    ],
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    connectors: Annotated[
        str | None,
        typer.Option(help="connector-runner only: comma-separated connectors (default: all)"),
    ] = None,
) -> None:
    """Run one service against RAMPART_DATABASE_URL and RAMPART_AMQP_URL (distributed mode)."""
    from rampart.cli._services import service_spec
    from rampart.core.app import create_app
    from rampart.core.logs import configure_logging
    from rampart.core.settings import Mode, Settings

    if service == "connector-runner":
        names = None if connectors is None else [n.strip() for n in connectors.split(",") if n]
        try:
            spec = import_module("rampart.broker.spec").runner_spec(names)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    elif service in SERVICES:
        if connectors is not None:
            raise typer.BadParameter("--connectors is for connector-runner only")
        spec = service_spec(service)
    else:
        raise typer.BadParameter(f"unknown service {service!r}; one of: {', '.join(SERVICES)}")
    settings = Settings(mode=Mode.DISTRIBUTED)
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    configure_logging(settings.log_level, settings.log_format)
    _serve(create_app([spec], settings, title=f"Rampart {service}"), settings)


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="what the token may do")],
    name: Annotated[str, typer.Option(help="who or what the token is for")],
) -> None:
    """Create an API token and print it once (RAMPART_DATABASE_URL, or the embedded data)."""
    from rampart.cli._embedded import embedded_database
    from rampart.core.settings import Settings

    settings = Settings()
    if settings.database_url is not None:
        secret = asyncio.run(
            _new_token(settings.database_url.get_secret_value(), name=name, role=role)
        )
    else:
        with embedded_database(settings) as live:
            assert live.database_url is not None
            secret = asyncio.run(
                _new_token(live.database_url.get_secret_value(), name=name, role=role)
            )
    typer.echo(secret)


@app.command()
def asyncapi() -> None:
    """Print the AsyncAPI 3 document of every bus message."""
    from rampart.core.asyncapi import asyncapi_document
    from rampart.core.settings import Settings

    settings = Settings()
    typer.echo(json.dumps(asyncapi_document(exchange=settings.bus_namespace), indent=2))
