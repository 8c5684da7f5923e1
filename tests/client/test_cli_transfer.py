"""The put command's local side: what it counts before sending."""

from __future__ import annotations

from pathlib import Path

from coffre.cli import transfer


def test_the_total_of_a_put_counts_regular_files_and_skips_links(tmp_path: Path) -> None:
    top = tmp_path / "top"
    (top / "a" / "b").mkdir(parents=True)
    (top / "one").write_bytes(b"1")
    (top / "a" / "two").write_bytes(b"22")
    (top / "a" / "b" / "three").write_bytes(b"333")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"x" * 1000)
    (top / "link-to-file").symlink_to(outside / "big")
    (top / "a" / "link-to-folder").symlink_to(outside)
    assert transfer._local_size(top) == 6  # put skips links: they are not counted
    assert transfer._local_size(top / "a" / "two") == 2
