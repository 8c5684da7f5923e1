"""Public links: a node key handed to whoever holds a URL, and nobody else.

A link has a random id (16 bytes) and a link key ``LK`` (32 bytes). The URL is
``https://HOST/s/LINK_ID#LK`` (id in hex, key in unpadded URL-safe base64): the key is in
the fragment, which browsers never send, so the server never sees it (SECURITY.md A12).
For a password link there is no key in the URL; ``LK`` comes from the password::

    stretched = Argon2id(password, salt, t, m, p)
    LK = HKDF-SHA256(stretched, "", "coffre/v1 link-password" 0x00 params, 32)

with a random per-link salt and the account parameters' layout (``params``, docs/crypto.md
section 3), stored by the server, checked against the same floor as account passwords.

What the server stores::

    envelope = seal(LK, "link-key", link_id || node_id || kind, node key)
    auth     = SHA-256("coffre/v1 auth-hash" 0x00 || HKDF-Expand(LK, "coffre/v1 link-auth", 32))

A visitor proves knowledge of ``LK`` with the unhashed link-auth value before the server
hands out anything of the link (not even ciphertext), which lets the server count and
limit wrong passwords; it learns nothing it could use to open the envelope.
"""

from __future__ import annotations

import base64
import binascii

from coffre.crypto import _primitives as p
from coffre.crypto.account import KdfParams, stretch
from coffre.crypto.envelope import Purpose, open_, seal
from coffre.crypto.nodes import Kind
from coffre.errors import IntegrityError, UsageError


def new_link_key() -> bytes:
    return p.random_bytes(32)


def encode_key(link_key: bytes) -> str:
    return base64.urlsafe_b64encode(link_key).decode().rstrip("=")


def decode_key(text: str) -> bytes:
    bad = UsageError("that link key is not valid (check the part after '#')")
    text = text.strip()
    if len(text) != 43:
        raise bad
    try:
        key = base64.urlsafe_b64decode(text + "=")
    except (binascii.Error, ValueError):
        raise bad from None
    if len(key) != 32 or encode_key(key) != text:
        raise bad
    return key


def password_key(password: str, params: KdfParams, *, floor: KdfParams | None = None) -> bytes:
    """The link key of a password link."""
    stretched = stretch(password, params, floor=floor)
    return p.hkdf(stretched, b"coffre/v1 link-password\x00" + params.encode(), 32)


def link_auth(link_key: bytes) -> bytes:
    """What a visitor sends to show it holds the link key (the server keeps its hash)."""
    return p.hkdf_expand(link_key, b"coffre/v1 link-auth", 32)


def _ctx(link_id: bytes, node_id: bytes, kind: Kind) -> bytes:
    return link_id + node_id + bytes([kind])


def wrap(link_key: bytes, link_id: bytes, node_id: bytes, kind: Kind, node_key: bytes) -> bytes:
    return seal(link_key, Purpose.LINK_KEY, _ctx(link_id, node_id, kind), node_key)


def unwrap(link_key: bytes, link_id: bytes, node_id: bytes, kind: Kind, envelope: bytes) -> bytes:
    key = open_(link_key, Purpose.LINK_KEY, _ctx(link_id, node_id, kind), envelope, what="link")
    if len(key) != 32:
        raise IntegrityError("link")
    return key


# -- upload-only links (file requests) -----------------------------------------------------

REQUEST_SUITE = 0x01
REQUEST_ENVELOPE_SIZE = 1 + 32 + 12 + 32 + 48
_REQUEST_INFO = b"coffre/v1 request\x00"


def new_request_key() -> tuple[bytes, bytes]:
    """A request's X25519 key pair: (private, public). The public key goes in the URL."""
    private = p.x25519_generate()
    return private, p.x25519_public(private)


def seal_request_key(folder_key: bytes, link_id: bytes, folder_id: bytes, private: bytes) -> bytes:
    """The request's private key, kept by the server sealed under the folder's key."""
    return seal(folder_key, Purpose.REQUEST_KEY, link_id + folder_id, private)


def open_request_key(folder_key: bytes, link_id: bytes, folder_id: bytes, sealed: bytes) -> bytes:
    key = open_(folder_key, Purpose.REQUEST_KEY, link_id + folder_id, sealed, what="file request")
    if len(key) != 32:
        raise IntegrityError("file request")
    return key


def _request_keys(
    shared: bytes, ephemeral: bytes, public: bytes, ad: bytes
) -> tuple[p.Aead, bytes]:
    okm = p.hkdf(shared, _REQUEST_INFO + ad, 64, salt=ephemeral + public)
    return p.Aead(okm[:32]), okm[32:]


def seal_to_request(
    public: bytes,
    link_id: bytes,
    node_id: bytes,
    node_key: bytes,
    *,
    ephemeral_private: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """A file's node key, encrypted by an uploader to the request's public key::

    0x01 || E(32) || nonce(12) || commitment(32) || AES-256-GCM(node key)(48)
    okm = HKDF-SHA256(X25519(e, public), salt = E || public,
                      info = "coffre/v1 request" 0x00 || AD, 64);  AD = 0x01 || link_id || node_id
    (``ephemeral_private`` and ``nonce`` are for known-answer vectors only: leave them out.)
    """
    ephemeral_private = ephemeral_private or p.x25519_generate()
    ephemeral = p.x25519_public(ephemeral_private)
    ad = bytes([REQUEST_SUITE]) + link_id + node_id
    aead, commitment = _request_keys(
        p.x25519_shared(ephemeral_private, public), ephemeral, public, ad
    )
    nonce = nonce or p.random_bytes(p.NONCE_SIZE)
    return (
        bytes([REQUEST_SUITE]) + ephemeral + nonce + commitment + aead.encrypt(nonce, node_key, ad)
    )


def open_from_request(private: bytes, link_id: bytes, node_id: bytes, envelope: bytes) -> bytes:
    what = "file received through a request"
    if len(envelope) != REQUEST_ENVELOPE_SIZE or envelope[0] != REQUEST_SUITE:
        raise IntegrityError(what)
    ephemeral, nonce = envelope[1:33], envelope[33:45]
    commitment, ciphertext = envelope[45:77], envelope[77:]
    ad = bytes([REQUEST_SUITE]) + link_id + node_id
    try:
        shared = p.x25519_shared(private, ephemeral)
    except ValueError:
        raise IntegrityError(what) from None
    aead, expected = _request_keys(shared, ephemeral, p.x25519_public(private), ad)
    if not p.equal(commitment, expected):
        raise IntegrityError(what)
    try:
        return aead.decrypt(nonce, ciphertext, ad)
    except p.AuthenticationFailed:
        raise IntegrityError(what) from None
