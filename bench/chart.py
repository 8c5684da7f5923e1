"""The results as a PNG: each target's score, and progress across earlier result files.

A score puts every target on one scale: what was measured over what the target needs, so
that 1 is the target exactly and more is better, whatever the unit: for "at least 2x the
peer", a ratio of 1.5x scores 0.75; for "under 300 MiB", 150 MiB scores 2. Earlier result
files (``--compare``) are scored against today's targets, so that versions line up even
where a target changed since.

    python -m bench.chart RESULT.json [EARLIER.json ...] -o CHART.png
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CAP = 20.0  # scores are drawn up to this (zero errors under a limit scores infinity)
FLOOR = 0.01

Run = dict[str, Any]


def _key(target: dict[str, Any]) -> tuple[str, str | None, str]:
    return target["metric"], target["baseline"], target["stat"]


def _higher(run: Run, metric: str) -> bool:
    return bool(run["metrics"].get(metric, {}).get("higher_is_better", True))


def score(run: Run, target: dict[str, Any], wanted: dict[str, Any]) -> float | None:
    """``target``'s measurement (from ``run``) against the target ``wanted`` sets."""
    higher = _higher(run, target["metric"])
    parts: list[float] = []
    if wanted.get("target_ratio") is not None and target.get("ratio"):
        r, goal = target["ratio"], wanted["target_ratio"]
        parts.append(r / goal if higher else goal / r)
    if wanted.get("target_limit") is not None and target.get("value") is not None:
        v, limit = target["value"], wanted["target_limit"]
        if higher:
            parts.append(v / limit)
        else:
            parts.append(limit / v if v > 0 else math.inf)
    if not parts:
        return None
    return min(parts)


def _label(run: Run, target: dict[str, Any]) -> str:
    metrics = run["metrics"]
    what = metrics.get(target["metric"], {}).get("label", target["metric"])
    text = f"{target['metric'].split('.')[0]}: {what}"
    if target["baseline"]:
        base = metrics.get(target["baseline"], {}).get("label", target["baseline"])
        text += f"\nvs {base}"
    return text


def _needs(run: Run, target: dict[str, Any]) -> str:
    metric = run["metrics"].get(target["metric"], {})
    unit, higher = metric.get("unit", ""), metric.get("higher_is_better", True)
    out = []
    if target.get("ratio") is not None and target["baseline"]:
        got = f"{target['ratio']:.2f}x"
        if target.get("target_ratio") is not None:
            got += f" (needs {'≥' if higher else '≤'} {target['target_ratio']:g}x)"
        out.append(got)
    if target.get("target_limit") is not None:
        out.append(
            f"{target['value']:.3g} {unit} (needs {'≥' if higher else '<'} "
            f"{target['target_limit']:g} {unit})"
        )
    return "; ".join(out)


def _version(run: Run) -> str:
    meta = run["meta"]
    mark = "+" if meta.get("src_modified") else ""
    big = meta.get("sizes", {}).get("big_bytes", 0)
    size = f", {big / (1 << 20):.0f} MiB files" if big else ""
    return f"{meta['commit'][:7]}{mark} {meta['date'][:16]} ({meta.get('runs', '?')} runs{size})"


def draw(current: Run, earlier: Sequence[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    wanted = [
        t
        for t in current["targets"]
        if t.get("target_ratio") is not None or t.get("target_limit") is not None
    ]
    others = [t for t in current["targets"] if t not in wanted and t.get("ratio")]
    runs = [*earlier, current]
    rows = len(wanted) + len(others)
    height = 1.2 + 0.42 * rows * (1 + 0.35 * (len(runs) - 1))
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(13, max(5.0, height)),
        gridspec_kw={"height_ratios": [max(1, len(wanted) * len(runs)), max(1, len(others))]},
    )
    _scores(top, runs, wanted)
    _ratios(bottom, current, others)
    meta = current["meta"]
    fig.suptitle(
        f"Coffre benchmarks, {meta['date']}, commit {meta['commit'][:12]}"
        f"{' (src modified)' if meta.get('src_modified') else ''}; {meta['cores']} cores, "
        f"load {meta.get('loadavg_start', '?')} → {meta.get('loadavg_end', '?')}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _scores(ax: Any, runs: Sequence[Run], wanted: Sequence[dict[str, Any]]) -> None:
    current = runs[-1]
    n = len(runs)
    bar = 0.8 / n
    labels = []
    for row, target in enumerate(reversed(wanted)):
        labels.append(_label(current, target))
        for i, run in enumerate(runs):
            found = next((t for t in run["targets"] if _key(t) == _key(target)), None)
            value = None if found is None else score(run, found, target)
            if found is None or value is None:
                continue
            y = row + (i - (n - 1) / 2) * bar
            shown = min(max(value, FLOOR), CAP)
            latest = i == n - 1
            colour = ("#2e7d32" if value >= 1 else "#c62828") if latest else "#9e9e9e"
            ax.barh(
                y, shown, height=bar * 0.9, color=colour, alpha=1 if latest else 0.4 + 0.5 * i / n
            )
            text = _needs(run, found) if latest else _version(run)
            ax.text(shown * 1.05, y, text, va="center", fontsize=7)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(FLOOR, CAP * 4)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    versions = ", ".join(_version(r) for r in runs[:-1])
    ax.set_title(
        "Targets: measured / needed (1 = target; right of the line is met; green met, red "
        "missed" + (f"; grey: earlier runs {versions}" if versions else "") + ")",
        fontsize=9,
    )


def _ratios(ax: Any, current: Run, others: Sequence[dict[str, Any]]) -> None:
    labels = []
    for row, target in enumerate(reversed(others)):
        labels.append(_label(current, target))
        ax.barh(row, target["ratio"], height=0.7, color="#1565c0")
        ax.text(target["ratio"] * 1.05, row, f"{target['ratio']:.2f}x", va="center", fontsize=7)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(FLOOR, CAP * 4)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_title("Ratios to baselines with no target (reported only)", fontsize=9)


def load(path: Path) -> Run:
    run: Run = json.loads(path.read_text())
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chart", description=__doc__)
    parser.add_argument("current", type=Path)
    parser.add_argument("earlier", type=Path, nargs="*")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    draw(load(args.current), [load(p) for p in args.earlier], args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
