"""python -m bench.command_side_by_side: one server, the command of two trees in turn."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.command_side_by_side import main

ROOT = Path(__file__).resolve().parents[1]


def test_two_commands_of_the_same_tree_against_one_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([str(ROOT), str(ROOT), "--pairs", "2", "--mib", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("pair 1: old ") and " | new " in out[0] and "(command " in out[0]
    assert out[1].startswith("pair 2: new ")  # the other goes first
    assert out[-2].startswith("get, median MB/s: old ") and out[-2].endswith("of 2 pairs")
    assert out[-1].startswith("the command's CPU a GiB: old ")


def test_bad_counts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main([str(ROOT), str(ROOT), "--pairs", "0"])
    assert raised.value.code == 2
    assert "--pairs and --mib must be at least 1" in capsys.readouterr().err
