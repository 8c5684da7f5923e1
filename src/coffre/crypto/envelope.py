"""The sealed envelope: every small secret Coffre stores is one of these.

Keys, names and metadata are all sealed with the same construction, AES-256-GCM with a
key commitment, under a subkey that depends on the envelope's *purpose*::

    offset  size  field
    0       1     format version, 0x01
    1       12    nonce, random
    13      32    commitment = HKDF-Expand(K, "coffre/v1 " + purpose, 64)[32:64]
    45      n+16  AES-256-GCM(key = HKDF-Expand(...)[0:32], nonce, plaintext, AD)

    AD = 0x01 || "coffre/v1 " + purpose || 0x00 || context

``context`` is a fixed layout of ids chosen by each purpose (see docs/crypto.md), so an
envelope cannot be moved to another user, node, parent or version without failing.
The commitment is compared, in constant time, before any decryption: an envelope opens
under one key only (SECURITY.md A6). A wrong key, a flipped bit, a swapped context or a
bad layout all raise the same :class:`~coffre.errors.IntegrityError`.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

from coffre.crypto import _primitives as p
from coffre.errors import IntegrityError

VERSION = 0x01
HEADER_SIZE = 1 + p.NONCE_SIZE + 32
OVERHEAD = HEADER_SIZE + p.TAG_SIZE
_IN_PLACE = 1 << 16


class Purpose(Enum):
    """What an envelope holds. The value is the label mixed into its subkey and AD."""

    MASTER_KEY = "master-key"
    IDENTITY_KEYS = "identity-keys"
    ROOT_KEY = "root-key"
    NODE_KEY = "node-key"
    NODE_META = "node-meta"
    VERSION = "version"
    LINK_KEY = "link-key"
    REQUEST_KEY = "request-key"
    THUMBNAIL = "thumbnail"
    TREE_COPY = "tree-copy"

    @property
    def label(self) -> bytes:
        return _LABELS[self]


_LABELS = {purpose: b"coffre/v1 " + purpose.value.encode() for purpose in Purpose}
_AD_PREFIX = {purpose: bytes([VERSION]) + label + b"\x00" for purpose, label in _LABELS.items()}


@lru_cache(maxsize=4096)
def _subkeys(key: bytes, purpose: Purpose) -> tuple[p.Aead, bytes]:
    okm = p.hkdf_expand(key, _LABELS[purpose], 64)
    return p.Aead(okm[:32]), okm[32:]


def _associated_data(purpose: Purpose, context: bytes) -> bytes:
    return _AD_PREFIX[purpose] + context


def seal(
    key: bytes, purpose: Purpose, context: bytes, plaintext: bytes, *, nonce: bytes | None = None
) -> bytes:
    """Seal ``plaintext``. ``nonce`` is for test vectors only; leave it to the default."""
    if len(key) != p.KEY_SIZE:
        raise ValueError("envelope keys are 32 bytes")
    aead, commitment = _subkeys(key, purpose)
    nonce = nonce if nonce is not None else p.random_bytes(p.NONCE_SIZE)
    ad = _associated_data(purpose, context)
    return bytes([VERSION]) + nonce + commitment + aead.encrypt(nonce, plaintext, ad)


def open_(
    key: bytes, purpose: Purpose, context: bytes, envelope: bytes | memoryview, *, what: str
) -> bytes:
    """Open an envelope sealed by :func:`seal`; ``what`` names it in the error message. A
    large one (the client's kept copy of its tree) may come as a memoryview, read in place."""
    if len(key) != p.KEY_SIZE or len(envelope) < OVERHEAD or envelope[0] != VERSION:
        raise IntegrityError(what)
    aead, commitment = _subkeys(key, purpose)
    if not p.equal(envelope[13:HEADER_SIZE], commitment):
        raise IntegrityError(what)
    # A large envelope is read in place, not copied.
    body = (
        memoryview(envelope)[HEADER_SIZE:] if len(envelope) > _IN_PLACE else envelope[HEADER_SIZE:]
    )
    try:
        return aead.decrypt(envelope[1:13], body, _associated_data(purpose, context))
    except p.AuthenticationFailed:
        raise IntegrityError(what) from None
