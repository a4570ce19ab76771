"""Every verb of the action catalog has a connector that really does it, and a test that drives
it end to end through the broker; the apps API lists every installed connector.

"Through the broker" means a playbook's ``ctx.act`` → the action broker → a connector runner →
the product (a real one, or a fake after the vendor's reference) → the result in the run. The
modules that do so declare the verbs they drive, and build their playbooks from them:
``STEPS`` in ``test_connectors_through_broker`` and ``test_saas_end_to_end``, ``BROKER_VERBS``
in the modules of the connectors tested against real systems (ssh, qemu, ldap, smtp).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from connectors.tests import (
    test_connectors_through_broker,
    test_ldap_connector,
    test_qemu_connector,
    test_saas_end_to_end,
    test_smtp_connector,
    test_ssh_through_the_broker,
)
from rampart.core.auth import Role
from rampart.core.connectors import discover_connectors
from rampart.sdk.catalog import CATALOG
from tests.harness import StartServices, memory_only

NOT_A_PRODUCT = {"noop"}
"""Connectors that answer every verb without touching anything: they prove no verb."""


def implemented() -> dict[str, set[str]]:
    """Verb → the installed connectors (products only) that implement it."""
    by_verb: dict[str, set[str]] = defaultdict(set)
    for connector in discover_connectors():
        if connector.name not in NOT_A_PRODUCT:
            for verb in connector.bindings():
                by_verb[verb].add(connector.name)
    return by_verb


def driven_through_the_broker() -> dict[str, set[str]]:
    """Verb → the connectors whose test drives it from a playbook through the broker."""
    by_verb: dict[str, set[str]] = defaultdict(set)
    for connector, steps in test_connectors_through_broker.STEPS.items():
        for verb, _ in steps:
            by_verb[verb].add(connector)
    for _, verb, product, _ in test_saas_end_to_end.STEPS:
        by_verb[verb].add(product)  # each product's asset is of the connector of its name
    for connector, module in (
        ("ssh", test_ssh_through_the_broker),
        ("qemu", test_qemu_connector),
        ("ldap", test_ldap_connector),
        ("smtp", test_smtp_connector),
    ):
        for verb in module.BROKER_VERBS:
            by_verb[verb].add(connector)
    return by_verb


def test_every_catalog_verb_has_a_connector_that_implements_it() -> None:
    missing = sorted(set(CATALOG) - set(implemented()))
    assert not missing, f"no installed connector implements: {', '.join(missing)}"


def test_every_catalog_verb_is_driven_end_to_end_through_the_broker() -> None:
    driven = driven_through_the_broker()
    missing = sorted(set(CATALOG) - set(driven))
    assert not missing, f"no test drives these verbs through the broker: {', '.join(missing)}"
    by_connector = implemented()
    impossible = {
        verb: sorted(connectors - by_connector.get(verb, set()))
        for verb, connectors in driven.items()
        if connectors - by_connector.get(verb, set())
    }
    assert not impossible, f"driven on connectors that do not implement them: {impossible}"


@memory_only
async def test_the_apps_api_lists_every_installed_connector_with_its_actions(
    start_services: StartServices,
) -> None:
    from rampart.assets.spec import build_spec

    async with (
        start_services(specs=[build_spec()]) as services,
        services.client(Role.ANALYST) as client,
    ):
        answer = await client.get("/api/v1/apps")
    assert answer.status_code == 200, answer.text
    listed: dict[str, Any] = {app["name"]: app for app in answer.json()}
    installed = {c.name: c for c in discover_connectors()}
    assert sorted(listed) == sorted(installed)
    for name, connector in installed.items():
        app = listed[name]
        assert (app["vendor"], app["product"]) == (connector.vendor, connector.product)
        actions = {a["name"]: a for a in app["actions"]}
        assert sorted(actions) == sorted(connector.bindings()), name
        for verb, shown in actions.items():
            assert shown["kind"] == CATALOG[verb].kind.value
            assert shown["output"] == connector.output_model(verb).model_json_schema(), (name, verb)
