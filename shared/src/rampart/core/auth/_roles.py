"""Who may call a route, declared once: ``async def close(who: Analyst, ...)``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from rampart.core.auth._deps import require_roles
from rampart.core.auth._tokens import Principal
from rampart.core.vocabulary import Role

Admin = Annotated[Principal, Depends(require_roles())]
"""Administrators only."""

Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST))]
"""Analysts (and administrators): people who work events."""

Reader = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.SERVICE))]
"""Analysts and other Rampart services: read access to a service's objects."""

Decider = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.APPROVER))]
"""Analysts and approvers: people who answer prompts and decide approvals."""

Ingester = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.INGEST))]
"""Analysts and ingest tokens: who may create events."""

ServiceCaller = Annotated[Principal, Depends(require_roles(Role.SERVICE))]
"""Other Rampart services (and administrators)."""
