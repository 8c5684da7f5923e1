"""The profile summaries kept with the benchmark results name no path of the machine."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import profile
from bench.procs import BIN


def test_a_summary_loses_the_virtualenv_the_checkout_and_the_temporary_folder() -> None:
    temporary = Path(tempfile.gettempdir())
    line = (
        f"# {BIN}/coffre put -q {temporary}/coffre-bench-x/small /small-p; "
        f"{profile.REPO}/src/coffre/client/upload.py"
    )
    assert profile._scrub(line) == (
        "# coffre put -q TMP/coffre-bench-x/small /small-p; src/coffre/client/upload.py"
    )
