"""Widgets: Jinja2 templates that render one action result as HTML, sandboxed and escaped."""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

__all__ = ["WidgetError", "compile_widget", "render_widget"]

# Results come from products an attacker may influence (process names, hostnames): the
# sandbox keeps templates away from Python internals and autoescape keeps values as text.
_ENV = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


class WidgetError(ValueError):
    """A widget template that does not compile or render."""


def compile_widget(template: str) -> None:
    """Check that a template compiles; raises WidgetError with the line of the problem."""
    try:
        _ENV.parse(template)
    except TemplateSyntaxError as exc:
        raise WidgetError(f"line {exc.lineno}: {exc.message}") from None


def render_widget(template: str, result: BaseModel | dict[str, Any]) -> str:
    """Render one result; the template sees it as ``result`` (JSON values)."""
    value = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    try:
        return _ENV.from_string(template).render(result=value)
    except TemplateSyntaxError as exc:
        raise WidgetError(f"line {exc.lineno}: {exc.message}") from None
    except Exception as exc:  # undefined names, sandbox refusals: the template's fault
        raise WidgetError(f"widget failed to render: {exc}") from None
