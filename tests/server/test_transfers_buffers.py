"""The pool of chunk buffers: reused by size, bounded in bytes."""

from __future__ import annotations

from coffre.server.chunk_buffers import BufferPool


def test_a_buffer_given_back_is_taken_again_for_its_size() -> None:
    pool = BufferPool(keep_bytes=100)
    first = pool.take(40)
    assert len(first) == 40
    pool.give(first)
    assert pool.kept == 40
    assert pool.take(30) is not first  # another size: a new buffer
    assert pool.take(40) is first
    assert pool.kept == 0
    assert pool.take(40) is not first  # taken once only


def test_the_pool_keeps_no_more_than_its_bound() -> None:
    pool = BufferPool(keep_bytes=100)
    buffers = [pool.take(40) for _ in range(3)]
    for buffer in buffers:
        pool.give(buffer)
    assert pool.kept == 80
    assert {id(pool.take(40)), id(pool.take(40))} == {id(buffers[0]), id(buffers[1])}
    assert pool.take(40) is not buffers[2]
