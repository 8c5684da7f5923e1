"""The account's identity: an X25519 key for receiving and an Ed25519 key for signing.

The private keys travel only sealed under the master key ("identity-keys", context
``user_id``; plaintext ``x25519_private(32) || ed25519_private(32)``). The public keys are
published as a self-signed statement::

    statement = 0x01 || user_id(16) || x25519_public(32) || ed25519_public(32)     (81 bytes)
    signature = Ed25519(ed25519_private, "coffre/v1 public-keys" 0x00 || statement)
    published = statement || signature                                               (145 bytes)

At every login the client checks that the published statement names the account, carries
a valid signature, and matches the private keys it has just decrypted (SECURITY.md A1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coffre.crypto import _primitives as p
from coffre.crypto.envelope import Purpose, open_, seal
from coffre.errors import IntegrityError

STATEMENT_VERSION = 0x01
STATEMENT_SIZE = 1 + 16 + 32 + 32
PUBLISHED_SIZE = STATEMENT_SIZE + 64
_SIGNING_LABEL = b"coffre/v1 public-keys\x00"


@dataclass(frozen=True, slots=True)
class PublicIdentity:
    user_id: bytes
    x25519: bytes
    ed25519: bytes

    def statement(self) -> bytes:
        return bytes([STATEMENT_VERSION]) + self.user_id + self.x25519 + self.ed25519

    def fingerprint(self) -> str:
        """60 decimal digits in 12 groups, to be read aloud and compared (like Signal's)."""
        digest = p.sha256(b"coffre/v1 fingerprint\x00" + self.statement())
        number = int.from_bytes(digest[:25], "big") % 10**60
        digits = f"{number:060d}"
        return " ".join(digits[i : i + 5] for i in range(0, 60, 5))


@dataclass(frozen=True, slots=True, repr=False)
class Identity:
    user_id: bytes
    x25519_private: bytes
    ed25519_private: bytes
    _signer: p.Ed25519Signer | None = field(default=None, init=False, compare=False)
    """The signing key, loaded at the first signature and kept: an upload of many files
    signs two statements per file."""

    def __repr__(self) -> str:
        return f"Identity(user_id={self.user_id.hex()}, <private keys hidden>)"

    @classmethod
    def generate(cls, user_id: bytes) -> Identity:
        return cls(user_id, p.x25519_generate(), p.ed25519_generate())

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity(
            self.user_id,
            p.x25519_public(self.x25519_private),
            p.ed25519_public(self.ed25519_private),
        )

    def sign(self, label: bytes, message: bytes) -> bytes:
        signer = self._signer
        if signer is None:
            # Two threads may both load it: the same key either way.
            signer = p.Ed25519Signer(self.ed25519_private)
            object.__setattr__(self, "_signer", signer)
        return signer.sign(label + message)

    def publish(self) -> bytes:
        statement = self.public.statement()
        return statement + self.sign(_SIGNING_LABEL, statement)

    def seal(self, master_key: bytes) -> bytes:
        return seal(
            master_key,
            Purpose.IDENTITY_KEYS,
            self.user_id,
            self.x25519_private + self.ed25519_private,
        )

    @classmethod
    def open(cls, master_key: bytes, user_id: bytes, sealed: bytes) -> Identity:
        raw = open_(master_key, Purpose.IDENTITY_KEYS, user_id, sealed, what="identity keys")
        if len(raw) != 64:
            raise IntegrityError("identity keys")
        return cls(user_id, raw[:32], raw[32:])


def verify_published(published: bytes, user_id: bytes) -> PublicIdentity:
    """Check a published statement's layout, owner and self-signature."""
    what = "published public keys"
    if len(published) != PUBLISHED_SIZE or published[0] != STATEMENT_VERSION:
        raise IntegrityError(what)
    statement, signature = published[:STATEMENT_SIZE], published[STATEMENT_SIZE:]
    if not p.equal(statement[1:17], user_id):
        raise IntegrityError(what)
    identity = PublicIdentity(statement[1:17], statement[17:49], statement[49:81])
    try:
        p.ed25519_verify(identity.ed25519, signature, _SIGNING_LABEL + statement)
    except p.AuthenticationFailed:
        raise IntegrityError(what) from None
    return identity


def check_own_identity(identity: Identity, published: bytes) -> None:
    """At login: the published keys must be exactly those our private keys give."""
    public = verify_published(published, identity.user_id)
    if public != identity.public:
        raise IntegrityError("published public keys")
