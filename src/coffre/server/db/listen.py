"""Change-feed wake-ups across API processes, through PostgreSQL's LISTEN/NOTIFY.

A transaction that appends to an account's change feed also runs ``pg_notify`` on
:data:`CHANNEL` with the account's id; PostgreSQL delivers it when (and only if) the
transaction commits. Each API process keeps one connection of its own listening, in a
thread, and passes each account id to a callback (the in-process notifier, which wakes the
long polls of that account). If the connection drops, the thread reconnects with backoff;
long polls also look at the database every second, so a lost wake-up costs a second at most.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("coffre.server")

CHANNEL = "coffre_feed"


def notify(db: Session, user_id: str) -> None:
    """Announce, at commit, that ``user_id``'s feed has news (PostgreSQL only)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(func.pg_notify(CHANNEL, user_id)))


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class FeedListener:
    """Listens on :data:`CHANNEL` in a daemon thread until :meth:`stop`."""

    def __init__(self, url: str, on_notify: Callable[[str], None]) -> None:
        self._conninfo = libpq_url(url)
        self._on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coffre-feed", daemon=True)
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    delay = 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._on_notify(note.payload)
            except psycopg.Error as exc:
                if self.connected.is_set():
                    log.warning("change-feed listener lost its connection: %s", exc)
                self.connected.clear()
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
        self.connected.clear()
