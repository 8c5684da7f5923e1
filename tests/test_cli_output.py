"""How the command line writes times: never failing on a moment it cannot represent."""

from __future__ import annotations

import time

from coffre.cli.output import local_time


def test_a_moment_is_shown_in_local_time_to_the_minute() -> None:
    now = time.time()
    assert local_time(now) == time.strftime("%Y-%m-%d %H:%M", time.localtime(now))


def test_a_moment_past_what_the_system_represents_is_shown_as_seconds() -> None:
    # A modification time or an expiry chosen by another device or by the server: the
    # listing still prints (time.localtime raised OverflowError or OSError).
    assert local_time(1e300) == "@" + f"{1e300:.0f}"
    assert local_time(-1e300).startswith("@-")
