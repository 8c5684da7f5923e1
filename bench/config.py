"""How big and how often: the full suite's sizes, and the quick ones for development."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30
MIB = 1 << 20
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, slots=True)
class Config:
    runs: int = 5
    big_bytes: int = GIB
    small_count: int = 10_000
    small_bytes: int = 4096
    tree_nodes: int = 100_000
    heavy_runs: int = 3
    """Runs of the long benchmarks (ops, parallel): fewer, so that a full run stays short."""
    ops_clients: int = 100
    ops_seconds: float = 60.0
    parallel_uploads: int = 8
    parallel_bytes: int = GIB
    profile: bool = False
    results: Path = RESULTS
    tmp: Path = Path("/tmp")

    @classmethod
    def make(
        cls, *, quick: bool, runs: int | None, profile: bool, results: Path, tmp: Path
    ) -> Config:
        if quick:
            return cls(
                runs=runs or 2,
                big_bytes=64 * MIB,
                small_count=1_000,
                tree_nodes=5_000,
                heavy_runs=min(runs or 1, 2),
                ops_clients=20,
                ops_seconds=10.0,
                parallel_bytes=64 * MIB,
                profile=profile,
                results=results,
                tmp=tmp,
            )
        return cls(
            runs=runs or 5,
            heavy_runs=min(runs or 3, 3),
            profile=profile,
            results=results,
            tmp=tmp,
        )


def size_label(n: int) -> str:
    if n >= GIB and n % GIB == 0:
        return f"{n // GIB} GiB"
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"
