"""python -m bench.perf_split: perf's samples split by process, thread and library."""

from __future__ import annotations

import pytest
from bench import perf_split
from bench.perf_split import parse, summary

LINES = [
    "         swapper     0/0     ffffffff8210c0c6 pv_native_safe_halt ([kernel.kallsyms])",
    "          coffre   100/100   ffffffff821eb5f6 _copy_to_iter ([kernel.kallsyms])",
    "          coffre   100/100   7f00 __memmove_avx512_unaligned_erms (/usr/lib/libc.so.6)",
    "          coffre   100/101   7f01 _PyEval_EvalFrameDefault (/opt/lib/libpython3.11.so.1.0)",
    "          coffre   100/102   ffffffff81 copy_folio_from_iter_atomic ([kernel.kallsyms])",
    "          coffre   200/200   7f02 [unknown] (/usr/lib/x86_64-linux-gnu/libcrypto.so.3)",
    "kworker/1:2H-kb   77/77    ffffffff81 blk_mq_run_hw_queue ([kernel.kallsyms])",
    "not a sample line",
]


def test_perf_script_lines_are_read_as_samples() -> None:
    samples = parse(LINES)
    assert len(samples) == 7
    assert samples[2].comm == "coffre" and (samples[2].pid, samples[2].tid) == (100, 100)
    assert samples[2].symbol == "__memmove_avx512_unaligned_erms"
    assert samples[2].library == "libc.so.6"
    assert samples[6].comm == "kworker/1:2H-kb"


def test_the_summary_splits_the_server_by_thread_and_names_the_command() -> None:
    lines = summary(parse(LINES), server_pid=100, title="coffre put")
    assert lines[0].startswith("coffre put: 7 samples")
    assert lines[1] == "  idle: 1 (14.3%)"
    assert lines[2].startswith("  coffre serve: 4: kernel 50%, libc 25%, libpython 25%")
    assert lines[3].startswith("    event loop (main thread), 1 thread: 2 (50% of the server's)")
    assert any(line.startswith("    threads mostly in Python, 1 thread: 1") for line in lines)
    assert any(
        line.startswith("    threads mostly in the kernel (I/O), 1 thread: 1") for line in lines
    )
    assert lines[-1].startswith("  the command: 1: libcrypto 100%")


def test_without_perf_it_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(perf_split.shutil, "which", lambda _name: None)
    assert perf_split.main(["--mib", "1"]) == 2
    assert "apt-get install linux-perf" in capsys.readouterr().out
