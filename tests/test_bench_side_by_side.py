"""python -m bench.side_by_side: two servers with the code of two trees, the versions
swapping servers halfway; its verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.side_by_side import Tally, main, source_dir, summary, wins

ROOT = Path(__file__).resolve().parents[1]


def test_wins_counts_the_pairs_the_second_won() -> None:
    assert wins([100, 200, 300], [150, 150, 300]) == 1


def test_the_summary_gives_each_half_on_its_own() -> None:
    old, new = Tally("old"), Tally("new")
    for half, (o, n) in enumerate([(100.0, 150.0), (100.0, 90.0)]):
        old.add_put(half, o, 2.0)
        new.add_put(half, n, 1.5)
    lines = summary(old, new)
    assert lines[0].startswith("put, median MB/s: old 100.0, new 120.0 (+20.0%)")
    assert lines[0].endswith("new faster in 1 of 2 pairs")
    assert "half 1 (new on server B): 100.0 against 150.0 MB/s, 1 of 1" in lines[2]
    assert "half 2 (new on server A): 100.0 against 90.0 MB/s, 0 of 1" in lines[3]
    old.add_get(300.0, 1.25)
    new.add_get(330.0, 1.0)
    lines = summary(old, new)
    assert lines[-2].endswith("new faster in 1 of 1 pairs")
    assert lines[-1] == "server CPU a GiB, get: old 1.25 s, new 1.00 s"


def test_a_tree_is_its_root_or_its_src(tmp_path: Path) -> None:
    assert source_dir(ROOT) == ROOT / "src"
    assert source_dir(ROOT / "src") == ROOT / "src"
    with pytest.raises(SystemExit, match="no coffre package"):
        source_dir(tmp_path)


def test_two_servers_of_the_same_tree_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ROOT), str(ROOT), "--pairs", "2", "--mib", "1", "--get"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("pair 1: old ") and " | new " in out[0] and ", get " in out[0]
    assert out[1].startswith("pair 2: new ")  # the other goes first
    assert any(line.startswith("  half 2 (new on server A)") for line in out)
    assert out[-2].startswith("get, median MB/s: old ")
    assert out[-1].startswith("server CPU a GiB, get: old ")
    assert "(server " in out[0].split(", get ")[1]
