"""What the benchmarks transfer: random bytes on disk, and a large tree on a server.

Content is random (os.urandom): compressible data would flatter. Files are written just
before the runs and stay in the page cache (the machine has far more memory than they
take), so the timed runs read them from memory, not from the disk.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from coffre.client.drive import Drive, Entry
from coffre.crypto import account as ca
from coffre.crypto import nodes as cn
from coffre.crypto import stream as cs
from coffre.protocol import models as m

PIECE = 16 << 20
FOLDER_SHARE = 10  # one node in ten is a folder
FANOUT = 10  # folders per folder, breadth first
FOLDER_BATCH = 2_000
FILE_BATCH = 1_000
FILE_BYTES = 100


def random_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        left = size
        while left:
            piece = min(left, PIECE)
            f.write(os.urandom(piece))
            left -= piece


def random_files(folder: Path, count: int, size: int) -> None:
    """``count`` files of ``size`` random bytes, flat in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"f{i:05d}.bin").write_bytes(os.urandom(size))


def build_tree(drive: Drive, nodes: int, top_name: str = "tree") -> tuple[float, float]:
    """Create ``nodes`` nodes below the root: a folder ``top_name`` holding a tree in which
    one node in ten is a folder (ten sub-folders a folder, breadth first) and the rest are
    small files spread over all folders. Folders go in batches through the copy call (a
    folder copy carries no content), files through the small-files call, each sealed as
    coffre.client.upload.Uploader.put_small seals them. Returns the seconds the folders
    took, and the files.
    """
    start = time.perf_counter()
    folders: list[Entry] = [drive.mkdir(drive.root(), top_name)]
    plan: list[m.CopiedNode] = []
    for k in range(1, max(1, nodes // FOLDER_SHARE)):
        parent = folders[(k - 1) // FANOUT]
        name = f"d{k:06d}"
        request, key = drive.new_node(parent, name, cn.Kind.FOLDER)
        folders.append(Entry(request.id, parent.id, "folder", name, key))
        plan.append(m.CopiedNode(**request.model_dump(), kind="folder"))
    for i in range(0, len(plan), FOLDER_BATCH):
        drive.api.copy(m.CopyRequest(nodes=plan[i : i + FOLDER_BATCH]))
    folders_done = time.perf_counter()
    batch: list[m.SmallFile] = []
    for j in range(nodes - len(folders)):
        batch.append(_small_file(drive, folders[j % len(folders)], f"f{j:06d}.txt"))
        if len(batch) == FILE_BATCH:
            drive.api.small_files(m.SmallFilesRequest(files=batch))
            batch = []
    if batch:
        drive.api.small_files(m.SmallFilesRequest(files=batch))
    return folders_done - start, time.perf_counter() - folders_done


def _small_file(drive: Drive, parent: Entry, name: str) -> m.SmallFile:
    data = os.urandom(FILE_BYTES)
    content_key, content_id, version_id = ca.new_key(), ca.new_id(), ca.new_id()
    header, chunks = cs.encrypt_all(content_key, content_id, data)
    node, node_key = drive.new_node(parent, name, cn.Kind.FILE)
    info = cn.VersionInfo(
        content_key=content_key,
        content_id=content_id,
        size=len(data),
        mtime_ms=int(time.time() * 1000),
        media_type="text/plain",
        content_hash=cs.content_hash([cs.chunk_digest(data)]),
        chunk_size=cs.DEFAULT_CHUNK_SIZE,
    )
    return m.SmallFile(
        node=node,
        version=m.NewVersion(
            id=version_id.hex(),
            header=header,
            content_id=content_id.hex(),
            chunk_size=cs.DEFAULT_CHUNK_SIZE,
            chunk_count=1,
            size=len(chunks[0]),
        ),
        envelope=cn.seal_version(node_key, bytes.fromhex(node.id), version_id, info),
        data=chunks[0],
    )
