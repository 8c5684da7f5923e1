"""The machine's own limits, measured in the same run: AES-256-GCM and the disk.

- ``openssl speed -evp aes-256-gcm`` (one core) against Coffre's crypto core
  (coffre.crypto.stream.ContentCipher, one thread, in this process) encrypting and
  decrypting chunks of the same sizes: what encryption costs Coffre over the library floor.
- ``dd ... conv=fdatasync`` writing a file of the large-transfer size, then reading it back
  with its pages dropped from the cache first (posix_fadvise DONTNEED on that file alone,
  which leaves the rest of the machine's cache alone): the disk's streaming speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.config import MIB, Config, size_label
from bench.procs import run_timed
from bench.stats import Results, Target
from coffre.crypto import stream as cs

SIZES = (16 * 1024, MIB)
"""Block sizes: openssl speed's largest default one, and Coffre's default chunk size."""
SECONDS = 1.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def openssl_bytes_per_second(block: int, seconds: float = SECONDS) -> float:
    """``openssl speed -evp aes-256-gcm -bytes BLOCK`` on one core, in bytes a second."""
    out = subprocess.run(
        [
            "openssl",
            "speed",
            "-mr",
            "-evp",
            "aes-256-gcm",
            "-bytes",
            str(block),
            "-seconds",
            str(max(1, round(seconds))),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode()
    for line in out.splitlines():
        if line.startswith("+F:"):  # +F:N:AES-256-GCM:bytes-per-second
            return float(line.rsplit(":", 1)[1])
    raise RuntimeError(f"no result in openssl speed's output:\n{out}")


def coffre_bytes_per_second(block: int, *, decrypt: bool, seconds: float = SECONDS) -> float:
    """Coffre's content cipher over chunks of ``block`` bytes, one thread, bytes a second."""
    cipher = cs.ContentCipher(os.urandom(32), os.urandom(16), block)
    plaintext = os.urandom(block)
    sealed = [cipher.encrypt_chunk(i, plaintext, last=False) for i in range(64)]
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for i in range(64):
            if decrypt:
                cipher.decrypt_chunk(i, sealed[i], last=False)
            else:
                cipher.encrypt_chunk(i, plaintext, last=False)
        done += 64 * block
        elapsed = time.perf_counter() - start
    return done / elapsed


def dd_write(path: Path, size: int) -> float:
    """``dd if=/dev/zero of=PATH bs=1M count=N conv=fdatasync``: seconds, data on the disk."""
    return run_timed(
        [
            "dd",
            "if=/dev/zero",
            f"of={path}",
            "bs=1M",
            f"count={size // MIB}",
            "conv=fdatasync",
            "status=none",
        ]
    ).seconds


def drop_cached(path: Path) -> None:
    """Drop ``path``'s clean pages from the page cache (it was fdatasync'ed by dd)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def dd_read(path: Path) -> float:
    """``dd if=PATH of=/dev/null bs=1M`` after dropping the file from the cache: seconds."""
    drop_cached(path)
    return run_timed(["dd", f"if={path}", "of=/dev/null", "bs=1M", "status=none"]).seconds


def limits(cfg: Config, results: Results, work: Path) -> None:
    size = cfg.big_bytes
    results.note(
        "limits",
        "openssl speed -evp aes-256-gcm -bytes N (one core, -seconds 1) against Coffre's "
        "ContentCipher encrypting and decrypting chunks of N bytes for 1 s (one thread, in "
        f"the benchmark's process). dd bs=1M of {size_label(size)}: written with "
        "conv=fdatasync, then read back with that file's pages dropped from the cache first "
        "(posix_fadvise DONTNEED).",
    )
    for block in SIZES:
        tag = size_label(block).replace(" ", "").lower()
        results.target(Target(f"limits.enc_{tag}", f"limits.openssl_{tag}"))
        results.target(Target(f"limits.dec_{tag}", f"limits.openssl_{tag}"))
    path = work / "dd.bin"
    for run in range(cfg.runs):
        for block in SIZES:
            label = size_label(block)
            tag = label.replace(" ", "").lower()
            results.add(
                f"limits.openssl_{tag}",
                f"openssl speed aes-256-gcm, {label} blocks",
                "MB/s",
                openssl_bytes_per_second(block) / 1e6,
                higher=True,
            )
            for decrypt, verb in ((False, "enc"), (True, "dec")):
                results.add(
                    f"limits.{verb}_{tag}",
                    f"coffre ContentCipher {verb}rypt, {label} chunks",
                    "MB/s",
                    coffre_bytes_per_second(block, decrypt=decrypt) / 1e6,
                    higher=True,
                )
        write = size / dd_write(path, size) / 1e6
        results.add("limits.dd_write", "dd write, conv=fdatasync", "MB/s", write, higher=True)
        read = size / dd_read(path) / 1e6
        results.add("limits.dd_read", "dd read, file dropped from cache", "MB/s", read, higher=True)
        path.unlink()
        _log(f"[limits] run {run + 1}/{cfg.runs}: disk write {write:.0f}, read {read:.0f} MB/s")
