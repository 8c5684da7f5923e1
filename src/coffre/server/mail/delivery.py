"""The delivery thread: hands the outbox's messages to the SMTP server, and retries.

One thread per process and outbox folder, started by the server at start (to send what an
earlier run left) and by :func:`wake` when a message is queued. It takes the oldest
messages first. A message is removed from the folder only once the SMTP server has
accepted it, so none is lost while the server is down or the process stops: delivery is
at least once (a process killed between the server's answer and the removal sends that
message again). Messages go over one connection per pass. A message the server refuses
for good (every recipient refused with a 5xx) moves to ``DATA/outbox/failed/`` and is
logged. Any other failure ends the pass; that message is retried after 5 s, 10 s, 20 s...
up to every 15 minutes, the others at the next pass, and a pass starts at once whenever
a new message is queued.

Several processes may share a data folder: each message is locked (``flock``) while it
is being sent, so exactly one of them sends it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from coffre.errors import UsageError
from coffre.server.config import Settings
from coffre.server.mail import outbox, transport

log = logging.getLogger("coffre.mail")

FAILED = "failed"
FIRST_RETRY = 5.0
LAST_RETRY = 900.0


@dataclass(slots=True)
class Retries:
    """When each waiting message may be tried again (this process's view; after a
    restart every message is tried at once)."""

    attempts: dict[str, int] = field(default_factory=dict)
    not_before: dict[str, float] = field(default_factory=dict)

    def failed(self, name: str, at: float) -> None:
        n = self.attempts.get(name, 0) + 1
        self.attempts[name] = n
        self.not_before[name] = at + min(LAST_RETRY, FIRST_RETRY * 2 ** (n - 1))

    def forget(self, name: str) -> None:
        self.attempts.pop(name, None)
        self.not_before.pop(name, None)


@dataclass(frozen=True, slots=True)
class Report:
    sent: int
    failed: int
    waiting: int
    next_try: float | None
    """When the earliest waiting message is due (a time.monotonic() value), if any."""


def deliver_pending(settings: Settings, retries: Retries | None = None) -> Report:
    """Send every message in the outbox that is due (all of them without ``retries``)."""
    server = transport.parse_url(settings.smtp_url)
    retries = retries if retries is not None else Retries()
    sent = failed = waiting = 0
    connection = transport.Connection(server, timeout=settings.smtp_timeout)
    try:
        paths = outbox.pending(settings)
        for gone in set(retries.attempts) - {p.name for p in paths}:
            retries.forget(gone)  # sent by another process
        for i, path in enumerate(paths):
            due = retries.not_before.get(path.name)
            if due is not None and due > time.monotonic():
                waiting += 1
                continue
            outcome = _deliver_one(connection, path, retries)
            if outcome == "sent":
                sent += 1
            elif outcome == "failed":
                failed += 1
            elif outcome == "waiting":
                # The server is down or unwell: the rest wait for the next pass, rather
                # than each waiting out its own timeout now.
                waiting += len(paths) - i
                break
    finally:
        connection.close()
    dues = list(retries.not_before.values())
    return Report(sent, failed, waiting, min(dues) if dues else None)


def _deliver_one(connection: transport.Connection, path: Path, retries: Retries) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return "gone"  # another process sent it
    with os.fdopen(fd, "rb") as f:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "busy"  # another process is sending it
        if os.fstat(fd).st_nlink == 0:
            return "gone"  # sent (and removed) while we waited for the lock
        data = f.read()
        try:
            connection.send(data)
        except transport.PermanentFailure as exc:
            failed_dir = path.parent / FAILED
            failed_dir.mkdir(mode=0o700, exist_ok=True)
            os.replace(path, failed_dir / path.name)
            retries.forget(path.name)
            log.error("mail %s refused for good, moved to %s: %s", path.name, FAILED, exc)
            return "failed"
        except Exception as exc:
            retries.failed(path.name, time.monotonic())
            log.warning(
                "mail %s not sent (attempt %d), will retry: %s: %s",
                path.name,
                retries.attempts[path.name],
                type(exc).__name__,
                exc,
            )
            return "waiting"
        path.unlink()
        retries.forget(path.name)
        log.info("mail %s handed to %r", path.name, connection.server)
        return "sent"


class Deliverer:
    """The thread that keeps an outbox empty."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.retries = Retries()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coffre-mail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        # A send in progress may be cut short: its message stays in the outbox.
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = deliver_pending(self.settings, self.retries)
            except Exception:
                log.exception("mail delivery failed; will retry")
                report = Report(0, 0, 1, time.monotonic() + LAST_RETRY)
            wait = None if report.next_try is None else max(0.0, report.next_try - time.monotonic())
            self._wake.wait(wait)


_lock = threading.Lock()
_running: dict[tuple[Path, str], Deliverer] = {}
_unusable: set[str] = set()


def _key(settings: Settings) -> tuple[Path, str]:
    return (outbox.outbox_dir(settings).resolve(), settings.smtp_url)


def start(settings: Settings) -> Deliverer | None:
    """This process's delivery thread for these settings: None without COFFRE_SMTP_URL, or
    when it is not a usable URL (that is logged, once)."""
    if not settings.smtp_url:
        return None
    try:
        transport.parse_url(settings.smtp_url)
    except UsageError as exc:
        with _lock:
            first = settings.smtp_url not in _unusable
            _unusable.add(settings.smtp_url)
        if first:  # said once per process; the mail waits in the outbox meanwhile
            log.error("%s; mail waits in %s", exc.message, outbox.outbox_dir(settings))
        return None
    with _lock:
        deliverer = _running.get(_key(settings))
        if deliverer is None:
            deliverer = _running[_key(settings)] = Deliverer(settings)
            deliverer.start()
    deliverer.wake()
    return deliverer


def wake(settings: Settings) -> None:
    start(settings)


def stop(settings: Settings) -> None:
    with _lock:
        deliverer = _running.pop(_key(settings), None)
    if deliverer is not None:
        with contextlib.suppress(RuntimeError):
            deliverer.stop()
