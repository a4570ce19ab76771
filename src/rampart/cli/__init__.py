"""The ``rampart`` command line: run, serve, token, asyncapi."""

from rampart.cli._main import app, main

__all__ = ["app", "main"]
