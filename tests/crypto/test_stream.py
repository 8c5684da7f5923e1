"""The content stream (STREAM over AES-256-GCM): any size, any chunk size, no tampering."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coffre.crypto import stream as cs
from coffre.errors import IntegrityError

CK = bytes(range(32))
CID = bytes(range(16))


def decrypt(chunks: list[bytes], header: bytes, key: bytes = CK, content_id: bytes = CID) -> bytes:
    return b"".join(cs.decrypt_all(key, content_id, header, chunks))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), chunk_size=st.integers(min_value=1, max_value=70))
def test_round_trip_any_size_any_boundary(data: bytes, chunk_size: int) -> None:
    header, chunks = cs.encrypt_all(CK, CID, data, chunk_size)
    assert len(chunks) == cs.chunk_count(len(data), chunk_size)
    assert sum(map(len, chunks)) == cs.ciphertext_size(len(data), chunk_size)
    assert decrypt(chunks, header) == data


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=300),
    chunk_size=st.integers(min_value=1, max_value=40),
    seed=st.randoms(),
)
def test_any_reordering_fails(data: bytes, chunk_size: int, seed: object) -> None:
    header, chunks = cs.encrypt_all(CK, CID, data, chunk_size)
    shuffled = chunks[:]
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    if shuffled != chunks:
        with pytest.raises(IntegrityError):
            decrypt(shuffled, header)


def test_empty_file_is_one_final_chunk() -> None:
    header, chunks = cs.encrypt_all(CK, CID, b"", 1024)
    assert [len(c) for c in chunks] == [16]
    assert decrypt(chunks, header) == b""
    with pytest.raises(IntegrityError):
        decrypt([], header)


@pytest.fixture
def sample() -> tuple[bytes, list[bytes], bytes]:
    data = os.urandom(100)
    header, chunks = cs.encrypt_all(CK, CID, data, 10)
    return header, chunks, data


def test_drop_duplicate_truncate_extend(sample: tuple[bytes, list[bytes], bytes]) -> None:
    header, chunks, _ = sample
    for tampered in (
        chunks[:-1],  # truncated: no final chunk
        chunks[1:],  # first dropped
        chunks[:3] + chunks[4:],  # middle dropped
        [*chunks[:3], chunks[3], *chunks[3:]],  # duplicated
        [*chunks, chunks[-1]],  # extended with a repeat of the final chunk
        [*chunks, os.urandom(26)],  # extended with garbage
    ):
        with pytest.raises(IntegrityError):
            decrypt(tampered, header)


def test_splice_from_another_stream_or_version(sample: tuple[bytes, list[bytes], bytes]) -> None:
    header, chunks, _ = sample
    _, other = cs.encrypt_all(CK, os.urandom(16), os.urandom(100), 10)
    with pytest.raises(IntegrityError):
        decrypt([*chunks[:5], other[5], *chunks[6:]], header)
    # The same key with another content id (a copy made by a buggy client) is refused too.
    with pytest.raises(IntegrityError):
        decrypt(chunks, header, content_id=os.urandom(16))


def test_flipped_bits_and_header(sample: tuple[bytes, list[bytes], bytes]) -> None:
    header, chunks, _ = sample
    for i in (0, 5, len(chunks) - 1):
        broken = chunks[:]
        broken[i] = bytes([broken[i][0] ^ 1]) + broken[i][1:]
        with pytest.raises(IntegrityError):
            decrypt(broken, header)
    for position in range(cs.HEADER_SIZE):
        bad = bytearray(header)
        bad[position] ^= 0x80
        with pytest.raises(IntegrityError):
            decrypt(chunks, bytes(bad))


def test_wrong_key_fails_at_the_commitment_before_decrypting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    header, chunks = cs.encrypt_all(CK, CID, b"secret", 4)
    calls: list[int] = []
    original = cs.ContentCipher.decrypt_chunk

    def spy(self: cs.ContentCipher, index: int, ciphertext: bytes, *, last: bool) -> bytes:
        calls.append(index)
        return original(self, index, ciphertext, last=last)

    monkeypatch.setattr(cs.ContentCipher, "decrypt_chunk", spy)
    with pytest.raises(IntegrityError):
        decrypt(chunks, header, key=os.urandom(32))
    assert calls == []


def test_nonces_carry_index_and_final_flag() -> None:
    """Each chunk of a version has its own nonce; the final one is marked (A16)."""
    cipher = cs.ContentCipher(CK, CID, 4)
    a = cipher.encrypt_chunk(0, b"abcd", last=False)
    b = cipher.encrypt_chunk(1, b"abcd", last=False)
    c = cipher.encrypt_chunk(1, b"abcd", last=True)
    assert len({a, b, c}) == 3


def test_only_the_last_chunk_may_be_short() -> None:
    cipher = cs.ContentCipher(CK, CID, 4)
    with pytest.raises(ValueError, match="last chunk"):
        cipher.encrypt_chunk(0, b"abc", last=False)
    with pytest.raises(ValueError, match="last chunk"):
        cipher.encrypt_chunk(0, b"abcde", last=True)


def test_a_chunk_encrypted_into_a_buffer_is_the_same_chunk() -> None:
    """Uploads encrypt into a reused buffer: the bytes are those of encrypt_chunk, the
    same checks apply, and a buffer of the wrong size is refused."""
    cipher = cs.ContentCipher(CK, CID, 4)
    buffer = bytearray(b"\xff" * (5 + 20 + 18 + 3))
    out = memoryview(buffer)
    cipher.encrypt_chunk_into(3, b"abcd", out[5:25], last=False)
    cipher.encrypt_chunk_into(4, b"ab", out[25:43], last=True)
    assert bytes(buffer[5:25]) == cipher.encrypt_chunk(3, b"abcd", last=False)
    assert bytes(buffer[25:43]) == cipher.encrypt_chunk(4, b"ab", last=True)
    assert buffer[:5] == b"\xff" * 5 and buffer[43:] == b"\xff" * 3  # nothing outside
    with pytest.raises(ValueError, match="last chunk"):
        cipher.encrypt_chunk_into(0, b"abc", out[:19], last=False)
    with pytest.raises(ValueError, match="buffer must be 20 bytes"):
        cipher.encrypt_chunk_into(0, b"abcd", out[:19], last=False)  # one byte short


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300), chunk_size=st.integers(min_value=1, max_value=40))
def test_decrypting_into_a_buffer_gives_what_decrypting_does(data: bytes, chunk_size: int) -> None:
    header, chunks = cs.encrypt_all(CK, CID, data, chunk_size)
    cipher = cs.ContentCipher.for_decryption(CK, CID, header, chunk_size)
    out = memoryview(bytearray(chunk_size + 5))
    plain = b""
    for index, chunk in enumerate(chunks):
        length = cipher.decrypt_chunk_into(index, chunk, out, last=index == len(chunks) - 1)
        plain += bytes(out[:length])
    assert plain == data


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: c[:-1] + bytes([c[-1] ^ 1]), id="tampered"),
        pytest.param(lambda c: c[:-1], id="short"),
        pytest.param(lambda c: c + b"x", id="long"),
        pytest.param(lambda c: c[:15], id="shorter-than-a-tag"),
    ],
)
def test_decrypting_into_a_buffer_refuses_what_decrypting_does(
    sample: tuple[bytes, list[bytes], bytes], change: Callable[[bytes], bytes]
) -> None:
    header, chunks, _ = sample
    cipher = cs.ContentCipher.for_decryption(CK, CID, header, 10)
    out = memoryview(bytearray(64))
    for index, last in ((0, False), (len(chunks) - 1, True)):
        bad = change(chunks[index])
        with pytest.raises(IntegrityError):
            cipher.decrypt_chunk(index, bad, last=last)
        with pytest.raises(IntegrityError):
            cipher.decrypt_chunk_into(index, bad, out, last=last)
