"""The files the client keeps under COFFRE_HOME: written whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from coffre.client import state
from coffre.errors import LocalError


def test_a_private_file_is_written_whole_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "session.json"
    state.write_private(path, b"first")
    state.write_private(path, b"second")
    assert path.read_bytes() == b"second"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["session.json"]


def test_a_full_disk_is_a_local_error_and_keeps_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.json"
    state.write_private(path, b"the session before")

    def full(_fd: int, _data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(LocalError, match=r"session\.json: No space left on device"):
        state.write_private(path, b"the new session")
    monkeypatch.undo()
    assert path.read_bytes() == b"the session before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]


def test_a_short_write_is_carried_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def three_at_a_time(fd: int, data: bytes | memoryview) -> int:
        return real(fd, bytes(data[:3]))

    monkeypatch.setattr(os, "write", three_at_a_time)
    state.write_private(tmp_path / "f", b"0123456789")
    monkeypatch.undo()
    assert (tmp_path / "f").read_bytes() == b"0123456789"
