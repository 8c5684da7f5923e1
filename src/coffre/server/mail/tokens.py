"""Reply addresses: ``support+TOKEN@domain``, where TOKEN names a ticket and is signed.

TOKEN is ``REF.SIG``: REF is the ticket's reference (its id, lowercase hex) and SIG the
first 16 characters of the lowercase base32 of HMAC-SHA256(key, "coffre-mail-reply-v1" 0x00
REF), 80 bits. Mail systems may change the case of an address's local part, so SIG is
compared case-insensitively and REF should be lowercase. A token that does not verify
names nothing: the message is threaded by its headers, if at all.

The key is ``COFFRE_MAIL_SECRET`` or, when it is not set, a random key made once and kept
in ``DATA/mail-secret`` (mode 0600). Every process that sends or receives support mail
must share it: with several machines, set ``COFFRE_MAIL_SECRET``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from email.headerregistry import Address
from email.utils import parseaddr

from coffre.server.config import Settings

SECRET_FILE = "mail-secret"  # noqa: S105 (a file name)
_LABEL = b"coffre-mail-reply-v1\x00"
_SIG_CHARS = 16
_REF = re.compile(r"[A-Za-z0-9_-]{1,48}")


def secret(settings: Settings) -> bytes:
    """The signing key: the setting, else the data folder's, made on first use."""
    if settings.mail_secret:
        return settings.mail_secret.encode()
    path = settings.data_dir / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_FILE}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _read_key(path)


def _read_key(path: os.PathLike[str]) -> bytes:
    with open(path) as f:
        return bytes.fromhex(f.read().strip())


def _sign(key: bytes, ref: str) -> str:
    mac = hmac.new(key, _LABEL + ref.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:_SIG_CHARS]


def make_token(settings: Settings, ref: str) -> str:
    if not _REF.fullmatch(ref):
        raise ValueError(f"a ticket reference cannot go in a mail address: {ref!r}")
    return f"{ref}.{_sign(secret(settings), ref)}"


def verify_token(settings: Settings, token: str) -> str | None:
    """The ticket reference a token names, or None when it is not one we signed."""
    ref, dot, sig = token.rpartition(".")
    if not dot or not _REF.fullmatch(ref):
        return None
    key = secret(settings)
    # Some mail systems change the local part's case: references are lowercase.
    for candidate in dict.fromkeys((ref, ref.lower())):
        if hmac.compare_digest(_sign(key, candidate).encode(), sig.lower().encode()):
            return candidate
    return None


def support_parts(settings: Settings) -> tuple[str, str]:
    """The support address's local part and domain, lowercase."""
    local, _, domain = settings.support_address.strip().rpartition("@")
    return local.lower(), domain.lower()


def reply_address(settings: Settings, ref: str) -> str:
    """The address replies about a ticket should go to: support+TOKEN@domain."""
    local, domain = support_parts(settings)
    return str(Address(addr_spec=f"{local}+{make_token(settings, ref)}@{domain}"))


def classify_recipient(settings: Settings, address: str) -> tuple[bool, str | None]:
    """Whether ``address`` is the support mailbox (plain or +TOKEN), and the token's ticket
    reference when it carries a valid one."""
    addr = parseaddr(address)[1] or address.strip().strip("<>")
    local, _, domain = addr.rpartition("@")
    support_local, support_domain = support_parts(settings)
    if domain.lower() != support_domain or not local:
        return False, None
    base, plus, token = local.partition("+")
    if base.lower() != support_local:
        return False, None
    if not plus:
        return True, None
    return True, verify_token(settings, token)
