"""Contacts' public keys, pinned on first use, on this machine (SECURITY.md A10).

The server relays public keys but cannot vouch for them. So the first time this client
sees a contact's published keys it keeps them (``COFFRE_HOME/contacts-ACCOUNT.json``); from
then on, different keys for the same account are refused loudly until the user checks the
new fingerprint with the contact (``coffre contacts verify``). A contact is *verified* once
its fingerprint was compared; sharing with an unverified one needs explicit consent.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

from coffre.client.state import home, write_private
from coffre.crypto.identity import PublicIdentity, verify_published
from coffre.errors import KeyChanged
from coffre.protocol import models as m


@dataclass(frozen=True, slots=True)
class Pin:
    email: str
    published: bytes
    verified: bool
    pinned_at: float

    @property
    def identity(self) -> PublicIdentity:
        user_id = self.published[1:17]
        return verify_published(self.published, user_id)


class Pins:
    def __init__(self, account_id: str, path: Path | None = None) -> None:
        self.path = path or home() / f"contacts-{account_id}.json"
        self._pins: dict[str, Pin] = {}
        if self.path.exists():
            raw = json.loads(self.path.read_text())
            for user_id, p in raw.items():
                self._pins[user_id] = Pin(
                    p["email"], base64.b64decode(p["published"]), p["verified"], p["pinned_at"]
                )

    def _save(self) -> None:
        data = {
            user_id: {
                "email": p.email,
                "published": base64.b64encode(p.published).decode(),
                "verified": p.verified,
                "pinned_at": p.pinned_at,
            }
            for user_id, p in self._pins.items()
        }
        write_private(self.path, json.dumps(data, indent=2).encode())

    def get(self, user_id: str) -> Pin | None:
        return self._pins.get(user_id)

    def check(self, keys: m.UserKeys) -> PublicIdentity:
        """The contact's identity: pinned now if new, refused if it changed since."""
        identity = verify_published(keys.public_keys, bytes.fromhex(keys.user_id))
        pin = self._pins.get(keys.user_id)
        if pin is None:
            self._pins[keys.user_id] = Pin(keys.email, keys.public_keys, False, time.time())
            self._save()
        elif pin.published != keys.public_keys:
            raise KeyChanged(
                f"the keys of {keys.email} are not those you first saw: this may be an attack "
                "by the server, or a new account; compare fingerprints, then run "
                f"'coffre contacts verify {keys.email} --fingerprint ...'"
            )
        return identity

    def accept_new(self, keys: m.UserKeys, *, verified: bool) -> PublicIdentity:
        """Pin ``keys``, replacing what was pinned (after the user compared fingerprints)."""
        identity = verify_published(keys.public_keys, bytes.fromhex(keys.user_id))
        self._pins[keys.user_id] = Pin(keys.email, keys.public_keys, verified, time.time())
        self._save()
        return identity

    def changed(self, keys: m.UserKeys) -> bool:
        pin = self._pins.get(keys.user_id)
        return pin is not None and pin.published != keys.public_keys

    def verified(self, user_id: str) -> bool:
        pin = self._pins.get(user_id)
        return pin is not None and pin.verified
