"""Shared folders: a folder key sent to a contact, and writers' signatures.

**The share envelope** carries a folder key from its owner to a member, encrypted to the
member's X25519 key and signed with the owner's Ed25519 key (SECURITY.md A10, A11)::

    offset  size  field
    0       1     suite: 0x01 = X25519 + HKDF-SHA256 + AES-256-GCM, Ed25519 signature
    1       32    ephemeral X25519 public key E
    33      12    nonce, random
    45      32    commitment
    77      48    AES-256-GCM ciphertext of the folder key (32) and its tag (16)
    125     64    Ed25519 signature

    okm        = HKDF-SHA256(X25519(e, member_x25519), salt = E || member_x25519,
                             info = "coffre/v1 share" 0x00 || AD, 64)
    key, commitment = okm[0:32], okm[32:64]
    AD         = 0x01 || share_id(16) || owner_id(16) || member_id(16) || folder_id(16) || access(1)
    signature  = Ed25519(owner, "coffre/v1 share-signature" 0x00 || AD || bytes 1..125)

``access`` is 1 (read), 2 (write) or 3 (full). A later suite (0x02: X25519 with ML-KEM-768)
will take another first byte; nothing else changes. Anyone holding the owner's public key
can check who the owner let in, and how far, without opening the key: that is how members
know which other members may write.

**Writers' signatures.** Inside a shared folder, anyone with the folder key could seal a
valid node, so every node and version carries its writer's Ed25519 signature::

    node:    Ed25519(writer, "coffre/v1 node-signature" 0x00 || node_id || parent_id || kind
                     || SHA-256(key envelope) || SHA-256(name envelope))
    version: Ed25519(writer, "coffre/v1 version-signature" 0x00 || node_id || version_id
                     || SHA-256(version envelope) || SHA-256(content header))

Clients accept a node in a shared folder only if its writer is the owner or a member the
owner's signed shares allow to write.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from coffre.crypto import _primitives as p
from coffre.crypto.identity import Identity, PublicIdentity
from coffre.crypto.nodes import Kind
from coffre.errors import IntegrityError

SUITE_X25519 = 0x01
ENVELOPE_SIZE = 1 + 32 + 12 + 32 + 48 + 64
_INFO = b"coffre/v1 share\x00"
_SIGNING = b"coffre/v1 share-signature\x00"
_WHAT = "share"


class Access(IntEnum):
    READ = 1
    WRITE = 2
    FULL = 3


@dataclass(frozen=True, slots=True)
class ShareFacts:
    """What a share says, in the clear: all of it is bound into the envelope."""

    share_id: bytes
    owner_id: bytes
    member_id: bytes
    folder_id: bytes
    access: Access

    def associated_data(self) -> bytes:
        return (
            bytes([SUITE_X25519])
            + self.share_id
            + self.owner_id
            + self.member_id
            + self.folder_id
            + bytes([self.access])
        )


def _keys(shared: bytes, ephemeral: bytes, member_x25519: bytes, ad: bytes) -> tuple[p.Aead, bytes]:
    okm = p.hkdf(shared, _INFO + ad, 64, salt=ephemeral + member_x25519)
    return p.Aead(okm[:32]), okm[32:]


def seal_share(
    owner: Identity, member: PublicIdentity, facts: ShareFacts, folder_key: bytes
) -> bytes:
    if facts.owner_id != owner.user_id or facts.member_id != member.user_id:
        raise ValueError("the share's facts name other people than its keys")
    ephemeral_private = p.x25519_generate()
    ephemeral = p.x25519_public(ephemeral_private)
    shared = p.x25519_shared(ephemeral_private, member.x25519)
    ad = facts.associated_data()
    aead, commitment = _keys(shared, ephemeral, member.x25519, ad)
    nonce = p.random_bytes(p.NONCE_SIZE)
    body = ephemeral + nonce + commitment + aead.encrypt(nonce, folder_key, ad)
    return bytes([SUITE_X25519]) + body + owner.sign(_SIGNING, ad + body)


def verify_share(owner: PublicIdentity, facts: ShareFacts, envelope: bytes) -> None:
    """Check that ``owner`` signed this share with these facts (no decryption needed)."""
    if len(envelope) != ENVELOPE_SIZE or envelope[0] != SUITE_X25519:
        raise IntegrityError(_WHAT)
    if facts.owner_id != owner.user_id:
        raise IntegrityError(_WHAT)
    try:
        p.ed25519_verify(
            owner.ed25519, envelope[125:], _SIGNING + facts.associated_data() + envelope[1:125]
        )
    except p.AuthenticationFailed:
        raise IntegrityError(_WHAT) from None


def open_share(
    member: Identity, owner: PublicIdentity, facts: ShareFacts, envelope: bytes
) -> bytes:
    """The folder key, from a share the owner signed for this member with these facts."""
    verify_share(owner, facts, envelope)
    if facts.member_id != member.user_id:
        raise IntegrityError(_WHAT)
    ephemeral, nonce = envelope[1:33], envelope[33:45]
    commitment, ciphertext = envelope[45:77], envelope[77:125]
    try:
        shared = p.x25519_shared(member.x25519_private, ephemeral)
    except ValueError:
        raise IntegrityError(_WHAT) from None
    ad = facts.associated_data()
    aead, expected = _keys(shared, ephemeral, member.public.x25519, ad)
    if not p.equal(commitment, expected):
        raise IntegrityError(_WHAT)
    try:
        key = aead.decrypt(nonce, ciphertext, ad)
    except p.AuthenticationFailed:
        raise IntegrityError(_WHAT) from None
    return key


# -- writers' signatures -----------------------------------------------------------------


def _node_statement(
    node_id: bytes, parent_id: bytes, kind: Kind, key_envelope: bytes, meta_envelope: bytes
) -> bytes:
    return (
        b"coffre/v1 node-signature\x00"
        + node_id
        + parent_id
        + struct.pack("B", kind)
        + p.sha256(key_envelope)
        + p.sha256(meta_envelope)
    )


def _version_statement(node_id: bytes, version_id: bytes, envelope: bytes, header: bytes) -> bytes:
    return (
        b"coffre/v1 version-signature\x00"
        + node_id
        + version_id
        + p.sha256(envelope)
        + p.sha256(header)
    )


def sign_node(
    writer: Identity,
    node_id: bytes,
    parent_id: bytes,
    kind: Kind,
    key_envelope: bytes,
    meta_envelope: bytes,
) -> bytes:
    return writer.sign(b"", _node_statement(node_id, parent_id, kind, key_envelope, meta_envelope))


def verify_node(
    writer: PublicIdentity,
    signature: bytes,
    node_id: bytes,
    parent_id: bytes,
    kind: Kind,
    key_envelope: bytes,
    meta_envelope: bytes,
) -> None:
    statement = _node_statement(node_id, parent_id, kind, key_envelope, meta_envelope)
    try:
        p.ed25519_verify(writer.ed25519, signature, statement)
    except p.AuthenticationFailed:
        raise IntegrityError("writer's signature") from None


def sign_version(
    writer: Identity, node_id: bytes, version_id: bytes, envelope: bytes, header: bytes
) -> bytes:
    return writer.sign(b"", _version_statement(node_id, version_id, envelope, header))


def verify_version(
    writer: PublicIdentity,
    signature: bytes,
    node_id: bytes,
    version_id: bytes,
    envelope: bytes,
    header: bytes,
) -> None:
    try:
        p.ed25519_verify(
            writer.ed25519, signature, _version_statement(node_id, version_id, envelope, header)
        )
    except p.AuthenticationFailed:
        raise IntegrityError("writer's signature") from None
