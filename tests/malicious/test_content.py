"""The server attacks file content: flipped bits (A4), chunks reordered, dropped, duplicated,
truncated, extended or spliced (A5), a header committing to another key (A6), and errors
or partial output as an oracle (A15).

The files have several 1 KiB chunks. The server either rewrites its blob files and rows or
serves, for chunk ``i`` of a version, whatever bytes it likes (:func:`serve`). Every
download must fail with the same :class:`IntegrityError`, leave nothing in the
destination folder, and pass on nothing that was not authenticated.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from coffre.client.download import Downloader
from coffre.client.drive import Entry
from coffre.crypto import stream as cs
from coffre.errors import CoffreError, IntegrityError, NotFound
from coffre.server.db import tables as t
from tests.malicious.conftest import CHUNK, Template, Victim, stock
from tests.malicious.harness import Exchange, b64, flip

N = 6  # chunks per large file
CHUNKS = r"/v1/versions/\w+/chunks/\d+"


@dataclass
class Files:
    """Three six-chunk files (a, its second version a2, and b) and one small inline file."""

    a1: Entry  # a.bin, first version (still stored, no longer current)
    a2: Entry  # a.bin, second version
    b: Entry
    small: Entry
    data: dict[str, bytes]
    chunks: dict[str, list[bytes]]  # the stored ciphertext chunks of a1, a2 and b

    def version_id(self, name: str) -> str:
        entry: Entry = getattr(self, name)
        assert entry.record is not None and entry.record.version is not None
        return entry.record.version.id

    def plain_chunks(self, name: str) -> list[bytes]:
        data = self.data[name]
        return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def _stock_files(victim: Victim) -> Files:
    data = {
        "a1": os.urandom(N * CHUNK),
        "a2": os.urandom(N * CHUNK),
        "b": os.urandom(N * CHUNK),
        "small": b"a small file, inline in the database",
    }
    a1 = victim.upload("a.bin", data["a1"])
    a2 = victim.upload("a.bin", data["a2"], existing=a1)
    b = victim.upload("b.bin", data["b"])
    small = victim.upload("small.txt", data["small"])
    found = Files(a1, a2, b, small, data, {})
    for name in ("a1", "a2", "b"):
        content = victim.store.content(found.version_id(name))
        assert content.chunk_count == N and content.inline is None
        found.chunks[name] = [victim.store.chunk(content.id, i) for i in range(N)]
    assert found.version_id("a1") != found.version_id("a2")
    return found


@pytest.fixture(scope="module")
def stocked(template: Template, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Files]:
    """The files are uploaded once; every test gets a fresh copy of the server holding them."""
    return stock(template, tmp_path_factory.mktemp("content"), _stock_files)


@pytest.fixture
def server_template(stocked: tuple[Path, Files]) -> Path:
    return stocked[0]


@pytest.fixture
def files(stocked: tuple[Path, Files]) -> Files:
    return stocked[1]


def serve(victim: Victim, version_id: str, chunk: Callable[[int], bytes]) -> None:
    """The server answers every chunk request for ``version_id`` with ``chunk(index)``."""

    def answer(x: Exchange) -> httpx.Response:
        return httpx.Response(200, content=chunk(int(x.group("index"))))

    victim.server.answer("GET", rf"/v1/versions/{version_id}/chunks/(?P<index>\d+)", answer)


def refused(victim: Victim, entry: Entry, error: type[Exception] = IntegrityError) -> Exception:
    """Download ``entry``: ``error`` is raised and the downloads folder stays empty."""
    with pytest.raises(error) as caught:
        victim.download(entry)
    assert victim.leftovers() == []  # no destination file, no .coffre-part file
    return caught.value


def test_honest_download_of_every_file(victim: Victim, files: Files) -> None:
    """The baseline: what the tampering tests depart from downloads intact."""
    for name in ("a1", "a2", "b", "small"):
        dest = victim.download(getattr(files, name), name)
        assert dest.read_bytes() == files.data[name]


# -- A4: bit flips at rest ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunk", "index"),
    [(0, 0), (2, CHUNK // 2), (N - 1, CHUNK - 1), (3, -1), (N - 1, -5)],
    ids=["first-chunk-first-byte", "middle", "last-chunk-last-byte", "tag", "last-tag"],
)
def test_a4_flipped_bit_in_a_chunk_blob(
    victim: Victim, files: Files, chunk: int, index: int
) -> None:
    content = victim.store.content(files.version_id("b"))
    victim.store.write_chunk(content.id, chunk, flip(files.chunks["b"][chunk], index))
    refused(victim, files.b)


def test_a4_flipped_bit_in_an_inline_chunk(victim: Victim, files: Files) -> None:
    content = victim.store.content(files.version_id("small"))
    assert content.inline is not None
    victim.store.update(t.Content, content.id, inline=flip(content.inline, 7))
    refused(victim, files.small)


@pytest.mark.parametrize("index", [0, 10, 36], ids=["version", "commitment", "end"])
def test_a4_flipped_bit_in_the_content_header(victim: Victim, files: Files, index: int) -> None:
    """A changed header is refused before a single chunk is asked for."""
    version_id = files.version_id("b")
    original = victim.store.version(version_id).header
    victim.store.update(t.Version, version_id, header=flip(original, index))
    refused(victim, victim.drive.resolve("/b.bin"))
    assert victim.server.requests("GET", CHUNKS) == []


@pytest.mark.parametrize("chunk_size", [CHUNK + 256, CHUNK - 1, 2 * CHUNK, 1])
def test_a4_chunk_size_changed_in_the_content_header(
    victim: Victim, files: Files, chunk_size: int
) -> None:
    """The header's chunk size is not covered by the key commitment, but it is in every
    chunk's associated data: the client asks for chunks of the wrong shape and none opens."""
    version_id = files.version_id("b")
    original = victim.store.version(version_id).header
    tampered = original[:1] + chunk_size.to_bytes(4, "big") + original[5:]
    victim.store.update(t.Version, version_id, header=tampered)
    received: list[bytes] = []
    entry = victim.drive.resolve("/b.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    with pytest.raises(IntegrityError):
        Downloader(victim.api).stream(entry.record.version, entry.version, received.append)
    assert received == []
    refused(victim, entry)


# -- A5: chunks out of place --------------------------------------------------------------

Serving = Callable[[Files, int], bytes]


def _drop(f: Files, i: int) -> bytes:
    kept = f.chunks["b"][:2] + f.chunks["b"][3:]
    return kept[i] if i < len(kept) else b""


ATTACKS: dict[str, Serving] = {
    "reorder-1-2": lambda f, i: f.chunks["b"][{1: 2, 2: 1}.get(i, i)],
    "reverse": lambda f, i: f.chunks["b"][N - 1 - i],
    "drop-2": _drop,
    "duplicate-1-as-2": lambda f, i: f.chunks["b"][1 if i == 2 else i],
    "final-chunk-early": lambda f, i: f.chunks["b"][N - 1 if i == 3 else i],
    "final-chunk-as-every-chunk": lambda f, i: f.chunks["b"][N - 1],
    "truncate-last-byte": lambda f, i: f.chunks["b"][i][:-1] if i == N - 1 else f.chunks["b"][i],
    "truncate-to-nothing": lambda f, i: b"" if i >= 3 else f.chunks["b"][i],
    "extend-appended-bytes": lambda f, i: f.chunks["b"][i] + (b"\x00" if i == N - 1 else b""),
    "extend-non-final-as-final": lambda f, i: f.chunks["b"][N - 2 if i == N - 1 else i],
    "splice-other-file": lambda f, i: f.chunks["a1"][2] if i == 2 else f.chunks["b"][i],
    "whole-other-file": lambda f, i: f.chunks["a1"][i],
}

VERSION_ATTACKS: dict[str, Serving] = {
    "splice-other-version": lambda f, i: f.chunks["a1"][i] if i == 4 else f.chunks["a2"][i],
    "whole-other-version": lambda f, i: f.chunks["a1"][i],
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a5_chunks_out_of_place(victim: Victim, files: Files, attack: str) -> None:
    serve(victim, files.version_id("b"), lambda i: ATTACKS[attack](files, i))
    refused(victim, files.b)


@pytest.mark.parametrize("attack", list(VERSION_ATTACKS))
def test_a5_chunks_of_another_version_of_the_same_file(
    victim: Victim, files: Files, attack: str
) -> None:
    serve(victim, files.version_id("a2"), lambda i: VERSION_ATTACKS[attack](files, i))
    refused(victim, files.a2)


def test_a5_version_rows_swapped_between_versions_of_one_file(victim: Victim, files: Files) -> None:
    """a1's envelope, header and content put in a2's row: the old version passed off as the
    current one (envelopes name their version id)."""
    a1, a2 = files.version_id("a1"), files.version_id("a2")
    victim.store.swap(t.Version, a1, a2, "envelope", "header", "content_id")
    with pytest.raises(IntegrityError):
        victim.drive.resolve("/a.bin")
    with pytest.raises(IntegrityError):
        victim.drive.versions(files.a2)


@pytest.mark.parametrize("kept", [1, 3, N - 1])
def test_a5_stream_cut_at_a_chunk_boundary(files: Files, kept: int) -> None:
    """The stored chunks of b, cut after ``kept`` whole chunks, read as a stream whose end
    the reader does not know in advance: without its final chunk it is an error."""
    entry = files.b
    assert entry.version is not None and entry.record is not None
    assert entry.record.version is not None
    header = entry.record.version.header
    key, content_id = entry.version.content_key, entry.version.content_id
    whole = b"".join(cs.decrypt_all(key, content_id, header, files.chunks["b"]))
    assert whole == files.data["b"]
    with pytest.raises(IntegrityError):
        b"".join(cs.decrypt_all(key, content_id, header, files.chunks["b"][:kept]))


def test_a5_chunk_blobs_rearranged_on_disk(victim: Victim, files: Files) -> None:
    """The same, done to the blob files: chunks 1 and 4 of b exchanged."""
    content = victim.store.content(files.version_id("b"))
    victim.store.write_chunk(content.id, 1, files.chunks["b"][4])
    victim.store.write_chunk(content.id, 4, files.chunks["b"][1])
    refused(victim, files.b)


def test_a5_content_row_pointed_at_another_versions_blobs(victim: Victim, files: Files) -> None:
    """The version row of a2 now names a1's content (and header): spliced wholesale."""
    a1 = victim.store.version(files.version_id("a1"))
    victim.store.update(t.Version, files.version_id("a2"), content_id=a1.content_id)
    refused(victim, victim.drive.resolve("/a.bin"))
    victim.store.update(t.Version, files.version_id("a2"), header=a1.header)
    refused(victim, victim.drive.resolve("/a.bin"))


def test_a5_server_claims_fewer_chunks(victim: Victim, files: Files) -> None:
    """The record says three chunks and the server will not serve more: the download fails.

    The number of chunks the client asks for comes from the authenticated size, so a
    shorter file cannot be passed off as the whole one.
    """

    def shorter(body: Any, _x: Exchange) -> Any:
        for node in body["nodes"]:
            node["version"]["chunk_count"] = 3
            node["version"]["size"] = 3 * (CHUNK + 16)
        return body

    victim.server.on_json("GET", r"/v1/nodes/\w+/children", shorter)
    victim.server.answer(
        "GET",
        rf"/v1/versions/{files.version_id('b')}/chunks/[3-9]",
        lambda _x: httpx.Response(404, json={"error": {"code": "no", "message": "no chunk"}}),
    )
    entry = victim.drive.resolve("/b.bin")
    assert entry.size == N * CHUNK
    refused(victim, entry, NotFound)
    asked = {int(s.path.rsplit("/", 1)[1]) for s in victim.server.requests("GET", CHUNKS)}
    assert 3 in asked  # the client asked past the server's count


def test_a5_server_claims_more_chunks(victim: Victim, files: Files) -> None:
    """The record says ten chunks: the client asks for six, the true number, and is right."""

    def longer(body: Any, _x: Exchange) -> Any:
        for node in body["nodes"]:
            node["version"]["chunk_count"] = 10
        return body

    victim.server.on_json("GET", r"/v1/nodes/\w+/children", longer)
    dest = victim.download(victim.drive.resolve("/b.bin"))
    assert dest.read_bytes() == files.data["b"]
    asked = sorted(int(s.path.rsplit("/", 1)[1]) for s in victim.server.requests("GET", CHUNKS))
    assert asked == list(range(N))


# -- A6 (end to end): a header that commits to another key --------------------------------


@pytest.mark.parametrize("source", ["a1", "a2"])
def test_a6_header_of_another_key_refused_before_any_chunk(
    victim: Victim, files: Files, source: str
) -> None:
    """b's stored header replaced by one of a's (a valid header, committing to a's key)."""
    header = victim.store.version(files.version_id(source)).header
    victim.store.update(t.Version, files.version_id("b"), header=header)
    refused(victim, victim.drive.resolve("/b.bin"))
    assert victim.server.requests("GET", CHUNKS) == []


def test_a6_header_and_chunks_of_another_key_on_the_wire(victim: Victim, files: Files) -> None:
    """The server serves a1's header and every chunk of a1 as b's: still refused up front."""
    a1_header = victim.store.version(files.version_id("a1")).header

    def swap_header(body: Any, _x: Exchange) -> Any:
        for node in body["nodes"]:
            if node["id"] == files.b.id:
                node["version"]["header"] = b64(a1_header)
        return body

    victim.server.on_json("GET", r"/v1/nodes/\w+/children", swap_header)
    serve(victim, files.version_id("b"), lambda i: files.chunks["a1"][i])
    refused(victim, victim.drive.resolve("/b.bin"))
    assert victim.server.requests("GET", CHUNKS) == []


# -- A15: no oracle in errors, no unauthenticated output -----------------------------------


def test_a15_one_error_whatever_was_tampered(victim: Victim, files: Files) -> None:
    """Tag, body, length, position, final flag, another key's chunk, another header: the
    client says the same thing, with the same type and code, every time."""
    b_version = files.version_id("b")
    header = victim.store.version(b_version).header
    other_header = victim.store.version(files.version_id("a1")).header
    chunk_attacks: list[Callable[[int], bytes]] = [
        lambda i: flip(files.chunks["b"][i], 5) if i == 2 else files.chunks["b"][i],
        lambda i: flip(files.chunks["b"][i], -1) if i == 2 else files.chunks["b"][i],
        lambda i: files.chunks["b"][i][:-3] if i == 2 else files.chunks["b"][i],
        lambda i: files.chunks["b"][3 if i == 2 else i],
        lambda i: files.chunks["b"][N - 1 if i == 2 else i],
        lambda i: files.chunks["a1"][i],
    ]
    errors: list[Exception] = []
    for attack in chunk_attacks:
        victim.server.clear()
        serve(victim, b_version, attack)
        errors.append(refused(victim, files.b))
    victim.server.clear()
    for tampered in (flip(header, 12), flip(header, 2), other_header):
        victim.store.update(t.Version, b_version, header=tampered)
        errors.append(refused(victim, victim.drive.resolve("/b.bin")))
    assert {type(e) for e in errors} == {IntegrityError}
    assert len({str(e) for e in errors}) == 1
    assert {e.code for e in errors if isinstance(e, CoffreError)} == {"integrity"}


STREAM_ATTACKS: dict[str, tuple[int, Serving]] = {
    "flip-3": (3, lambda f, i: flip(f.chunks["b"][i], 100) if i == 3 else f.chunks["b"][i]),
    "flip-last": (
        N - 1,
        lambda f, i: flip(f.chunks["b"][i], -1) if i == N - 1 else f.chunks["b"][i],
    ),
    "swap-2-3": (2, lambda f, i: f.chunks["b"][{2: 3, 3: 2}.get(i, i)]),
    "duplicate-1-at-2": (2, lambda f, i: f.chunks["b"][1 if i == 2 else i]),
    "final-at-4": (4, lambda f, i: f.chunks["b"][N - 1 if i == 4 else i]),
    "non-final-at-end": (N - 1, lambda f, i: f.chunks["b"][N - 2 if i == N - 1 else i]),
    "other-file-at-1": (1, lambda f, i: f.chunks["a1"][i] if i == 1 else f.chunks["b"][i]),
}


@pytest.mark.parametrize("attack", list(STREAM_ATTACKS))
def test_a15_streaming_passes_on_only_whole_authenticated_chunks(
    victim: Victim, files: Files, attack: str
) -> None:
    """``cat``: what reaches the output before the failure is exactly the true chunks
    0..bad-1, each whole; nothing of the bad chunk, nothing out of order."""
    bad, serving = STREAM_ATTACKS[attack]
    serve(victim, files.version_id("b"), lambda i: serving(files, i))
    received: list[bytes] = []
    entry = files.b
    assert entry.record is not None and entry.record.version is not None
    assert entry.version is not None
    with pytest.raises(IntegrityError):
        Downloader(victim.api, workers=3, window=6).stream(
            entry.record.version, entry.version, received.append
        )
    assert received == files.plain_chunks("b")[:bad]


def test_a15_failed_download_keeps_an_older_good_copy(victim: Victim, files: Files) -> None:
    """A file already at the destination is neither replaced nor truncated by a failure."""
    dest = victim.downloads / "out.bin"
    dest.write_bytes(b"yesterday's good copy")
    serve(victim, files.version_id("b"), lambda i: files.chunks["b"][(i + 1) % N])
    with pytest.raises(IntegrityError):
        victim.download(files.b)
    assert dest.read_bytes() == b"yesterday's good copy"
    assert victim.leftovers() == ["out.bin"]


def test_a15_failure_on_the_last_chunk_leaves_no_part_file(
    victim: Victim, files: Files, tmp_path: Path
) -> None:
    """Everything but the final chunk checks out: still no file, not even a hidden one."""
    serve(
        victim,
        files.version_id("b"),
        lambda i: files.chunks["b"][i] if i < N - 1 else files.chunks["a1"][N - 1],
    )
    refused(victim, files.b)
    assert not list(tmp_path.rglob("*.coffre-part"))
