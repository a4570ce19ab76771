"""Envelope encryption: sealed values round-trip, bind their record, resist tampering, rotate."""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import pickle

import pytest
from pydantic import SecretStr

from rampart.core.crypto import (
    DecryptionError,
    Keyring,
    open_json,
    open_sealed,
    rewrap,
    seal,
    seal_json,
    sealed_kid,
)
from rampart.core.settings import Settings

AD = b"assets:0190a6d2-0000-7000-8000-000000000001:config"
SECRET = b"api-token=hunter2-correct-horse-battery-staple"


def _key_text(kid: str) -> tuple[str, bytes]:
    key = os.urandom(32)
    return f"{kid}:{base64.b64encode(key).decode()}", key


@pytest.fixture
def key_a() -> str:
    return _key_text("a")[0]


@pytest.fixture
def key_b() -> str:
    return _key_text("b")[0]


@pytest.fixture
def keyring(key_a: str) -> Keyring:
    return Keyring.from_text(key_a)


def _offsets(sealed: bytes) -> dict[str, range]:
    """Byte ranges of the format's fields, as documented in the module docstring."""
    kid_len = sealed[1]
    start = 2 + kid_len
    return {
        "header": range(0, start),
        "wrap_nonce": range(start, start + 12),
        "wrapped_key": range(start + 12, start + 60),
        "data_nonce": range(start + 60, start + 72),
        "ciphertext": range(start + 72, len(sealed)),
    }


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


# --- round trip and confidentiality ---------------------------------------------------------


def test_round_trip(keyring: Keyring) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    assert open_sealed(sealed, keyring=keyring, associated_data=AD) == SECRET


def test_empty_plaintext_round_trips(keyring: Keyring) -> None:
    sealed = seal(b"", keyring=keyring, associated_data=AD)
    assert open_sealed(sealed, keyring=keyring, associated_data=AD) == b""


def test_sealed_bytes_do_not_contain_the_plaintext(keyring: Keyring) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    assert SECRET not in sealed
    assert b"hunter2" not in sealed
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        assert encode(SECRET).rstrip(b"=") not in sealed
        assert encode(b"hunter2").rstrip(b"=")[:8] not in sealed


def test_two_seals_of_the_same_plaintext_differ(keyring: Keyring) -> None:
    first = seal(SECRET, keyring=keyring, associated_data=AD)
    second = seal(SECRET, keyring=keyring, associated_data=AD)
    assert first != second
    # Fresh nonces and a fresh data key: no field repeats between the two.
    for name in ("wrap_nonce", "wrapped_key", "data_nonce", "ciphertext"):
        span = _offsets(first)[name]
        assert first[span.start : span.stop] != second[span.start : span.stop], name


def test_format_is_versioned_and_names_the_kid(keyring: Keyring) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    assert sealed[0] == 1
    assert sealed_kid(sealed) == "a"
    assert len(sealed) == 2 + 1 + 12 + 48 + 12 + len(SECRET) + 16


# --- binding and tampering ------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        b"assets:0190a6d2-0000-7000-8000-000000000002:config",
        b"assets:0190a6d2-0000-7000-8000-000000000001:secrets",
        AD + b"x",
        AD[:-1],
    ],
)
def test_wrong_associated_data_fails(keyring: Keyring, other: bytes) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    with pytest.raises(DecryptionError) as info:
        open_sealed(sealed, keyring=keyring, associated_data=other)
    assert "hunter2" not in str(info.value)


def test_empty_associated_data_is_refused(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="associated_data"):
        seal(SECRET, keyring=keyring, associated_data=b"")


def test_a_flipped_byte_anywhere_fails(keyring: Keyring) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    for index in range(len(sealed)):
        with pytest.raises(DecryptionError) as info:
            open_sealed(_flip(sealed, index), keyring=keyring, associated_data=AD)
        message = str(info.value)
        assert "hunter2" not in message
        assert base64.b64encode(SECRET).decode() not in message


@pytest.mark.parametrize("field", ["wrapped_key", "ciphertext"])
def test_a_flipped_byte_in_each_field_names_the_cause(keyring: Keyring, field: str) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    span = _offsets(sealed)[field]
    for index in (span.start, span.stop - 1):
        with pytest.raises(DecryptionError, match="authenticate"):
            open_sealed(_flip(sealed, index), keyring=keyring, associated_data=AD)


def test_swapped_ciphertext_between_records_fails(keyring: Keyring) -> None:
    one = seal(SECRET, keyring=keyring, associated_data=AD)
    two = seal(
        b"other secret value with same len!!!!!!!!!!!!!!", keyring=keyring, associated_data=AD
    )
    cut = _offsets(one)["ciphertext"].start
    with pytest.raises(DecryptionError):
        open_sealed(one[:cut] + two[cut:], keyring=keyring, associated_data=AD)


@pytest.mark.parametrize("keep", [0, 1, 2, 3, 20, 80, -1])
def test_truncated_input_fails(keyring: Keyring, keep: int) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    with pytest.raises(DecryptionError):
        open_sealed(sealed[:keep], keyring=keyring, associated_data=AD)


def test_unknown_version_fails(keyring: Keyring) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    with pytest.raises(DecryptionError, match="version"):
        open_sealed(b"\x02" + sealed[1:], keyring=keyring, associated_data=AD)


def test_unknown_kid_fails(keyring: Keyring, key_b: str) -> None:
    sealed = seal(SECRET, keyring=Keyring.from_text(key_b), associated_data=AD)
    with pytest.raises(DecryptionError, match="unknown master key id 'b'"):
        open_sealed(sealed, keyring=keyring, associated_data=AD)


def test_same_kid_but_different_key_fails() -> None:
    sealed = seal(SECRET, keyring=Keyring.from_text(_key_text("k")[0]), associated_data=AD)
    with pytest.raises(DecryptionError, match="authenticate"):
        open_sealed(sealed, keyring=Keyring.from_text(_key_text("k")[0]), associated_data=AD)


def test_decryption_error_is_a_value_error() -> None:
    assert issubclass(DecryptionError, ValueError)


# --- rotation -------------------------------------------------------------------------------


def test_rotation_open_with_retired_then_rewrap_to_active(key_a: str, key_b: str) -> None:
    sealed = seal(SECRET, keyring=Keyring.from_text(key_a), associated_data=AD)

    rotating = Keyring.from_text(key_b, retired_master_keys=key_a)
    assert rotating.active_kid == "b"
    assert rotating.kids == {"a", "b"}
    assert open_sealed(sealed, keyring=rotating, associated_data=AD) == SECRET

    rewrapped = rewrap(sealed, keyring=rotating, associated_data=AD)
    assert sealed_kid(rewrapped) == "b"
    only_b = Keyring.from_text(key_b)
    assert open_sealed(rewrapped, keyring=only_b, associated_data=AD) == SECRET
    with pytest.raises(DecryptionError, match="unknown master key id 'a'"):
        open_sealed(sealed, keyring=only_b, associated_data=AD)

    # The ciphertext and its nonce are untouched: only the key wrapping changed.
    old, new = _offsets(sealed), _offsets(rewrapped)
    assert sealed[old["data_nonce"].start :] == rewrapped[new["data_nonce"].start :]


def test_rewrap_under_the_active_key_is_a_no_op(keyring: Keyring) -> None:
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    assert rewrap(sealed, keyring=keyring, associated_data=AD) == sealed


def test_rewrap_checks_the_record_binding(key_a: str, key_b: str) -> None:
    sealed = seal(SECRET, keyring=Keyring.from_text(key_a), associated_data=AD)
    rotating = Keyring.from_text(key_b, retired_master_keys=key_a)
    with pytest.raises(DecryptionError):
        rewrap(sealed, keyring=rotating, associated_data=b"assets:other:config")


def test_rewrapped_value_is_bound_to_the_same_record(key_a: str, key_b: str) -> None:
    sealed = seal(SECRET, keyring=Keyring.from_text(key_a), associated_data=AD)
    rotating = Keyring.from_text(key_b, retired_master_keys=key_a)
    rewrapped = rewrap(sealed, keyring=rotating, associated_data=AD)
    with pytest.raises(DecryptionError):
        open_sealed(rewrapped, keyring=rotating, associated_data=b"assets:other:config")


# --- JSON helpers ---------------------------------------------------------------------------


def test_json_round_trip(keyring: Keyring) -> None:
    config = {"url": "https://edr.example", "token": "hunter2", "nested": {"n": [1, 2.5, None]}}
    sealed = seal_json(config, keyring=keyring, associated_data=AD)
    assert b"hunter2" not in sealed
    assert open_json(sealed, keyring=keyring, associated_data=AD) == config


def test_open_json_refuses_a_non_object_without_echoing_it(keyring: Keyring) -> None:
    for plaintext in (b'["hunter2"]', b"hunter2 is not json"):
        sealed = seal(plaintext, keyring=keyring, associated_data=AD)
        with pytest.raises(DecryptionError) as info:
            open_json(sealed, keyring=keyring, associated_data=AD)
        assert "hunter2" not in str(info.value)
        assert info.value.__cause__ is None
        assert info.value.__context__ is None or info.value.__suppress_context__


# --- keyring parsing ------------------------------------------------------------------------


def test_bare_key_gets_a_kid_from_its_sha256() -> None:
    key = os.urandom(32)
    keyring = Keyring.from_text(base64.b64encode(key).decode())
    assert keyring.active_kid == hashlib.sha256(key).hexdigest()[:8]


def test_urlsafe_and_unpadded_keys_are_accepted() -> None:
    key = os.urandom(32)
    text = base64.urlsafe_b64encode(key).decode().rstrip("=")
    std = Keyring.from_text(base64.b64encode(key).decode())
    assert Keyring.from_text(text).active_kid == std.active_kid


def test_generated_key_text_parses_and_is_fresh() -> None:
    first, second = Keyring.generate_key_text(), Keyring.generate_key_text()
    assert first != second
    kid, _, b64 = first.partition(":")
    key = base64.b64decode(b64, validate=True)
    assert len(key) == 32
    assert kid == hashlib.sha256(key).hexdigest()[:8]
    keyring = Keyring.from_text(first)
    assert keyring.active_kid == kid
    sealed = seal(SECRET, keyring=keyring, associated_data=AD)
    assert open_sealed(sealed, keyring=Keyring.from_text(first), associated_data=AD) == SECRET


def test_from_settings_reads_active_and_retired_keys(key_a: str, key_b: str) -> None:
    bare_key = os.urandom(32)
    bare_text = base64.b64encode(bare_key).decode()
    settings = Settings(
        master_key=SecretStr(key_b),
        retired_master_keys=SecretStr(f"{key_a}, {bare_text},"),
    )
    keyring = Keyring.from_settings(settings)
    assert keyring.active_kid == "b"
    assert keyring.kids == {"a", "b", hashlib.sha256(bare_key).hexdigest()[:8]}


def test_from_settings_without_a_master_key_is_refused() -> None:
    with pytest.raises(ValueError, match="RAMPART_MASTER_KEY is not set"):
        Keyring.from_settings(Settings(master_key=None))


BAD_KEYS = [
    pytest.param(base64.b64encode(b"s3cr3t-short-key-material").decode(), id="short"),
    pytest.param(base64.b64encode(os.urandom(33)).decode(), id="long"),
    pytest.param("s3cr3t!not*base64@at%all&but#long$enough^to-be-a-key", id="not-base64"),
    pytest.param("k1:s3cr3t!not*base64", id="kid-not-base64"),
    pytest.param("k1:" + base64.b64encode(b"s3cr3t-short").decode(), id="kid-short"),
    pytest.param("bad kid!:" + base64.b64encode(os.urandom(32)).decode(), id="bad-kid"),
    pytest.param("s3cr3tA", id="base64-length-invalid"),
]


@pytest.mark.parametrize("text", BAD_KEYS)
def test_bad_master_key_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(ValueError, match="RAMPART_MASTER_KEY") as info:
        Keyring.from_text(text)
    _assert_not_leaked(info.value, text)


@pytest.mark.parametrize("text", BAD_KEYS)
def test_bad_retired_key_is_refused_without_echoing_it(key_a: str, text: str) -> None:
    with pytest.raises(ValueError, match="RAMPART_RETIRED_MASTER_KEYS entry 2") as info:
        Keyring.from_text(key_a, retired_master_keys=f"{_key_text('z')[0]},{text}")
    _assert_not_leaked(info.value, text)


@pytest.mark.parametrize("text", ["", "   ", "k1:"])
def test_empty_master_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="RAMPART_MASTER_KEY"):
        Keyring.from_text(text)


def test_bad_key_from_settings_is_refused_without_echoing_it() -> None:
    text = base64.b64encode(b"s3cr3t-short-key-material").decode()
    with pytest.raises(ValueError, match="must be 32 bytes") as info:
        Keyring.from_settings(Settings(master_key=SecretStr(text)))
    _assert_not_leaked(info.value, text)


def test_retired_key_reusing_a_kid_with_another_key_is_refused(key_a: str) -> None:
    other_a, _ = _key_text("a")
    with pytest.raises(ValueError, match="reuses a key id") as info:
        Keyring.from_text(key_a, retired_master_keys=other_a)
    _assert_not_leaked(info.value, other_a)


def test_raw_constructor_checks_key_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring("a", b"s3cr3t")
    with pytest.raises(ValueError, match="key id"):
        Keyring("a", os.urandom(32), {"no way": os.urandom(32)})


def _assert_not_leaked(error: BaseException, text: str) -> None:
    message = str(error) + repr(error)
    key_part = text.partition(":")[2] or text
    for secret in (text, key_part, "s3cr3t"):
        if secret:
            assert secret not in message
    # The parser's own exceptions (binascii, etc.) must not ride along either.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


# --- the keyring never shows key material ---------------------------------------------------


def test_repr_and_str_never_show_key_material(key_a: str, key_b: str) -> None:
    keyring = Keyring.from_text(key_b, retired_master_keys=key_a)
    for text in (repr(keyring), str(keyring), f"{keyring}", f"{keyring!r}"):
        for key_text in (key_a, key_b):
            b64 = key_text.partition(":")[2]
            raw = base64.b64decode(b64)
            assert b64 not in text
            assert b64[:12] not in text
            assert raw.hex()[:16] not in text
            assert repr(raw)[2:20] not in text
    assert repr(keyring) == "Keyring(active_kid='b', retired_kids=['a'])"


def test_keyring_holds_no_raw_key_bytes_in_attributes(key_a: str) -> None:
    raw = base64.b64decode(key_a.partition(":")[2])
    keyring = Keyring.from_text(key_a)
    for name in Keyring.__slots__:
        value = getattr(keyring, name)
        values = value.values() if isinstance(value, dict) else [value]
        assert all(v != raw and raw not in repr(v).encode() for v in values)


def test_keyring_is_not_picklable_but_copies_share_it(keyring: Keyring) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(keyring)
    assert copy.copy(keyring) is keyring
    assert copy.deepcopy({"k": keyring})["k"] is keyring
