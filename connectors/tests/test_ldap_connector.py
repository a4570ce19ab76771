"""The ldap connector against a real OpenLDAP slapd that the test starts on its own port.

slapd runs with a slapd.conf of the test's own (mdb database, the ppolicy overlay with a
default policy that has ``pwdLockout: TRUE``, so a ``pwdAccountLockedTime`` really stops
binds). Active Directory semantics are tested against the same server, with a small
AD-like schema: ``userAccountControl`` and ``sAMAccountName`` under Microsoft's OIDs
(1.2.840.113556.1.4.8 and .221). The flags follow Microsoft's documentation, "Use the
UserAccountControl flags to manipulate user account properties"
(support.microsoft.com/help/305144) and [MS-DRSR] 5.206 "userAccountControl Bits":
ACCOUNTDISABLE is 0x2, NORMAL_ACCOUNT 0x200, DONT_EXPIRE_PASSWORD 0x10000; disabling a
normal account makes 512 into 514. Every state is checked with OpenLDAP's own tools
(``ldapsearch``, ``ldapwhoami``), not through the connector.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rampart.connectors.ldap import LdapConnector
from rampart.connectors.ldap import directory as ops
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness
from tests._processes import free_port
from tests.harness import memory_only

pytestmark = pytest.mark.slow
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SLAPD = "/usr/sbin/slapd"
BASE = "dc=rampart,dc=test"
ADMIN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "admin-secret-7f3a"
NORMAL_ACCOUNT, DONT_EXPIRE_PASSWORD, PASSWD_NOTREQD = 0x200, 0x10000, 0x20

AD_SCHEMA = """
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'rampartTestAdAccount' AUXILIARY
  MAY ( userAccountControl $ sAMAccountName ) )
"""


def _person(uid: str, password: str, *extra: str) -> str:
    lines = [
        f"dn: uid={uid},ou=people,{BASE}",
        "objectClass: inetOrgPerson",
        f"uid: {uid}",
        f"cn: {uid.title()}",
        "sn: Test",
        f"mail: {uid}@rampart.test",
        f"userPassword: {password}",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def _ad_user(uid: str, flags: int) -> str:
    return _person(
        uid,
        f"{uid}-pw",
        "objectClass: rampartTestAdAccount",
        f"sAMAccountName: {uid}",
        f"userAccountControl: {flags}",
    )


DATA = "\n".join(
    [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Rampart\ndc: rampart\n",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=policies,{BASE}\nobjectClass: organizationalUnit\nou: policies\n",
        f"dn: cn=default,ou=policies,{BASE}\nobjectClass: device\nobjectClass: pwdPolicy\n"
        "cn: default\npwdAttribute: userPassword\npwdLockout: TRUE\n",
        _person("alice", "alice-pw"),
        _person("carol", "carol-pw"),
        _person("dave", "dave-pw"),
        _ad_user("bob", NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD),
        _ad_user("erin", NORMAL_ACCOUNT),
        _ad_user("frank", NORMAL_ACCOUNT),
    ]
)


def _dn(uid: str) -> str:
    return f"uid={uid},ou=people,{BASE}"


@dataclass
class Slapd:
    """A running slapd and how to reach it."""

    url: str
    port: int

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "url": self.url,
            "bind_dn": ADMIN,
            "bind_password": ADMIN_PASSWORD,
            "base_dn": BASE,
            "timeout_s": 5,
            **overrides,
        }

    def ad_config(self, **overrides: Any) -> dict[str, Any]:
        # The test schema has no objectCategory: every entry carrying the AD attributes.
        return (
            self.config(
                mechanism="active-directory", user_filter="(objectClass=rampartTestAdAccount)"
            )
            | overrides
        )

    def _admin(self, *tool: str) -> list[str]:
        return [*tool, "-x", "-H", self.url, "-D", ADMIN, "-w", ADMIN_PASSWORD]

    def binds(self, uid: str, password: str) -> bool:
        """Whether the user can bind (ldapwhoami); ppolicy refuses a locked one with 49."""
        done = subprocess.run(
            [
                *("ldapwhoami", "-x", "-H", self.url),
                "-D",
                f"uid={uid},ou=people,{BASE}",
                "-w",
                password,
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert done.returncode in (0, 49), done.stderr
        return done.returncode == 0

    def read(self, uid: str, attribute: str) -> list[str]:
        """An attribute's values, read with ldapsearch as the administrator."""
        done = subprocess.run(
            [*self._admin("ldapsearch", "-LLL"), "-b", _dn(uid), "-s", "base", "(cn=*)", attribute],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        prefix = f"{attribute}: "
        return [line[len(prefix) :] for line in done.stdout.splitlines() if line.startswith(prefix)]

    def replace(self, uid: str, attribute: str, value: str | None) -> None:
        """Set an attribute to one value, or (None) remove it, with ldapmodify."""
        change = f"dn: {_dn(uid)}\nchangetype: modify\n"
        change += f"replace: {attribute}\n" + (f"{attribute}: {value}\n" if value else "")
        subprocess.run(
            self._admin("ldapmodify"),
            input=change,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """slapd on a free loopback port, with its own configuration and database."""
    missing = [t for t in (SLAPD, "slapadd", "ldapwhoami") if shutil.which(t) is None]
    if missing:
        reason = f"missing {missing} (packages slapd, ldap-utils)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("slapd")
    (work / "data").mkdir()
    (work / "ad.schema").write_text(AD_SCHEMA)
    (work / "data.ldif").write_text(DATA)
    schema = Path("/etc/ldap/schema")
    (work / "slapd.conf").write_text(
        f"include {schema / 'core.schema'}\ninclude {schema / 'cosine.schema'}\n"
        f"include {schema / 'inetorgperson.schema'}\ninclude {work / 'ad.schema'}\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload ppolicy\n"
        f"pidfile {work / 'slapd.pid'}\n"
        f'database mdb\nsuffix "{BASE}"\nrootdn "{ADMIN}"\nrootpw {ADMIN_PASSWORD}\n'
        f"directory {work / 'data'}\n"
        f'overlay ppolicy\nppolicy_default "cn=default,ou=policies,{BASE}"\n'
    )
    subprocess.run(
        ["slapadd", "-f", str(work / "slapd.conf"), "-l", str(work / "data.ldif")],
        capture_output=True,
        check=True,
        timeout=30,
    )
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    log = work / "slapd.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-f", str(work / "slapd.conf"), "-h", f"{url}/"],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"slapd exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("slapd did not listen within 20 s")
            time.sleep(0.05)
        yield Slapd(url, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_declaration_matches_the_catalog(slapd: Slapd) -> None:
    ConnectorHarness(LdapConnector, slapd.config()).check()
    assert set(LdapConnector.bindings()) == {
        "disable user",
        "enable user",
        "lookup user",
        "test connectivity",
    }


async def test_ppolicy_lock_stops_the_bind_and_unlock_restores_it(slapd: Slapd) -> None:
    ldap = ConnectorHarness(LdapConnector, slapd.config())
    assert slapd.binds("alice", "alice-pw")

    disabled = await ldap.run("disable user", user="alice")
    assert disabled.model_dump() == {
        "user": "alice",
        "dn": f"uid=alice,ou=people,{BASE}",
        "enabled": False,
        "changed": True,
        "mechanism": "ppolicy",
    }
    assert slapd.read("alice", "pwdAccountLockedTime") == ["000001010000Z"]
    assert not slapd.binds("alice", "alice-pw"), "a disabled account can still bind"
    assert (await ldap.run("disable user", user="alice")).model_dump()["changed"] is False
    found = (await ldap.run("lookup user", user="alice")).model_dump()
    assert (found["enabled"], found["locked_since"]) == (False, "000001010000Z")
    assert found["attributes"]["mail"] == ["alice@rampart.test"]
    assert found["attributes"]["uid"] == ["alice"]

    enabled = await ldap.run("enable user", user="alice")
    assert enabled.model_dump()["changed"] is True
    assert slapd.read("alice", "pwdAccountLockedTime") == []
    assert slapd.binds("alice", "alice-pw")
    assert (await ldap.run("enable user", user="alice")).model_dump()["changed"] is False
    assert "is enabled" in ldap.render("enable user", enabled)


async def test_active_directory_sets_only_the_accountdisable_bit(slapd: Slapd) -> None:
    ldap = ConnectorHarness(LdapConnector, slapd.ad_config())
    flags = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD  # 66048

    disabled = await ldap.run("disable user", user="bob")
    assert disabled.model_dump()["changed"] is True
    assert slapd.read("bob", "userAccountControl") == [str(flags | ops.ACCOUNTDISABLE)]
    assert slapd.read("bob", "pwdAccountLockedTime") == [], "AD mode must not use ppolicy"
    found = (await ldap.run("lookup user", user="bob")).model_dump()
    assert (found["enabled"], found["user_account_control"]) == (False, 66050)
    assert found["attributes"]["sAMAccountName"] == ["bob"]
    assert (await ldap.run("disable user", user="bob")).model_dump()["changed"] is False

    enabled = await ldap.run("enable user", user="bob")
    assert enabled.model_dump()["enabled"] is True
    assert slapd.read("bob", "userAccountControl") == [str(flags)]


async def test_a_flag_changed_between_read_and_write_is_kept(
    slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    find = ops.Directory.find
    raced: list[str] = []

    def find_then_race(directory: ops.Directory, user: str, attributes: list[str]) -> Any:
        account = find(directory, user, attributes)
        if not raced:  # someone else sets PASSWD_NOTREQD after our read, before our write
            raced.append(user)
            slapd.replace(user, "userAccountControl", str(NORMAL_ACCOUNT | PASSWD_NOTREQD))
        return account

    monkeypatch.setattr(ops.Directory, "find", find_then_race)
    result = await ConnectorHarness(LdapConnector, slapd.ad_config()).run(
        "disable user", user="erin"
    )
    assert raced == ["erin"]
    assert result.model_dump()["changed"] is True
    assert slapd.read("erin", "userAccountControl") == [
        str(NORMAL_ACCOUNT | PASSWD_NOTREQD | ops.ACCOUNTDISABLE)
    ]


async def test_unknown_users_and_filter_characters_find_nothing(slapd: Slapd) -> None:
    ldap = ConnectorHarness(LdapConnector, slapd.config())
    with pytest.raises(ActionError, match="no user 'nobody'"):
        await ldap.run("disable user", user="nobody")
    with pytest.raises(ActionError, match=r"no user '\*'"):
        await ldap.run("disable user", user="*")
    not_ad = ConnectorHarness(
        LdapConnector,
        slapd.config(
            mechanism="active-directory",
            user_attribute="uid",
            user_filter="(objectClass=inetOrgPerson)",
        ),
    )
    with pytest.raises(ActionError, match="not an Active Directory user"):
        await not_ad.run("disable user", user="dave")
    assert slapd.read("dave", "pwdAccountLockedTime") == []


async def test_a_refused_bind_and_a_closed_port_fail_without_the_password(
    slapd: Slapd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = ConnectorHarness(LdapConnector, slapd.config(bind_password="not-the-one-9c1e"))
    with pytest.raises(ActionError, match="bind as 'cn=admin,dc=rampart,dc=test' was refused") as e:
        await wrong.run("test connectivity")
    assert "not-the-one-9c1e" not in str(e.value)
    closed = ConnectorHarness(LdapConnector, slapd.config(url=f"ldap://127.0.0.1:{free_port()}"))
    with pytest.raises(TargetUnavailable, match="is unreachable"):
        await closed.run("lookup user", user="alice")
    reached = await ConnectorHarness(LdapConnector, slapd.config()).run("test connectivity")
    assert reached.model_dump()["bound_as"] == f"dn:{ADMIN}"
    assert "not-the-one-9c1e" not in caplog.text
    assert ADMIN_PASSWORD not in caplog.text


BROKER_VERBS = ("disable user", "lookup user")
"""The verbs the through-the-broker test below drives, in this order (the catalog coverage test
reads them)."""


@memory_only
async def test_playbook_disables_then_looks_up_a_user_through_the_broker(
    slapd: Slapd, playbook_run: Any
) -> None:
    assert slapd.binds("carol", "carol-pw")
    try:
        run = await playbook_run(
            "ldap",
            slapd.config(),
            f"""
out = {{}}
for verb in {BROKER_VERBS!r}:
    [outcome] = (await ctx.act(verb, asset=ASSET, user="carol")).results
    out[verb] = {{"status": outcome.status, "data": outcome.data}}
return out
""",
        )
        assert run["status"] == "completed", run
        assert not slapd.binds("carol", "carol-pw")
        result = run["result"]
        assert set(result) == set(BROKER_VERBS)
        [disabled] = result["disable user"]["data"]
        assert (disabled["dn"], disabled["enabled"], disabled["changed"]) == (
            _dn("carol"),
            False,
            True,
        )
        [record] = result["lookup user"]["data"]
        assert (record["dn"], record["enabled"]) == (_dn("carol"), False)
        assert record["locked_since"]
    finally:
        slapd.replace("carol", "pwdAccountLockedTime", None)
