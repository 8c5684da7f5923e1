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


# RFC 8032, section 7.1, TEST 2: a one-byte message.
RFC8032_SECRET = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
RFC8032_PUBLIC = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
RFC8032_SIGNATURE = (
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def test_ed25519_signs_and_verifies_as_rfc_8032_says() -> None:
    secret, public = bytes.fromhex(RFC8032_SECRET), bytes.fromhex(RFC8032_PUBLIC)
    signature = bytes.fromhex(RFC8032_SIGNATURE)
    assert p.ed25519_public(secret) == public
    assert p.ed25519_sign(secret, b"\x72") == signature
    p.ed25519_verify(public, signature, b"\x72")


@pytest.mark.parametrize(
    "change",
    [
        "message",
        "signature bit",
        "short signature",
        "long signature",
        "short key",
        "s + l",
        "small-order key",
        "small-order r",
        "key with y >= p",
    ],
)
def test_ed25519_refuses_every_altered_signature(change: str) -> None:
    public, message = bytes.fromhex(RFC8032_PUBLIC), b"\x72"
    signature = bytes.fromhex(RFC8032_SIGNATURE)
    if change == "message":
        message = b"\x73"
    elif change == "signature bit":
        signature = signature[:10] + bytes([signature[10] ^ 1]) + signature[11:]
    elif change == "short signature":
        signature = signature[:-1]
    elif change == "long signature":
        signature += b"\x00"
    elif change == "short key":
        public = public[:-1]
    elif change == "s + l":  # the same signature with S + L, where S is not checked < L
        s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
        signature = signature[:32] + s.to_bytes(32, "little")
    elif change == "small-order key":  # the neutral point as the key, R too, S = 0:
        # "valid" for any message without a check of the key's order (OpenSSL 3 takes it)
        public = signature = b"\x01" + bytes(31)
        signature += bytes(32)
    elif change == "small-order r":
        signature = b"\x01" + bytes(31) + signature[32:]
    else:
        public = b"\xef" + b"\xff" * 30 + b"\x7f"
    with pytest.raises(p.AuthenticationFailed):
        p.ed25519_verify(public, signature, message)


def test_fingerprint_is_stable_and_readable() -> None:
    identity = Identity.generate(os.urandom(16)).public
    fp = identity.fingerprint()
    assert fp == identity.fingerprint()
    groups = fp.split(" ")
    assert len(groups) == 12
    assert all(len(g) == 5 and g.isdigit() for g in groups)
