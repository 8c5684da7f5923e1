"""coffre serve as an operator starts it: a bad setting stops it in one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import COFFRE


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
