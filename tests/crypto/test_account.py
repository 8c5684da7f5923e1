"""Password derivation, the master key and recovery (SECURITY.md A1, A2)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from coffre.crypto import _primitives as p
from coffre.crypto import account as ca
from coffre.crypto.identity import Identity, check_own_identity, verify_published
from coffre.errors import DowngradeError, IntegrityError, UsageError

FAST = ca.KdfParams(time_cost=1, memory_kib=64, lanes=1, salt=b"")


def params(**changes: object) -> ca.KdfParams:
    return dataclasses.replace(ca.KdfParams.new(), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "weak",
    [
        {"time_cost": 2},
        {"memory_kib": 32 * 1024},
        {"lanes": 0},
        {"salt": b"short"},
        {"time_cost": 100},
        {"memory_kib": 8 * 1024 * 1024},
    ],
)
def test_parameters_outside_the_bounds_are_refused(weak: dict[str, object]) -> None:
    with pytest.raises(DowngradeError):
        ca.derive_login_secrets("pw", params(**weak))


def test_the_parameters_are_bound_into_the_keys() -> None:
    """The same password and salt with other parameters gives other keys (A2)."""
    p = ca.KdfParams.new(FAST)
    a = ca.derive_login_secrets("pw", p, floor=FAST)
    b = ca.derive_login_secrets("pw", dataclasses.replace(p, time_cost=2), floor=FAST)
    assert a.auth_secret != b.auth_secret
    assert a.kek != b.kek
    assert a.auth_secret != a.kek


def test_master_key_is_bound_to_user_and_parameters() -> None:
    p = ca.KdfParams.new(FAST)
    secrets = ca.derive_login_secrets("pw", p, floor=FAST)
    user, mk = os.urandom(16), os.urandom(32)
    wrapped = ca.wrap_master_key(secrets.kek, user, p, mk)
    assert ca.unwrap_master_key(secrets.kek, user, p, wrapped) == mk
    with pytest.raises(IntegrityError):
        ca.unwrap_master_key(secrets.kek, os.urandom(16), p, wrapped)
    with pytest.raises(IntegrityError):
        ca.unwrap_master_key(secrets.kek, user, dataclasses.replace(p, time_cost=4), wrapped)


def test_password_is_normalized() -> None:
    p = ca.KdfParams.new(FAST)
    composed = ca.derive_login_secrets("caf\u00e9", p, floor=FAST)
    decomposed = ca.derive_login_secrets("cafe\u0301", p, floor=FAST)
    assert composed == decomposed


def test_recovery_key_round_trip_and_typos() -> None:
    mk = os.urandom(32)
    text = ca.encode_recovery_key(mk)
    assert len(text.split("-")) == 11
    assert ca.decode_recovery_key(text) == mk
    assert ca.decode_recovery_key(text.upper().replace("-", " ")) == mk
    typo = ("b" if text[0] != "b" else "c") + text[1:]
    with pytest.raises(UsageError):
        ca.decode_recovery_key(typo)
    with pytest.raises(UsageError):
        ca.decode_recovery_key("not a key")


def test_identity_keys_and_published_statement() -> None:
    user, mk = os.urandom(16), os.urandom(32)
    identity = Identity.generate(user)
    sealed = identity.seal(mk)
    opened = Identity.open(mk, user, sealed)
    assert opened.public == identity.public
    published = identity.publish()
    check_own_identity(opened, published)
    with pytest.raises(IntegrityError):
        Identity.open(mk, os.urandom(16), sealed)
    # Another account's (validly signed) statement is refused (A1).
    stranger = Identity.generate(os.urandom(16))
    with pytest.raises(IntegrityError):
        check_own_identity(opened, stranger.publish())
    # A statement with our id but someone else's keys fails the signature or the match.
    forged = bytearray(published)
    forged[20] ^= 1
    with pytest.raises(IntegrityError):
        verify_published(bytes(forged), user)
    assert "hidden" in repr(identity)


def test_an_identity_signs_alike_with_its_signing_key_kept_loaded() -> None:
    identity = Identity.generate(os.urandom(16))
    first = identity.sign(b"label\x00", b"message")
    assert identity.sign(b"label\x00", b"message") == first  # Ed25519 is deterministic
    assert first == p.ed25519_sign(identity.ed25519_private, b"label\x00message")
    p.ed25519_verify(identity.public.ed25519, first, b"label\x00message")
    with pytest.raises(p.AuthenticationFailed):
        p.ed25519_verify(identity.public.ed25519, first, b"label\x00messages")
    # The loaded key is no part of the identity's value, nor shown.
    again = Identity(identity.user_id, identity.x25519_private, identity.ed25519_private)
    assert again == identity and hash(again) == hash(identity)
    assert "hidden" in repr(p.Ed25519Signer(identity.ed25519_private))


def test_fingerprint_is_stable_and_readable() -> None:
    identity = Identity.generate(os.urandom(16)).public
    fp = identity.fingerprint()
    assert fp == identity.fingerprint()
    groups = fp.split(" ")
    assert len(groups) == 12
    assert all(len(g) == 5 and g.isdigit() for g in groups)
