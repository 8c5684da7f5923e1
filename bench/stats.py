"""Samples, their summaries, and the comparisons a run is judged by."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Literal

Stat = Literal["median", "max", "min"]


@dataclass(slots=True)
class Metric:
    """One measured quantity, one value per run."""

    key: str
    label: str
    unit: str
    higher_is_better: bool
    values: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def stat(self, which: Stat) -> float:
        return {"median": self.median, "max": self.max, "min": self.min}[which]

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "values": self.values,
            "min": self.min,
            "median": self.median,
            "max": self.max,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """What a metric is judged by: a ratio to a baseline measured in the same run, or a limit.

    ``ratio``: the metric over the baseline (medians) must be at least this (for "higher is
    better" metrics) or at most this (for "lower is better" ones); None means the ratio is
    only reported. ``limit``: an absolute bound on the metric's ``stat``.
    """

    metric: str
    baseline: str | None = None
    ratio: float | None = None
    limit: float | None = None
    stat: Stat = "median"


@dataclass(frozen=True, slots=True)
class Verdict:
    target: Target
    value: float
    ratio: float | None
    paired: tuple[float, float] | None
    ok: bool | None

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.target.metric,
            "baseline": self.target.baseline,
            "stat": self.target.stat,
            "value": self.value,
            "ratio": self.ratio,
            "ratio_per_run_min_max": list(self.paired) if self.paired else None,
            "target_ratio": self.target.ratio,
            "target_limit": self.target.limit,
            "met": self.ok,
        }


class Results:
    """Every metric of a run, in the order they were first recorded, and the targets."""

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}
        self.targets: list[Target] = []
        self.notes: dict[str, str] = {}

    def add(self, key: str, label: str, unit: str, value: float, *, higher: bool) -> None:
        metric = self.metrics.get(key)
        if metric is None:
            metric = self.metrics[key] = Metric(key, label, unit, higher)
        metric.values.append(value)

    def target(self, target: Target) -> None:
        if target not in self.targets:
            self.targets.append(target)

    def note(self, key: str, text: str) -> None:
        self.notes[key] = text

    def verdicts(self) -> list[Verdict]:
        out: list[Verdict] = []
        for target in self.targets:
            metric = self.metrics.get(target.metric)
            if metric is None or not metric.values:
                continue
            value = metric.stat(target.stat)
            ratio: float | None = None
            paired: tuple[float, float] | None = None
            ok: bool | None = None
            base = self.metrics.get(target.baseline) if target.baseline else None
            if target.baseline and base is None and target.limit is None:
                continue  # the baseline's benchmark did not run
            if base is not None and base.values:
                ratio = value / base.stat(target.stat)
                pairs = [a / b for a, b in zip(metric.values, base.values, strict=False) if b]
                paired = (min(pairs), max(pairs)) if pairs else None
                if target.ratio is not None:
                    ok = ratio >= target.ratio if metric.higher_is_better else ratio <= target.ratio
            if target.limit is not None:
                within = value >= target.limit if metric.higher_is_better else value < target.limit
                ok = within if ok is None else ok and within
            out.append(Verdict(target, value, ratio, paired, ok))
        return out
