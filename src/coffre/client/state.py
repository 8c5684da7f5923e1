"""What the client keeps on the user's machine, under ``COFFRE_HOME``.

- ``session.json`` (mode 0600): server, email, session token and the master key, so that
  commands after ``coffre login`` need no password. Whoever can read this file holds the
  account; ``coffre logout`` ends the session and deletes it.
- ``uploads/UPLOAD_ID.json`` and ``.chunks`` (0600): the journal of an unfinished upload
  (its keys, the local file's identity and a hash of each chunk as it is encrypted), so
  that an interrupted upload resumes without ever encrypting different data under the
  same key and nonce (SECURITY.md A16).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from coffre.errors import LocalError


def home() -> Path:
    env = os.environ.get("COFFRE_HOME")
    return Path(env) if env else Path(platformdirs.user_config_dir("coffre"))


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``: a write may take only part of it (a full disk, a signal)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only. A file system
    that refuses (a full disk, a read-only folder) is a :class:`LocalError` naming the
    file, and leaves the file as it was."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise LocalError.of(path, exc) from None


@dataclass(frozen=True, slots=True, repr=False)
class SavedSession:
    server: str
    email: str
    token: str
    session_id: str
    master_key: bytes

    def __repr__(self) -> str:
        return f"SavedSession(server={self.server!r}, email={self.email!r}, <secrets hidden>)"


def _session_path() -> Path:
    return home() / "session.json"


def save_session(session: SavedSession) -> None:
    data = asdict(session)
    data["master_key"] = base64.b64encode(session.master_key).decode()
    write_private(_session_path(), json.dumps(data, indent=2).encode())


def load_session() -> SavedSession | None:
    path = _session_path()
    try:
        data = json.loads(path.read_text())
        data["master_key"] = base64.b64decode(data["master_key"])
        return SavedSession(**data)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise LocalError(f"{path} is damaged; run 'coffre logout' and log in again") from None


def forget_session() -> None:
    _session_path().unlink(missing_ok=True)
    trees = home() / "trees"
    if trees.is_dir():
        for path in trees.iterdir():
            path.unlink(missing_ok=True)


def tree_copy_path(user_id: bytes) -> Path:
    """Where the kept copy of an account's tree is: one file per account."""
    return home() / "trees" / f"{user_id.hex()}.bin"


# -- upload journals ----------------------------------------------------------------------


def _journal_dir() -> Path:
    return home() / "uploads"


class Journal:
    """The journal of one upload: a JSON header and an append-only list of chunk hashes."""

    def __init__(self, upload_id: str) -> None:
        self.upload_id = upload_id
        self.header_path = _journal_dir() / f"{upload_id}.json"
        self.chunks_path = _journal_dir() / f"{upload_id}.chunks"
        self._chunks_fd: int | None = None
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = 0
        self._synced = 0

    @classmethod
    def create(cls, upload_id: str, header: dict[str, Any]) -> Journal:
        journal = cls(upload_id)
        write_private(journal.header_path, json.dumps(header).encode())
        return journal

    def header(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.header_path.read_text())
        return data

    def chunk_hashes(self) -> dict[int, str]:
        hashes: dict[int, str] = {}
        with contextlib.suppress(FileNotFoundError):
            for line in self.chunks_path.read_text().splitlines():
                index, _, digest = line.partition(" ")
                if index.isdigit() and len(digest) == 64:
                    hashes[int(index)] = digest
        return hashes

    def record_chunks(self, entries: list[tuple[int, str]]) -> None:
        """Note chunks' hashes on disk before their ciphertext leaves the machine (write-ahead).

        Thread-safe; the flush to disk is shared: a thread whose line was already made
        durable by another thread's fdatasync does not sync again (group commit).
        """
        with self._lock:
            if self._chunks_fd is None:
                self._chunks_fd = os.open(
                    self.chunks_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
                )
            write_all(self._chunks_fd, "".join(f"{i} {d}\n" for i, d in entries).encode())
            self._written += 1
            mine, fd = self._written, self._chunks_fd
        with self._sync_lock:
            if self._synced >= mine:
                return
            with self._lock:
                upto = self._written
            os.fdatasync(fd)
            self._synced = upto

    def close(self) -> None:
        with self._lock, self._sync_lock:
            if self._chunks_fd is not None:
                os.close(self._chunks_fd)
                self._chunks_fd = None

    def delete(self) -> None:
        self.close()
        self.header_path.unlink(missing_ok=True)
        self.chunks_path.unlink(missing_ok=True)


def find_journal(match: dict[str, Any]) -> Journal | None:
    """The journal whose header has every item of ``match``, if there is one."""
    folder = _journal_dir()
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            header = json.loads(path.read_text())
        except ValueError:
            continue
        if all(header.get(k) == v for k, v in match.items()):
            return Journal(path.stem)
    return None
