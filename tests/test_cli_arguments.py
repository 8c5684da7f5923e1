"""Arguments the command line refuses in one line (exit 2) before it talks to any server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _coffre(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    clean.update(COFFRE_HOME=str(home), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "coffre.cli.main", *args],
        input=b"a password long enough\n",
        capture_output=True,
        env=clean,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "address", ["ftp://x", "not a url", "http://[::1", "http://x:99999", "http://"]
)
def test_a_server_address_that_is_no_http_url_is_a_usage_error(
    tmp_path: Path, address: str
) -> None:
    """It was an internal error (exit 70) from deep in the client."""
    for result in (
        _coffre(tmp_path, "--server", address, "login", "a@example.org", "--password-stdin"),
        _coffre(
            tmp_path, "signup", "a@example.org", "--password-stdin", env={"COFFRE_SERVER": address}
        ),
    ):
        assert result.returncode == 2, result.stderr
        assert result.stderr.decode() == (
            f"coffre: {address!r} is not a server address "
            "(like https://coffre.example or http://127.0.0.1:8080)\n"
        )
    assert not (tmp_path / "session.json").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "soon"])
def test_a_retry_time_that_is_no_number_of_seconds_is_a_usage_error(
    tmp_path: Path, value: str
) -> None:
    """ "nan" and "inf" parse as floats: NaN silently meant no retrying at all."""
    result = _coffre(
        tmp_path, "login", "a@example.org", "--password-stdin", env={"COFFRE_RETRY_FOR": value}
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == b"coffre: COFFRE_RETRY_FOR must be a number of seconds\n"
