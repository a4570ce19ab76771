"""Phishing triage: look up the reported URLs and sender domain, block what is malicious."""

from __future__ import annotations

import asyncio

from rampart.sdk.playbook import ActionFailed, ActionResult, Context, Event, Severity, playbook

SOC_MAILBOX = "soc@example.com"


def malicious(result: ActionResult | BaseException) -> bool:
    """Whether any source of a lookup said the indicator is malicious (by verdict or score)."""
    if isinstance(result, BaseException):
        return False
    return any(
        outcome.summary.get("verdict") == "malicious"
        or float(outcome.summary.get("score", 0)) >= 80
        for outcome in result.results
    )


@playbook(labels=["phishing"], priority=20)
async def phishing_triage(ctx: Context, event: Event) -> dict[str, object]:
    """Look up URLs and the sender's domain; block malicious domains and tell the SOC."""
    urls = [str(u) for u in event.values("url")]
    senders = [str(d) for d in event.values("domain")]
    lookups = await asyncio.gather(
        *(ctx.act("lookup url", tag="reputation", url=u) for u in urls),
        *(ctx.act("lookup domain", tag="reputation", domain=d) for d in senders),
        return_exceptions=True,
    )
    bad_urls = [u for u, r in zip(urls, lookups[: len(urls)], strict=True) if malicious(r)]
    bad_domains = [d for d, r in zip(senders, lookups[len(urls) :], strict=True) if malicious(r)]
    if not bad_urls and not bad_domains:
        await ctx.add_note("no indicator of this report is known to be malicious")
        await ctx.set_status("closed", resolution="benign: lookups found nothing malicious")
        return {"malicious": []}

    await ctx.set_severity(max(event.severity, Severity.HIGH))
    blocked: list[str] = []
    for domain in bad_domains:
        try:
            await ctx.act("block domain", tag="mail-gateway", domain=domain)
            blocked.append(domain)
        except ActionFailed as exc:
            await ctx.add_note(f"could not block {domain}: {exc}")
    await ctx.act(
        "send message",
        tag="notify",
        to=[SOC_MAILBOX],
        subject=f"Phishing confirmed: {event.name}",
        body=(
            f"Malicious URLs: {', '.join(bad_urls) or 'none'}\n"
            f"Malicious sender domains: {', '.join(bad_domains) or 'none'}\n"
            f"Blocked: {', '.join(blocked) or 'nothing'}"
        ),
    )
    await ctx.add_note(f"phishing confirmed; blocked {', '.join(blocked) or 'nothing'}")
    await ctx.set_status("open")
    return {"malicious": bad_urls + bad_domains, "blocked": blocked}
