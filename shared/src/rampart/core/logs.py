"""Log lines that carry the correlation id of the request or message being handled.

JSON lines for machines (one object a line), or short readable lines for a person at a
terminal; ``configure_logging`` picks by ``RAMPART_LOG_FORMAT`` (``auto``: readable when both
stdout and stderr are terminals, JSON otherwise).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

# a secret in a URL's query (``?token=...``, as url-token sources send it) or a source secret
# anywhere in a line: access logs, client logs and error messages all go through here
_SECRETS = re.compile(
    r"(?P<key>[?&;](?:token|secret|access_token)=)[^&\s\"'\\]+|whsec_[A-Za-z0-9+/=_-]{8,}",
    re.IGNORECASE,
)


def redact(line: str) -> str:
    """``line`` with secrets in URLs and source secrets replaced by ``[redacted]``."""
    if "=" not in line and "whsec_" not in line:
        return line
    return _SECRETS.sub(lambda m: (m["key"] or "") + "[redacted]", line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


# uvicorn repeats its message with terminal colours in ``color_message``
_NOT_SHOWN = frozenset({"color_message"})


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD and not key.startswith("_")
    }


class TextFormatter(logging.Formatter):
    """One readable line: local time, level, message, ``key=value`` extras, logger name."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        parts = [f"{when} {record.levelname:<7} {record.getMessage()}"]
        cid = correlation_id.get()
        if cid:
            parts.append(f"correlation_id={cid}")
        for key, value in _extras(record).items():
            if key not in _NOT_SHOWN:
                shown = ",".join(map(str, value)) if isinstance(value, list | tuple) else value
                parts.append(f"{key}={shown}")
        parts.append(f"[{record.name}]")
        line = "  ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def formatter_for(log_format: LogFormat, stream: TextIO | None = None) -> logging.Formatter:
    """The formatter ``log_format`` asks for; ``auto`` is readable only on a terminal."""
    if log_format == "auto":
        on_terminal = _is_terminal(sys.stdout) and _is_terminal(stream or sys.stderr)
        log_format = "text" if on_terminal else "json"
    return TextFormatter() if log_format == "text" else JsonFormatter()


def configure_logging(level: str = "INFO", log_format: LogFormat = "json") -> None:
    """Send log lines in ``log_format`` to stderr from the root logger."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format, handler.stream))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
