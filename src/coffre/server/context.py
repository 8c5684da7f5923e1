"""What every service needs, built once per server process and passed down explicitly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from coffre.server.blobs import BlobStore
from coffre.server.config import Settings
from coffre.server.db.engine import Database
from coffre.server.feed import Notifier


@dataclass
class Context:
    settings: Settings
    db: Database
    blobs: BlobStore
    notifier: Notifier = field(default_factory=Notifier)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a signed-in account (from its session token), or a visitor of an
    upload-only link, who may add new files to that one folder (``dropbox``) and reach
    nothing else, not even to read it."""

    user_id: str
    session_id: str
    dropbox: str | None = None


def now() -> float:
    return time.time()
