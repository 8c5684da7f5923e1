"""coffre serve as an operator starts it: a bad setting, a database it cannot reach or a
full disk under its data folder stops it with one line of error and no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import COFFRE, free_port
from tests.small_disk import PAGE, fill, small_disk


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("COFFRE_PORT", "eighty", "coffre: COFFRE_PORT must be a whole number, not 'eighty'"),
        ("COFFRE_REQUEST_THREADS", "0", "coffre: COFFRE_REQUEST_THREADS must be at least 1, not 0"),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    result = subprocess.run(
        [COFFRE, "serve", "--data", str(tmp_path / "data")],
        env={**env, variable: value},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines() == [message]
    assert not (tmp_path / "data").exists()


def _serve(
    env: dict[str, str], data: Path, port: int | None = None
) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    return subprocess.run(
        [COFFRE, "serve", "--data", str(data), "--port", str(port or free_port())],
        env={**clean, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_serve_says_in_one_line_that_its_database_cannot_be_reached(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    url = f"postgresql://coffre:secret-password@127.0.0.1:{closed}/coffre"
    result = _serve({"COFFRE_DATABASE_URL": url}, tmp_path / "data")
    assert result.returncode == 8
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("coffre: the database cannot be used: connection failed")
    assert "secret-password" not in lines[0]


def test_serve_says_in_one_line_that_its_data_disk_is_full(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 1 << 20) as disk:
        fill(disk, leave=PAGE)
        result = _serve({}, disk / "data")
    assert result.returncode == 8
    err = result.stderr.decode()
    assert "Traceback" not in err  # the server's log lines before it, then one line
    last = err.strip().splitlines()[-1]
    assert last.startswith("coffre: the database cannot be used: ")
    assert last.endswith("(is the disk under the data folder full?)")


def test_serve_on_a_port_already_taken_exits_8_and_says_why(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve({}, tmp_path / "data", port)
    assert result.returncode == 8
    err = result.stderr.decode()
    assert "address already in use" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"coffre: the server could not start on 127.0.0.1:{port}; the error above says why"
    )
