"""How the CLI reaches a running Rampart: where it is, with which token, and what it answered.

The URL and token come from, first to last: ``--url`` / ``--token``, ``RAMPART_URL`` /
``RAMPART_TOKEN``, the config file (``$XDG_CONFIG_HOME/rampart/config.toml``, else
``~/.config/rampart/config.toml``; ``rampart login`` writes it, readable by its owner only).
In distributed mode each service has its own address: the file's ``[urls]`` table names them
(``ingest``, ``engine``, ``broker``, ``approvals``, ``assets``); a service it does not name is
reached at ``url``.

Exit codes scripts can trust:

==  ==============================================================
0   done
1   Rampart refused the request (a 4xx problem; its detail is printed)
2   the command line was wrong
3   Rampart could not be reached, or failed (5xx)
4   the token is missing, wrong, expired or not allowed to do this
5   what the command waited for ended badly (a failed run, say) or not in time
6   the command needs what this machine lacks: root, or a system package
==  ==============================================================
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer

from rampart.core.api_map import service_of

__all__ = [
    "EXIT_AUTH",
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "EXIT_WAIT_FAILED",
    "Api",
    "CliConfig",
    "Failure",
    "config_path",
    "load_config",
    "save_config",
]

EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 3
EXIT_AUTH = 4
EXIT_WAIT_FAILED = 5

SERVICES = ("ingest", "engine", "broker", "approvals", "assets")
# The config file's short names of the services.
_SHORT = {
    "ingest": "ingest",
    "playbook-engine": "engine",
    "action-broker": "broker",
    "approvals": "approvals",
    "asset-registry": "assets",
}


class Failure(Exception):
    """A command's end that is not success: what to print, and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def config_path() -> Path:
    """Where ``rampart login`` keeps the URL and token."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rampart" / "config.toml"


@dataclass(frozen=True)
class CliConfig:
    """Where Rampart is and the token to use."""

    url: str = "http://127.0.0.1:8000"
    token: str | None = None
    urls: Mapping[str, str] = field(default_factory=dict)

    def base_for(self, path: str) -> str:
        """The base URL of the service that answers ``path``."""
        service = service_of(path)
        short = _SHORT.get(service) if service else None
        return (self.urls.get(short) if short else None) or self.url


def load_config(url: str | None, token: str | None) -> CliConfig:
    """The options, else the environment, else the config file, else the defaults."""
    stored: dict[str, Any] = {}
    path = config_path()
    if path.is_file():
        try:
            stored = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise Failure(f"{path} is not valid TOML: {exc}", 2) from None
    raw_urls = stored.get("urls")
    urls: dict[str, Any] = raw_urls if isinstance(raw_urls, dict) else {}
    unknown = sorted(set(urls) - set(SERVICES))
    if unknown:
        raise Failure(f"{path}: [urls] names unknown services {unknown}; use {SERVICES}", 2)
    return CliConfig(
        url=(url or os.environ.get("RAMPART_URL") or stored.get("url") or CliConfig.url).rstrip(
            "/"
        ),
        token=token or os.environ.get("RAMPART_TOKEN") or stored.get("token"),
        urls={k: str(v).rstrip("/") for k, v in urls.items()},
    )


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def save_config(config: CliConfig) -> Path:
    """Write the config file, readable and writable by its owner only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"url = {_toml_string(config.url)}"]
    if config.token:
        lines.append(f"token = {_toml_string(config.token)}")
    if config.urls:
        lines.append("")
        lines.append("[urls]")
        lines.extend(f"{k} = {_toml_string(v)}" for k, v in sorted(config.urls.items()))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def _problem_text(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if not isinstance(problem, dict):
        return str(problem)[:500]
    text = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    errors = problem.get("errors")
    if isinstance(errors, list):
        named = [
            f"{e.get('field', '?')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
        ]
        if named:
            text += "\n  " + "\n  ".join(named)
    return text


class Api:
    """A synchronous client of Rampart's public API, answering in :class:`Failure`."""

    def __init__(self, config: CliConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        headers = {"Accept": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._http = httpx.Client(headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **options: Any) -> Any:
        """Send a request; the JSON answer, or a :class:`Failure` with the problem's detail."""
        url = self.config.base_for(path) + path
        try:
            response = self._http.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise Failure(
                f"cannot reach Rampart at {self.config.base_for(path)}: {exc}", EXIT_UNAVAILABLE
            ) from None
        if response.status_code in (401, 403):
            hint = "" if self.config.token else " (no token: use --token or `rampart login`)"
            raise Failure(f"{response.status_code}: {_problem_text(response)}{hint}", EXIT_AUTH)
        if response.status_code >= 500:
            raise Failure(f"{response.status_code}: {_problem_text(response)}", EXIT_UNAVAILABLE)
        if response.status_code >= 400:
            raise Failure(f"{response.status_code}: {_problem_text(response)}", EXIT_REFUSED)
        if not response.content:
            return None
        if "json" not in response.headers.get("content-type", ""):
            return response.text
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with the query parameters that are not None."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        """``POST path`` with a JSON body."""
        return self.request("POST", path, json=body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        """``PATCH path`` with a JSON body."""
        return self.request("PATCH", path, json=body)


def fail(failure: Failure) -> typer.Exit:
    """Print a failure on stderr; the exit to raise."""
    typer.echo(f"error: {failure}", err=True)
    return typer.Exit(failure.code)
