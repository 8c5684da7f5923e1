"""The local blob store's files as an operator, or an attacker with a shell, sees them
(docs/deploy.md): a content's folder ``ROOT/AB/CONTENT_ID/`` holds chunks alone,
``INDEX``, and a request's consecutive chunks, ``FIRST-COUNT-SIZE``, chunk ``FIRST + k``
at ``k`` times ``SIZE`` rounded up to 4 KiB. Written from the documentation, not from
:mod:`coffre.server.blobs.local`, so that the tests check the two agree."""

from __future__ import annotations

from pathlib import Path

BLOCK = 4096


def folder(root: Path, content_id: str) -> Path:
    return root / content_id[:2] / content_id


def parse_range(name: str) -> tuple[int, int, int] | None:
    """``(first, count, size)`` of a range file's name; ``None`` for any other name."""
    parts = name.split("-")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    first, count, size = map(int, parts)
    return first, count, size


def stride(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def chunks_in(path: Path) -> int:
    """How many chunks a blob file holds (0 for a temporary file)."""
    if path.name.isdigit():
        return 1
    found = parse_range(path.name)
    return found[1] if found else 0


def chunks_held(root: Path) -> int:
    """Chunks in all the blob files under ``root``."""
    return sum(chunks_in(p) for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def place(root: Path, content_id: str, index: int) -> tuple[Path, int, int]:
    """The file holding chunk ``index``, its offset there and its length (a chunk alone
    first, as the store reads it)."""
    where = folder(root, content_id)
    alone = where / str(index)
    if alone.is_file():
        return alone, 0, alone.stat().st_size
    for path in sorted(where.iterdir()):
        found = parse_range(path.name)
        if found and found[0] <= index < found[0] + found[1]:
            first, _, size = found
            offset = (index - first) * stride(size)
            return path, offset, min(size, path.stat().st_size - offset)
    raise AssertionError(f"no chunk {index} in {where}")


def read_chunk(root: Path, content_id: str, index: int) -> bytes:
    path, offset, length = place(root, content_id, index)
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(length)


def write_chunk(root: Path, content_id: str, index: int, data: bytes) -> None:
    """Overwrite the chunk's bytes in place (as long as they were)."""
    path, offset, length = place(root, content_id, index)
    assert len(data) == length, "a chunk of another length would move the others"
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def unpack(root: Path, content_id: str) -> None:
    """Make every chunk of the content a file of its own (``INDEX``), as the store kept
    them before it kept ranges, and as it still reads them: a test can then cut, lose or
    change one chunk without touching the others."""
    where = folder(root, content_id)
    for path in sorted(where.iterdir()):
        found = parse_range(path.name)
        if not found:
            continue
        first, count, _ = found
        for index in range(first, first + count):
            alone = where / str(index)
            if not alone.exists():
                alone.write_bytes(read_chunk(root, content_id, index))
        path.unlink()
