"""The environment playbook processes start with: what Python needs, nothing the engine holds.

The engine's own environment carries the master key, the database and broker URLs and the
service token; a playbook that read them could reach everything behind them. Playbook
processes get only the names below (and ``LC_*``), so a secret added to the engine's
environment later is left out without anyone having to remember it.
"""

from __future__ import annotations

from collections.abc import Mapping

KEPT = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "PYTHONPATH",
        "PYTHONHASHSEED",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "PYTHONDONTWRITEBYTECODE",
        "VIRTUAL_ENV",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
    }
)
"""Names a playbook process keeps from the engine's environment."""


def playbook_environment(engine: Mapping[str, str]) -> dict[str, str]:
    """The environment of a playbook process started by an engine whose is ``engine``."""
    return {k: v for k, v in engine.items() if k in KEPT or k.startswith("LC_")}
