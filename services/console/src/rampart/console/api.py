"""The services' public APIs, called with the signed-in person's token."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx

from rampart.console.state import ConsoleState
from rampart.core.api_map import service_of

__all__ = ["Api", "ApiProblem", "SignedOut"]


class SignedOut(Exception):
    """The token was refused (401): the person must sign in again."""


class ApiProblem(Exception):
    """A 4xx/5xx answer, with the problem document to show beside the form."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail") or problem.get("title") or str(status))
        self.status = status
        self.problem = problem

    @property
    def detail(self) -> str:
        """The problem's detail, else its title."""
        return str(self.problem.get("detail") or self.problem.get("title") or self.status)

    def field_errors(self) -> dict[str, str]:
        """Each field at fault (``params.ip``, ``resolution``) and what was wrong with it."""
        out: dict[str, str] = {}
        for error in self.problem.get("errors") or []:
            if isinstance(error, dict) and error.get("field"):
                field = str(error["field"]).removeprefix("body.")
                out.setdefault(field, str(error.get("message", "invalid")))
        return out


class Api:
    """One page's calls, as the signed-in person."""

    def __init__(self, state: ConsoleState, token: str) -> None:
        self._state = state
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _url(self, path: str) -> str:
        service = service_of(path)
        settings = self._state.settings
        base: str = settings.service_url(service) if service else settings.public_url
        return base.rstrip("/") + path

    async def request(self, method: str, path: str, **options: Any) -> Any:
        """The JSON (or text) of a 2xx answer; :class:`SignedOut` or :class:`ApiProblem`."""
        try:
            response = await self._state.http.request(
                method, self._url(path), headers=self._headers, **options
            )
        except httpx.HTTPError as exc:
            raise ApiProblem(
                503, {"title": "Service unavailable", "detail": f"{path}: {exc!r}"}
            ) from None
        if response.status_code >= 400:
            _refuse(response)
        if not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    async def download(self, path: str) -> httpx.Response:
        """A 2xx answer opened as a stream (the caller closes it); errors as :meth:`request`."""
        http = self._state.http
        try:
            response = await http.send(
                http.build_request("GET", self._url(path), headers=self._headers), stream=True
            )
        except httpx.HTTPError as exc:
            raise ApiProblem(
                503, {"title": "Service unavailable", "detail": f"{path}: {exc!r}"}
            ) from None
        if response.status_code < 400:
            return response
        try:
            await response.aread()
        finally:
            await response.aclose()
        _refuse(response)

    async def get(self, path: str, **params: Any) -> Any:
        """``GET`` with the parameters that are set."""
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return await self.request("GET", path, params=clean)

    async def post(self, path: str, body: Any = None) -> Any:
        """``POST`` a JSON body."""
        return await self.request("POST", path, json=body if body is not None else {})

    async def patch(self, path: str, body: Any) -> Any:
        """``PATCH`` a JSON body."""
        return await self.request("PATCH", path, json=body)


def _refuse(response: httpx.Response) -> NoReturn:
    """Raise what a 4xx or 5xx answer means: :class:`SignedOut` or :class:`ApiProblem`."""
    if response.status_code == 401:
        raise SignedOut()
    try:
        problem = response.json()
    except ValueError:
        problem = {"title": response.reason_phrase, "detail": response.text[:300]}
    if not isinstance(problem, dict):
        problem = {"detail": str(problem)}
    raise ApiProblem(response.status_code, problem)
