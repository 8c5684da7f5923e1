"""A6: invisible salamanders, built for real and refused by the key commitment.

:func:`tests.malicious.salamander.collide` makes an AES-GCM ciphertext that authenticates
under two keys. Each test first shows the collision is genuine (raw AES-GCM accepts it under
both keys, to two different plaintexts), then shows that Coffre's format refuses it under
the second key, and that the refusal comes from the commitment check, before decryption.

The last test carries the attack through the server: the stored chunk of a file is a
salamander, and the file's version envelope names a second content key (as an insider
who knows the node key would seal it, with the size and hash of the second plaintext, so
that nothing but the commitment stands in the way). The client refuses before it fetches
a chunk.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from coffre.client.download import Downloader
from coffre.crypto import _primitives as p
from coffre.crypto import envelope as ce
from coffre.crypto import nodes as cn
from coffre.crypto import stream as cs
from coffre.errors import IntegrityError
from coffre.server.db import tables as t
from tests.malicious.conftest import Victim
from tests.malicious.salamander import collide, gf_inv, gf_mul, gf_pow

CONTENT_LABEL = b"coffre/v1 content"


def content_keys(content_key: bytes) -> tuple[bytes, bytes]:
    """(chunk key, commitment) of a content key, as docs/crypto.md derives them."""
    okm = p.hkdf_expand(content_key, CONTENT_LABEL, 64)
    return okm[:32], okm[32:]


def content_ad(content_id: bytes, header: bytes) -> bytes:
    return bytes([cs.HEADER_VERSION]) + CONTENT_LABEL + b"\x00" + content_id + header


def final_nonce(index: int) -> bytes:
    return b"\x00\x00\x00" + index.to_bytes(8, "big") + b"\x01"


def test_gf_arithmetic() -> None:
    """The field helpers the salamander rests on: one, inverses, and GCM's own H * 1."""
    one = 1 << 127
    for x in (one, 3, 0xDEADBEEF << 64, int.from_bytes(os.urandom(16), "big") | 1):
        assert gf_mul(x, one) == x
        assert gf_mul(x, gf_inv(x)) == one
    assert gf_pow(5, 0) == one


def test_the_collision_is_genuine() -> None:
    k1, k2, nonce = os.urandom(32), os.urandom(32), os.urandom(12)
    wanted = b"pay alice 10 EUR" * 2
    forged = collide(k1, k2, nonce, b"ad", b"ad", wanted)
    p1 = AESGCM(k1).decrypt(nonce, forged, b"ad")
    p2 = AESGCM(k2).decrypt(nonce, forged, b"ad")
    assert p1.startswith(wanted) and p1 != p2


@pytest.mark.parametrize("purpose", list(ce.Purpose))
def test_a6_envelope_salamander_opens_under_one_key_only(purpose: ce.Purpose) -> None:
    """One envelope, valid AES-GCM under both subkeys: it opens under the key it commits to
    and raises IntegrityError under the other, with the same message as any tampering."""
    k1, k2 = os.urandom(32), os.urandom(32)
    context = os.urandom(33)
    (aead1, commit1), (aead2, _) = (
        (okm[:32], okm[32:]) for okm in (p.hkdf_expand(k, purpose.label, 64) for k in (k1, k2))
    )
    nonce = os.urandom(12)
    ad = bytes([ce.VERSION]) + purpose.label + b"\x00" + context
    body = collide(aead1, aead2, nonce, ad, ad, b"\x00" * 32)
    sealed = bytes([ce.VERSION]) + nonce + commit1 + body

    opened = ce.open_(k1, purpose, context, sealed, what="x")
    assert AESGCM(aead2).decrypt(nonce, body, ad) != opened  # the second key "works" too...
    with pytest.raises(IntegrityError) as caught:  # ...but the envelope refuses it
        ce.open_(k2, purpose, context, sealed, what="x")
    with pytest.raises(IntegrityError) as tampered:
        ce.open_(k1, purpose, context, sealed[:-1] + bytes([sealed[-1] ^ 1]), what="x")
    assert str(caught.value) == str(tampered.value)


def test_a6_chunk_salamander_refused_by_the_header_commitment() -> None:
    """A content chunk valid under two content keys, with the header of the first."""
    ck1, ck2, content_id = os.urandom(32), os.urandom(32), os.urandom(16)
    header = cs.ContentCipher(ck1, content_id, 1024).header.encode()
    (chunk1, _), (chunk2, _) = content_keys(ck1), content_keys(ck2)
    ad = content_ad(content_id, header)
    chunk = collide(chunk1, chunk2, final_nonce(0), ad, ad, b"to alice: yes".ljust(48))

    (opened,) = cs.decrypt_all(ck1, content_id, header, [chunk])
    assert opened.startswith(b"to alice")
    AESGCM(chunk2).decrypt(final_nonce(0), chunk, ad)  # raw GCM accepts the second key
    with pytest.raises(IntegrityError):
        cs.ContentCipher.for_decryption(ck2, content_id, header)
    with pytest.raises(IntegrityError):
        list(cs.decrypt_all(ck2, content_id, header, [chunk]))


def test_a6_salamander_through_the_server(victim: Victim) -> None:
    """The stored chunk authenticates under the file's key and under a second key that a
    rewritten version envelope hands the client; the client refuses before any chunk."""
    entry = victim.upload("note.txt", b"the genuine note, sealed by its owner")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    version_id = entry.record.version.id
    stored = victim.store.version(version_id)
    info1 = entry.version
    ck2 = os.urandom(32)
    (chunk1, _), (chunk2, _) = content_keys(info1.content_key), content_keys(ck2)
    ad = content_ad(info1.content_id, stored.header)
    salamander = collide(chunk1, chunk2, final_nonce(0), ad, ad, b"shown to the owner".ljust(32))
    p2 = AESGCM(chunk2).decrypt(final_nonce(0), salamander, ad)

    # Someone who holds the node key seals a version naming the second key, with the
    # true size and hash of what that key decrypts to; the server stores the salamander.
    info2 = cn.VersionInfo(
        ck2, info1.content_id, len(p2), info1.mtime_ms, "text/plain",
        cs.content_hash([cs.chunk_digest(p2)]), info1.chunk_size,
    )  # fmt: skip
    envelope = cn.seal_version(entry.key, bytes.fromhex(entry.id), bytes.fromhex(version_id), info2)
    victim.store.update(t.Version, version_id, envelope=envelope)
    victim.store.update(t.Content, stored.content_id, inline=salamander, size=len(salamander))

    target = victim.drive.resolve("/note.txt")
    assert target.version is not None and target.version.content_key == ck2
    assert target.record is not None and target.record.version is not None
    received: list[bytes] = []
    victim.server.forget()
    with pytest.raises(IntegrityError):
        Downloader(victim.api).stream(target.record.version, target.version, received.append)
    assert received == []
    assert victim.server.requests("GET", r"/v1/versions/\w+/chunks/\d+") == []
    with pytest.raises(IntegrityError):
        victim.download(target)
    assert victim.leftovers() == []
    # Without the commitment check this stream would have been accepted as p2, whole:
    assert len(p2) <= cs.Header.decode(stored.header).chunk_size
    assert cs.content_hash([cs.chunk_digest(p2)]) == target.version.content_hash
