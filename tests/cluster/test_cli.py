"""The end-to-end CLI suite (tests/e2e/test_cli.py), once more against the cluster: every
command through nginx, its requests spread over both API processes, chunks moving straight
between the CLI and SeaweedFS."""

from __future__ import annotations

import pytest

from tests.e2e import test_cli as suite
from tests.scaleout import Cluster

pytestmark = pytest.mark.cluster

test_account_and_files_round_trip = suite.test_account_and_files_round_trip
test_move_copy_remove_restore_versions = suite.test_move_copy_remove_restore_versions
test_errors_are_one_line_with_exit_codes = suite.test_errors_are_one_line_with_exit_codes
test_sessions_password_recovery_logout = suite.test_sessions_password_recovery_logout
test_whole_tree_commands_keep_a_sealed_copy = suite.test_whole_tree_commands_keep_a_sealed_copy
test_a_full_disk_is_a_one_line_local_error = suite.test_a_full_disk_is_a_one_line_local_error


def test_the_suite_is_all_here() -> None:
    """Every test of the e2e CLI suite runs here too."""
    mine = {name for name in globals() if name.startswith("test_")}
    theirs = {name for name in dir(suite) if name.startswith("test_")}
    assert theirs <= mine


def test_requests_were_spread_over_both_processes(cluster: Cluster) -> None:
    """(Runs after the suite.) nginx sent requests to each API process, and no chunk went
    through either of them."""
    assert cluster.nginx is not None
    lines = (cluster.nginx.root / "access.log").read_text().splitlines()
    upstreams = {line.rsplit(" ", 1)[-1] for line in lines}
    for api in cluster.servers:
        assert f"127.0.0.1:{api.port}" in upstreams
    # Chunks of files kept in the object store went straight to it (the API served only
    # small files kept in its database, one chunk each).
    assert not [line for line in lines if "/chunks" in line and '"GET' not in line]
    assert not [line for line in lines if "/chunks?" in line]
    assert [line for line in lines if "/urls" in line]
