"""Blocking addresses with nftables, in a table of Rampart's own that nothing else touches.

``table inet rampart`` holds two interval sets (``blocked_v4``, ``blocked_v6``) and three
base chains (input, forward, output) at priority -10 that drop traffic from and to any
address in them. Blocking adds an element, unblocking deletes it; the table is created on
first use under a lock, and the host's other rulesets are never read or changed.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from typing import Any

from rampart.connectors.ssh.models import IpBlock
from rampart.connectors.ssh.session import SshSession
from rampart.sdk.connector import ActionError

TABLE = "rampart"
_RULESET = """table inet rampart {
  set blocked_v4 { type ipv4_addr; flags interval; }
  set blocked_v6 { type ipv6_addr; flags interval; }
  chain input { type filter hook input priority -10; policy accept;
    ip saddr @blocked_v4 drop; ip6 saddr @blocked_v6 drop; }
  chain forward { type filter hook forward priority -10; policy accept;
    ip saddr @blocked_v4 drop; ip daddr @blocked_v4 drop;
    ip6 saddr @blocked_v6 drop; ip6 daddr @blocked_v6 drop; }
  chain output { type filter hook output priority -10; policy accept;
    ip daddr @blocked_v4 drop; ip6 daddr @blocked_v6 drop; }
}"""
# Two actions on one host may race to create the table; flock serialises them.
_ENSURE = f"""
command -v nft >/dev/null || {{ echo 'nft is not installed (package nftables)' >&2; exit 3; }}
exec 9>/run/rampart-nftables.lock
command -v flock >/dev/null && flock -w 30 9
nft list table inet {TABLE} >/dev/null 2>&1 || nft -f - <<'RAMPART_EOF'
{_RULESET}
RAMPART_EOF
"""


def set_for(ip: str) -> str:
    """The set an address or network belongs in."""
    return "blocked_v6" if ipaddress.ip_network(ip, strict=False).version == 6 else "blocked_v4"


def _element(item: Any) -> str:
    if isinstance(item, dict) and "prefix" in item:
        return f"{item['prefix']['addr']}/{item['prefix']['len']}"
    if isinstance(item, dict) and "range" in item:
        return f"{item['range'][0]}-{item['range'][1]}"
    if isinstance(item, dict) and "elem" in item:
        return _element(item["elem"].get("val"))
    return str(item)


def parse_elements(listing: str) -> list[str]:
    """The elements of a set from ``nft -j list set`` output."""
    document = json.loads(listing)
    for entry in document.get("nftables", []):
        if "set" in entry:
            return [_element(e) for e in entry["set"].get("elem", [])]
    return []


async def blocked(session: SshSession, set_name: str) -> list[str]:
    """The elements of one of Rampart's sets; empty when the table does not exist yet."""
    result = await session.run(
        f"nft list table inet {TABLE} >/dev/null 2>&1 || exit 0; "
        f"nft -j list set inet {TABLE} {set_name}",
        privileged=True,
    )
    if result.exit_status != 0:
        raise ActionError(f"{session.target}: nft failed: {result.last_error_line()}")
    return parse_elements(result.stdout) if result.stdout.strip() else []


def covering(ip: str, elements: list[str]) -> str | None:
    """The element that already covers ``ip`` (the same address, or a network holding it)."""
    wanted = ipaddress.ip_network(ip)
    for element in elements:
        try:
            network = ipaddress.ip_network(element)
        except ValueError:  # a range such as a-b, added by hand
            continue
        if network.version == wanted.version and wanted.subnet_of(network):  # type: ignore[arg-type]
            return element
    return None


async def management_address(
    session: SshSession,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address this SSH connection comes from, as the host sees it."""
    result = await session.run('printf %s "$SSH_CONNECTION"')
    parts = result.stdout.split()
    try:
        return ipaddress.ip_address(parts[0].split("%")[0]) if parts else None
    except ValueError:
        return None


async def block(session: SshSession, ip: str) -> IpBlock:
    """Add an address or network to the block set."""
    source = await management_address(session)
    if source is not None and source in ipaddress.ip_network(ip):
        raise ActionError(
            f"{session.target}: refusing to block {ip}: Rampart manages this host from {source}"
        )
    set_name = set_for(ip)
    cover = covering(ip, await blocked(session, set_name))
    if cover is not None:
        return IpBlock(
            host=session.target, ip=ip, blocked=True, changed=False, set=set_name, covered_by=cover
        )
    script = _ENSURE + f"nft add element inet {TABLE} {set_name} {shlex.quote('{ ' + ip + ' }')}\n"
    result = await session.run(script, privileged=True)
    if result.exit_status != 0:
        raise ActionError(f"{session.target}: blocking {ip} failed: {result.last_error_line()}")
    return IpBlock(host=session.target, ip=ip, blocked=True, changed=True, set=set_name)


async def unblock(session: SshSession, ip: str) -> IpBlock:
    """Remove an address or network from the block set; a no-op when it is not there."""
    set_name = set_for(ip)
    elements = await blocked(session, set_name)
    if ip not in elements:
        # Still dropped if a wider network holds it: say so rather than claim it is free.
        cover = covering(ip, elements)
        return IpBlock(
            host=session.target,
            ip=ip,
            blocked=cover is not None,
            changed=False,
            set=set_name,
            covered_by=cover,
        )
    element = shlex.quote("{ " + ip + " }")
    result = await session.run(
        f"nft delete element inet {TABLE} {set_name} {element}", privileged=True
    )
    if result.exit_status != 0:
        raise ActionError(f"{session.target}: unblocking {ip} failed: {result.last_error_line()}")
    return IpBlock(host=session.target, ip=ip, blocked=False, changed=True, set=set_name)
