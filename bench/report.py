"""The run's results as a text table and as JSON, with what was measured and where."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.stats import Metric, Results, Verdict

REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.decode().strip()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine(cfg: Config, versions: dict[str, str]) -> dict[str, Any]:
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"),
        "src_modified": bool(dirty and dirty != "unknown"),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_start": _loadavg(),
        "versions": versions,
        "runs": cfg.runs,
        "sizes": {
            "big_bytes": cfg.big_bytes,
            "small_count": cfg.small_count,
            "small_bytes": cfg.small_bytes,
            "tree_nodes": cfg.tree_nodes,
        },
    }


def finish(meta: dict[str, Any]) -> None:
    """Note the commit again at the end: src changed during the run if it differs."""
    meta["loadavg_end"] = _loadavg()
    meta["commit_after"] = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src")
    meta["src_modified_after"] = bool(dirty and dirty != "unknown")


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def _row(m: Metric) -> str:
    return f"  {m.label:<44} {m.unit:>7} {_num(m.min):>9} {_num(m.median):>9} {_num(m.max):>9}"


def _verdict(v: Verdict, metrics: dict[str, Metric]) -> str:
    metric = metrics[v.target.metric]
    base = metrics[v.target.baseline].label if v.target.baseline in metrics else "-"
    value = f"{v.target.stat} {_num(v.value)} {metric.unit}"
    ratio = f"{v.ratio:.2f}x" if v.ratio is not None else "-"
    spread = f"{v.paired[0]:.2f}-{v.paired[1]:.2f}" if v.paired else "-"
    wants: list[str] = []
    if v.target.ratio is not None:
        wants.append(f"{'>=' if metric.higher_is_better else '<='} {v.target.ratio:g}x")
    if v.target.limit is not None:
        wants.append(f"{'>=' if metric.higher_is_better else '<'} {v.target.limit:g} {metric.unit}")
    result = "met" if v.ok else "MISSED" if v.ok is False else "-"
    return (
        f"  {metric.label:<44} {value:>18}  {base:<44} {ratio:>6} {spread:>11}"
        f"  {', '.join(wants) or '-':<12} {result}"
    )


def text(results: Results, meta: dict[str, Any]) -> str:
    lines = [
        f"Coffre benchmarks, {meta['date']}, commit {meta['commit'][:12]}"
        + (" (src modified)" if meta["src_modified"] else "")
        + (
            f"; at the end {meta['commit_after'][:12]}"
            + (" (src modified)" if meta["src_modified_after"] else "")
            if meta.get("commit_after") not in (None, meta["commit"])
            else ""
        ),
        f"{meta['cpu']}, {meta['cores']} cores, Python {meta['python']}; "
        f"{meta['runs']} runs each; MB = 10^6 bytes, MiB = 2^20",
        f"load average (1, 5, 15 min) at the start {meta['loadavg_start']}, "
        f"at the end {meta.get('loadavg_end', '?')}: other work on this machine shares its cores",
        "",
        f"  {'metric':<44} {'unit':>7} {'min':>9} {'median':>9} {'max':>9}",
    ]
    group = ""
    for m in results.metrics.values():
        prefix = m.key.split(".", 1)[0]
        if prefix != group:
            group = prefix
            lines += ["", f"[{group}] {results.notes.get(group, '')}"]
        lines.append(_row(m))
    lines += [
        "",
        "Targets (ratio: of the two medians, or maxima for memory; per run: the ratio in each run)",
        f"  {'metric':<44} {'value':>18}  {'baseline':<44} {'ratio':>6} {'per run':>11}"
        f"  {'target':<12} result",
    ]
    lines += [_verdict(v, results.metrics) for v in results.verdicts()]
    return "\n".join(lines)


def to_json(results: Results, meta: dict[str, Any]) -> str:
    body = {
        "meta": meta,
        "notes": results.notes,
        "metrics": {k: m.as_json() for k, m in results.metrics.items()},
        "targets": [v.as_json() for v in results.verdicts()],
    }
    return json.dumps(body, indent=2)
