"""A16: the server tries to make the client encrypt two plaintexts under one key and nonce.

Chunk nonces are the chunk index under a per-version content key, so a key must never be
used for two different contents, and a resumed upload must never encrypt a chunk again
with other bytes. The server's lever is the resumable upload: it can interrupt one, then
claim it lacks chunks it holds, hoping the client re-encrypts them after the local file
changed. The client's defences are the upload journal (in ``COFFRE_HOME``): the file's
identity (size, times, inode) and a hash of every chunk, written before the chunk is sent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from coffre.client.upload import ChunkChanged, Uploader
from coffre.crypto import stream as cs
from coffre.errors import ConnectionFailed
from tests.malicious.conftest import CHUNK, Victim
from tests.malicious.harness import Exchange, Sent

N = 8
PUTS = r"/v1/uploads/(\w+)/chunks/(\d+)"


def new_data() -> bytes:
    return os.urandom(N * CHUNK - 100)


def fail_puts_from(victim: Victim, first: int) -> None:
    """The network drops every chunk PUT from index ``first`` (a single digit) on."""

    def drop(x: Exchange) -> httpx.Response:
        raise httpx.ConnectError("connection reset (by the test)", request=x.request)

    victim.server.answer("PUT", rf"/v1/uploads/\w+/chunks/[{first}-9]", drop)


def journal(home: Path) -> tuple[str, dict[str, Any]]:
    """The one unfinished upload's id and journal header."""
    (path,) = (home / "uploads").glob("*.json")
    return path.stem, json.loads(path.read_text())


def interrupted_upload(victim: Victim, home: Path, local: Path) -> tuple[str, dict[str, Any]]:
    fail_puts_from(victim, 3)
    with pytest.raises(ConnectionFailed):
        Uploader(victim.drive, chunk_size=CHUNK, workers=2).put(local, victim.drive.root(), "f.bin")
    victim.server.clear()
    upload_id, header = journal(home)
    assert victim.user.api.upload_state(upload_id).received == [0, 1, 2]
    return upload_id, header


def puts_by_chunk(victim: Victim, upload_id: str) -> dict[int, list[bytes]]:
    """Every chunk body the client sent for ``upload_id``, by index (failed sends too)."""
    sent: dict[int, list[bytes]] = defaultdict(list)
    for s in victim.server.requests("PUT", rf"/v1/uploads/{upload_id}/chunks/\d+"):
        sent[int(s.path.rsplit("/", 1)[1])].append(s.body)
    return sent


def check_one_plaintext_per_nonce(
    victim: Victim, upload_id: str, header: dict[str, Any], original: bytes
) -> dict[int, list[bytes]]:
    """Under the journal's key, each chunk index carried one ciphertext only: the original's."""
    key = base64.b64decode(header["content_key"])
    cipher = cs.ContentCipher(key, bytes.fromhex(header["content_id"]), header["chunk_size"])
    n = cs.chunk_count(len(original), CHUNK)
    sent = puts_by_chunk(victim, upload_id)
    for index, bodies in sent.items():
        assert len(set(bodies)) == 1, f"chunk {index} sent with two ciphertexts under one nonce"
        plain = cipher.decrypt_chunk(index, bodies[0], last=index == n - 1)
        assert plain == original[index * CHUNK : (index + 1) * CHUNK]
    return sent


def rewrite_in_place(path: Path, offset: int, data: bytes) -> None:
    """Change bytes inside the file, keeping its size, inode and modification time."""
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


def claim_nothing_received(victim: Victim, upload_id: str) -> None:
    victim.server.on_json(
        "GET", rf"/v1/uploads/{upload_id}", lambda body, _x: {**body, "received": []}
    )


def resumed(victim: Victim, upload_id: str) -> list[Sent]:
    return victim.server.requests("GET", rf"/v1/uploads/{upload_id}")


# -- fresh keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [N * CHUNK - 100, 300], ids=["large", "small"])
def test_a16_same_content_uploaded_twice_gets_two_keys(victim: Victim, size: int) -> None:
    data = os.urandom(size)
    x, y = victim.upload("x.bin", data), victim.upload("y.bin", data)
    assert x.version is not None and y.version is not None
    assert x.version.content_key != y.version.content_key
    assert x.version.content_id != y.version.content_id
    assert x.version.content_hash == y.version.content_hash  # same plaintext...
    assert x.record is not None and x.record.version is not None
    assert y.record is not None and y.record.version is not None
    assert x.record.version.header != y.record.version.header  # ...different commitments
    cx = [
        victim.user.api.get_chunk(x.record.version.id, i)
        for i in range(x.record.version.chunk_count)
    ]
    cy = [
        victim.user.api.get_chunk(y.record.version.id, i)
        for i in range(y.record.version.chunk_count)
    ]
    assert len(cx) == len(cy) == cs.chunk_count(size, CHUNK)
    assert all(a != b for a, b in zip(cx, cy, strict=True))


def test_a16_every_version_gets_a_new_key(victim: Victim) -> None:
    """Same bytes again, then other bytes: three versions, three keys, the first untouched."""
    data = os.urandom(3 * CHUNK)
    v1 = victim.upload("f.bin", data)
    v2 = victim.upload("f.bin", data, existing=v1)
    v3 = victim.upload("f.bin", os.urandom(3 * CHUNK), existing=v2)
    infos = [info for _, info in victim.drive.versions(v3)]
    assert len(infos) == 3
    assert len({i.content_key for i in infos}) == 3
    assert len({i.content_id for i in infos}) == 3
    assert v1.record is not None and v1.record.version is not None and v1.version is not None
    assert victim.download(v1).read_bytes() == data


# -- resumed uploads ----------------------------------------------------------------------


def test_a16_resume_refuses_to_encrypt_a_changed_chunk_under_the_old_key(
    victim: Victim, coffre_home: Path
) -> None:
    """The file changes in a way its identity does not show (the journal's identity is
    refreshed, as on a file system without a trustworthy ctime); the server claims it has
    no chunk. Only the per-chunk hashes stand between the client and a reused nonce."""
    original = new_data()
    local = victim.write("f.bin", original)
    upload_id, header = interrupted_upload(victim, coffre_home, local)
    recorded = (coffre_home / "uploads" / f"{upload_id}.chunks").read_text().split()
    assert "1" in recorded[::2]  # chunk 1 was hashed before it was sent

    rewrite_in_place(local, CHUNK + 10, b"CHANGED")
    changed = local.read_bytes()
    st = local.stat()
    header["file"].update(ctime_ns=st.st_ctime_ns)
    (coffre_home / "uploads" / f"{upload_id}.json").write_text(json.dumps(header))
    claim_nothing_received(victim, upload_id)

    with pytest.raises(ChunkChanged, match="chunk 1 differs"):
        Uploader(victim.drive, chunk_size=CHUNK, workers=2).put(local, victim.drive.root(), "f.bin")
    assert resumed(victim, upload_id)  # the resume did happen, with the old key
    sent = check_one_plaintext_per_nonce(victim, upload_id, header, original)
    assert len(sent[1]) == 1  # chunk 1 went out once, before the change, never after
    assert victim.server.requests("DELETE", rf"/v1/uploads/{upload_id}")  # abandoned
    assert list((coffre_home / "uploads").iterdir()) == []  # journal gone, key forgotten

    victim.server.clear()
    Uploader(victim.drive, chunk_size=CHUNK, workers=2).put(local, victim.drive.root(), "f.bin")
    entry = victim.drive.resolve("/f.bin")
    assert entry.version is not None and entry.record is not None
    assert entry.record.version is not None and entry.record.version.id != upload_id
    assert entry.version.content_key != base64.b64decode(header["content_key"])
    assert victim.download(entry).read_bytes() == changed
    check_one_plaintext_per_nonce(victim, upload_id, header, original)  # still true


def test_a16_resume_after_a_visible_change_starts_over(victim: Victim, coffre_home: Path) -> None:
    """Size and mtime restored, but the inode's ctime moved: a fresh upload, a fresh key."""
    original = new_data()
    local = victim.write("f.bin", original)
    upload_id, header = interrupted_upload(victim, coffre_home, local)
    rewrite_in_place(local, 0, b"CHANGED AT THE START")
    claim_nothing_received(victim, upload_id)

    Uploader(victim.drive, chunk_size=CHUNK, workers=2).put(local, victim.drive.root(), "f.bin")
    assert not resumed(victim, upload_id)
    assert victim.server.requests("DELETE", rf"/v1/uploads/{upload_id}")
    check_one_plaintext_per_nonce(victim, upload_id, header, original)
    entry = victim.drive.resolve("/f.bin")
    assert entry.version is not None
    assert entry.version.content_key != base64.b64decode(header["content_key"])
    assert victim.download(entry).read_bytes() == local.read_bytes()


def test_a16_resume_of_an_unchanged_file_resends_identical_ciphertext(
    victim: Victim, coffre_home: Path
) -> None:
    """The server forgets the chunks it holds: the client sends them again, byte for byte
    the same (same key, nonce and plaintext reveal nothing new), and the upload completes."""
    original = new_data()
    local = victim.write("f.bin", original)
    upload_id, header = interrupted_upload(victim, coffre_home, local)
    claim_nothing_received(victim, upload_id)

    Uploader(victim.drive, chunk_size=CHUNK, workers=2).put(local, victim.drive.root(), "f.bin")
    sent = check_one_plaintext_per_nonce(victim, upload_id, header, original)
    assert all(len(sent[i]) == 2 for i in (0, 1, 2))  # sent before the cut, and again
    entry = victim.drive.resolve("/f.bin")
    assert entry.record is not None and entry.record.version is not None
    assert entry.record.version.id == upload_id
    assert victim.download(entry).read_bytes() == original


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_chunk_hashes_are_synced_before_the_chunk_is_sent(
    victim: Victim, coffre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's chunk hashes reach the disk before the chunks leave the machine.

    Otherwise, after a power loss, the server could hold a chunk whose hash the journal
    lost, claim it lacks the chunk, and get it encrypted again, with no hash to compare,
    under the same key and nonce.
    """
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        with contextlib.suppress(OSError):
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    monkeypatch.setattr(os, "fdatasync", spy)
    local = victim.write("f.bin", new_data())
    upload_id, _ = interrupted_upload(victim, coffre_home, local)
    chunks_file = coffre_home / "uploads" / f"{upload_id}.chunks"
    assert len(chunks_file.read_text().splitlines()) >= 3  # hashes of the chunks sent
    assert any(s.endswith(f".{upload_id}.json.tmp") for s in synced)  # the header: synced
    assert any(s.endswith(".chunks") for s in synced)  # chunk hashes: synced too
