"""An authenticator app for tests: TOTP codes of a secret, never the same time step twice
(the server refuses a code of a step it has already accepted)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from coffre.server.services import totp

LASTS = 10.0


@dataclass
class Authenticator:
    secret: bytes
    last_step: int | None = None

    @classmethod
    def from_b32(cls, text: str) -> Authenticator:
        return cls(base64.b32decode(text + "=" * (-len(text) % 8)))

    def code(self) -> str:
        """A code the server accepts now and for at least LASTS seconds more: of the
        earliest such step that is after the last one used (now minus one step at the
        earliest). The earliest step the server takes now may leave it a moment later,
        before a command started on a loaded machine has sent its code."""
        step = totp.step_at(time.time() + LASTS) - totp.DRIFT
        if self.last_step is not None:
            step = max(step, self.last_step + 1)
        while step > totp.step_at() + totp.DRIFT:  # every acceptable step is used: wait
            time.sleep(1)
        self.last_step = step
        return totp.hotp(self.secret, step)
