"""The large-file benchmarks collect their blobs, and every benchmark removes its folder,
only at the end unless the disk is short of room."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bench import cleanup, coffre_runner
from bench.coffre_runner import Server


def _server(tmp_path: Path) -> Server:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return Server("http://127.0.0.1:9", tmp_path, process, {})


def _collections(monkeypatch: pytest.MonkeyPatch, free: int) -> list[list[str]]:
    ran: list[list[str]] = []

    def run_timed(argv: list[str], **_: Any) -> None:
        ran.append(argv)

    def disk_usage(_path: object) -> Any:
        return SimpleNamespace(total=10 * free, used=9 * free, free=free)

    monkeypatch.setattr(coffre_runner, "run_timed", run_timed)
    monkeypatch.setattr(coffre_runner.shutil, "disk_usage", disk_usage)
    return ran


def test_with_room_on_the_disk_nothing_is_collected_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _collections(monkeypatch, free=100)
    assert _server(tmp_path).collect_if_short(100) is False
    assert ran == []


def test_a_disk_short_of_room_is_collected_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _collections(monkeypatch, free=99)
    assert _server(tmp_path).collect_if_short(100) is True
    assert len(ran) == 1
    assert ran[0][1:] == ["worker", "--once", "--data", str(tmp_path)]


def test_a_finished_benchmarks_folder_is_kept_for_the_end_while_the_disk_has_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_usage(free: int) -> Any:
        return lambda _path: SimpleNamespace(total=2 * free, used=free, free=free)

    monkeypatch.setattr(cleanup.shutil, "disk_usage", disk_usage(cleanup.KEEP_FREE))
    assert cleanup.remove_later(tmp_path) is True
    monkeypatch.setattr(cleanup.shutil, "disk_usage", disk_usage(cleanup.KEEP_FREE - 1))
    assert cleanup.remove_later(tmp_path) is False
