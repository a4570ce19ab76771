"""Brute-force response: disable the targeted account, block the source, open a task."""

from __future__ import annotations

import asyncio

from rampart.sdk.playbook import ActionFailed, Context, Event, playbook


@playbook(labels=["brute-force"], priority=30)
async def brute_force_response(ctx: Context, event: Event) -> dict[str, object]:
    """Disable each targeted user, block each source address, and hand containment to a person."""
    users = [str(u) for u in event.values("user name")]
    sources = [str(a.cef["sourceAddress"]) for a in event.artifacts if a.cef.get("sourceAddress")]
    sources = list(dict.fromkeys(sources))
    outcomes = await asyncio.gather(
        *(ctx.act("disable user", tag="directory", user=u) for u in users),
        *(ctx.act("block ip", tag="perimeter", ip=ip) for ip in sources),
        return_exceptions=True,
    )
    failed = [str(o) for o in outcomes if isinstance(o, ActionFailed)]
    for reason in failed:
        await ctx.add_note(f"containment step failed: {reason}")
    await ctx.add_task(
        "Confirm the account owner's identity, reset the password, re-enable the account",
        phase="containment",
        owner="identity-team",
        sla_minutes=60,
    )
    await ctx.add_note(
        f"disabled {', '.join(users) or 'no user'}; blocked {', '.join(sources) or 'no address'}"
    )
    await ctx.set_status("open")
    return {"disabled": users, "blocked": sources, "failed": failed}
