"""Fixtures for the client library tests: a private COFFRE_HOME, local files, transfers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from coffre.server.config import Settings


@pytest.fixture(autouse=True)
def coffre_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Upload journals and sessions go to a folder of the test's own."""
    home = tmp_path / "coffre-home"
    monkeypatch.setenv("COFFRE_HOME", str(home))
    return home


@pytest.fixture
def local(tmp_path: Path) -> Callable[..., Path]:
    """Write a local file of random bytes (or of ``data``) and return its path."""
    folder = tmp_path / "local"
    folder.mkdir()
    counter = iter(range(1_000_000))

    def make(size: int = 0, *, data: bytes | None = None, name: str | None = None) -> Path:
        path = folder / (name or f"file{next(counter)}.bin")
        path.write_bytes(os.urandom(size) if data is None else data)
        return path

    return make


@pytest.fixture
def blob_dir(settings: Settings) -> Path:
    return Path(settings.resolved_blobs)
