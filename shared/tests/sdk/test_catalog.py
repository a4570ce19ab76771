"""The action catalog: its verbs and kinds, undo pairs, parameter schemas and contains types."""

from __future__ import annotations

import pytest

from rampart.core.vocabulary import CEF_CONTAINS
from rampart.sdk.catalog import (
    CATALOG,
    CONTAINS_TYPES,
    ActionKind,
    InvalidParameters,
    contains,
    validate_params,
)
from rampart.sdk.policy import ApprovalPolicy

REQUIRED = {
    "block ip": "contain",
    "unblock ip": "correct",
    "block domain": "contain",
    "unblock domain": "correct",
    "get process dump": "investigate",
    "terminate process": "correct",
    "list processes": "investigate",
    "suspend vm": "contain",
    "resume vm": "correct",
    "get vm status": "investigate",
    "isolate host": "contain",
    "release host": "correct",
    "disable user": "contain",
    "enable user": "correct",
    "lookup user": "investigate",
    "lookup ip": "investigate",
    "lookup hash": "investigate",
    "lookup domain": "investigate",
    "run query": "investigate",
    "send message": "generic",
    "test connectivity": "test",
    "block url": "contain",
    "unblock url": "correct",
    "block hash": "contain",
    "unblock hash": "correct",
    "quarantine file": "contain",
    "get file": "investigate",
    "run script": "correct",
    "hunt ip": "investigate",
    "hunt hash": "investigate",
    "create ticket": "generic",
    "update ticket": "generic",
    "add to list": "generic",
    "remove from list": "generic",
}
UNDO = {
    "block ip": "unblock ip",
    "block domain": "unblock domain",
    "suspend vm": "resume vm",
    "isolate host": "release host",
    "disable user": "enable user",
    "block url": "unblock url",
    "block hash": "unblock hash",
}
# Bookkeeping pairs: neither side changes what a host or a network does on its own.
GENERIC_UNDO = {"add to list": "remove from list"}


def test_catalog_holds_every_verb_with_its_kind() -> None:
    assert {name: CATALOG[name].kind.value for name in REQUIRED} == REQUIRED


def test_undo_pairs_go_both_ways_and_undo_a_containment_with_a_correction() -> None:
    for do, undo in UNDO.items():
        assert CATALOG[do].undo == undo
        assert CATALOG[undo].undo == do
        assert CATALOG[do].kind is ActionKind.CONTAIN
        assert CATALOG[undo].kind is ActionKind.CORRECT
    for do, undo in GENERIC_UNDO.items():
        assert (CATALOG[do].undo, CATALOG[undo].undo) == (undo, do)
        assert CATALOG[do].kind is CATALOG[undo].kind is ActionKind.GENERIC
    paired = {n for n, s in CATALOG.items() if s.undo}
    assert paired == {*UNDO, *UNDO.values(), *GENERIC_UNDO, *GENERIC_UNDO.values()}


# The types some action's parameter takes; the rest describe artifacts no action takes yet.
TAKEN_BY_ACTIONS = (
    "ip",
    "host name",
    "process id",
    "process name",
    "hash",
    "domain",
    "url",
    "user name",
    "vm",
    "email",
    "file path",
)

# What ingest's detector (services/ingest/src/rampart/ingest/contains.py) can emit: the
# types of its field table and those it reads from a value's text.
DETECTED = (
    "ip",
    "ipv6",
    "hash",
    "md5",
    "sha1",
    "sha256",
    "url",
    "email",
    "user name",
    "domain",
    "host name",
    "file name",
    "file path",
    "process id",
    "mac address",
    "port",
)


def test_every_cef_field_type_is_a_contains_type_of_the_catalog() -> None:
    cef_types = {t for types in CEF_CONTAINS.values() for t in types}
    assert cef_types - set(CONTAINS_TYPES) == set()
    for kind in cef_types:
        assert contains(kind).types == (kind,)  # type: ignore[arg-type]


def test_every_type_the_detector_emits_is_a_contains_type_of_the_catalog() -> None:
    assert set(DETECTED) - set(CONTAINS_TYPES) == set()
    assert "vm" in CONTAINS_TYPES
    with pytest.raises(ValueError, match="contains types must be among"):
        contains("colour")  # type: ignore[arg-type]


def test_contains_types_name_real_parameters() -> None:
    seen: set[str] = set()
    for spec in CATALOG.values():
        properties = spec.parameters_schema().get("properties", {})
        for parameter, types in spec.contains().items():
            assert parameter in properties, (spec.name, parameter)
            assert set(types) <= set(CONTAINS_TYPES)
            seen.update(types)
    assert seen == set(TAKEN_BY_ACTIONS)
    assert CATALOG["get process dump"].contains() == {"pid": ["process id"]}
    assert CATALOG["block ip"].contains() == {"ip": ["ip"]}
    assert CATALOG["terminate process"].contains() == {
        "pid": ["process id"],
        "name": ["process name"],
    }


def test_parameters_are_validated_and_errors_name_the_field() -> None:
    assert validate_params("block ip", {"ip": " 10.1.2.3 "}).model_dump() == {"ip": "10.1.2.3"}
    assert validate_params("block ip", {"ip": "10.1.2.3/16"}).model_dump() == {"ip": "10.1.0.0/16"}
    assert validate_params("lookup hash", {"hash": "D41D8CD98F00B204E9800998ECF8427E"})
    cases = [
        ("block ip", {"ip": "ten.one"}, "params.ip"),
        ("block ip", {}, "params.ip"),
        ("block ip", {"ip": "10.0.0.1", "port": 22}, "params.port"),
        ("terminate process", {"grace_seconds": 1}, "params"),
        ("terminate process", {"pid": 0}, "params.pid"),
        ("lookup hash", {"hash": "abc"}, "params.hash"),
        ("lookup domain", {"domain": "not a domain"}, "params.domain"),
        ("send message", {"to": [], "body": "x"}, "params.to"),
    ]
    for name, params, field in cases:
        with pytest.raises(InvalidParameters) as caught:
            validate_params(name, params)
        assert caught.value.errors[0]["field"] == field, (name, params, caught.value.errors)
    with pytest.raises(InvalidParameters) as caught:
        validate_params("block ip", {"ip": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(caught.value.errors)


def test_default_policy_gates_contain_and_correct() -> None:
    policy = ApprovalPolicy()
    assert policy.needs_approval("block ip")
    assert policy.needs_approval("terminate process")
    assert not policy.needs_approval("get process dump")
    custom = ApprovalPolicy(kinds=["contain"], actions=["get process dump"], exempt=["block ip"])
    assert custom.needs_approval("get process dump")
    assert not custom.needs_approval("block ip")
    assert not custom.needs_approval("terminate process")
    with pytest.raises(ValueError, match="frobnicate"):
        ApprovalPolicy(actions=["frobnicate"])
