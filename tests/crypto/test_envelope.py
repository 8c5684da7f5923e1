"""The sealed envelope: round trips, and every kind of tampering is one uniform error."""

from __future__ import annotations

import os

import pytest

from coffre.crypto.envelope import HEADER_SIZE, OVERHEAD, Purpose, open_, seal
from coffre.errors import IntegrityError

KEY = bytes(range(32))
CONTEXT = b"\x01" * 16 + b"\x02" * 16


def test_round_trip() -> None:
    sealed = seal(KEY, Purpose.NODE_META, CONTEXT, b"hello")
    assert len(sealed) == OVERHEAD + 5
    assert sealed[0] == 0x01
    assert open_(KEY, Purpose.NODE_META, CONTEXT, sealed, what="x") == b"hello"


def test_nonces_are_fresh() -> None:
    a = seal(KEY, Purpose.NODE_META, CONTEXT, b"same")
    b = seal(KEY, Purpose.NODE_META, CONTEXT, b"same")
    assert a[1:13] != b[1:13]
    assert a != b


@pytest.mark.parametrize("position", range(OVERHEAD + 5))
def test_any_flipped_bit_fails(position: int) -> None:
    sealed = bytearray(seal(KEY, Purpose.NODE_META, CONTEXT, b"hello"))
    sealed[position] ^= 0x01
    with pytest.raises(IntegrityError):
        open_(KEY, Purpose.NODE_META, CONTEXT, bytes(sealed), what="x")


def test_wrong_key_purpose_context_or_length_fail_alike() -> None:
    sealed = seal(KEY, Purpose.NODE_META, CONTEXT, b"hello")
    attempts = [
        (os.urandom(32), Purpose.NODE_META, CONTEXT, sealed),
        (KEY, Purpose.NODE_KEY, CONTEXT, sealed),
        (KEY, Purpose.NODE_META, CONTEXT[::-1], sealed),
        (KEY, Purpose.NODE_META, CONTEXT, sealed[:-1]),
        (KEY, Purpose.NODE_META, CONTEXT, sealed + b"\x00"),
        (KEY, Purpose.NODE_META, CONTEXT, sealed[:HEADER_SIZE]),
        (KEY, Purpose.NODE_META, CONTEXT, b""),
    ]
    messages = set()
    for key, purpose, context, blob in attempts:
        with pytest.raises(IntegrityError) as caught:
            open_(key, purpose, context, blob, what="a name")
        messages.add(str(caught.value))
    assert len(messages) == 1


def test_commitment_is_checked_before_decryption() -> None:
    """A forged envelope with another key's commitment never reaches AES-GCM (A6)."""
    other = os.urandom(32)
    sealed = seal(KEY, Purpose.NODE_META, CONTEXT, b"hello")
    forged = seal(other, Purpose.NODE_META, CONTEXT, b"other")
    swapped = forged[:13] + sealed[13:HEADER_SIZE] + forged[HEADER_SIZE:]
    with pytest.raises(IntegrityError):
        open_(KEY, Purpose.NODE_META, CONTEXT, swapped, what="x")
    with pytest.raises(IntegrityError):
        open_(other, Purpose.NODE_META, CONTEXT, swapped, what="x")


def test_keys_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"short", Purpose.NODE_META, CONTEXT, b"x")
    with pytest.raises(IntegrityError):
        open_(
            b"short",
            Purpose.NODE_META,
            CONTEXT,
            seal(KEY, Purpose.NODE_META, CONTEXT, b"x"),
            what="x",
        )
