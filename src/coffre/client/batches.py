"""Grouping many small files into requests of bounded size."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(
    items: Iterable[T], size: Callable[[T], int], max_items: int, max_bytes: int
) -> Iterator[list[T]]:
    """``items`` in order, in batches of at most ``max_items`` and ``max_bytes`` (by
    ``size``), or one item alone if it is larger. Items are taken as batches are asked
    for, so that a lazy ``items`` is worked on batch by batch."""
    batch: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and (len(batch) >= max_items or total + n > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch
