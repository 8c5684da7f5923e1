"""Server settings from the environment: typed and checked."""

from __future__ import annotations

import pytest

from coffre.errors import UsageError
from coffre.server.config import Settings


def test_settings_come_from_their_variables() -> None:
    settings = Settings.from_env({"COFFRE_REQUEST_THREADS": "3", "COFFRE_PORT": "9000"})
    assert (settings.request_threads, settings.port) == (3, 9000)
    unset = Settings.from_env({})
    assert unset.request_threads == 0  # by database:
    assert unset.request_threads_for(sqlite=True) == 3
    assert unset.request_threads_for(sqlite=False) == 8
    assert settings.request_threads_for(sqlite=True) == 3
    assert settings.request_threads_for(sqlite=False) == 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COFFRE_PORT": "eighty"}, "COFFRE_PORT must be a whole number, not 'eighty'"),
        ({"COFFRE_REQUEST_THREADS": "4.5"}, "COFFRE_REQUEST_THREADS must be a whole number"),
        ({"COFFRE_REQUEST_THREADS": "0"}, "COFFRE_REQUEST_THREADS must be at least 1, not 0"),
        ({"COFFRE_REQUEST_THREADS": "-2"}, "COFFRE_REQUEST_THREADS must be at least 1, not -2"),
        # No count, size or time is below zero (a quota of -5 was taken), and no size
        # limit of a request or a chunk, nor the pool of connections, is zero.
        ({"COFFRE_STORAGE_QUOTA": "-5"}, "COFFRE_STORAGE_QUOTA must be at least 0, not -5"),
        ({"COFFRE_GC_INTERVAL": "-1"}, "COFFRE_GC_INTERVAL must be at least 0, not -1"),
        ({"COFFRE_MAX_CHUNK_SIZE": "0"}, "COFFRE_MAX_CHUNK_SIZE must be at least 1, not 0"),
        ({"COFFRE_MAX_JSON_BYTES": "0"}, "COFFRE_MAX_JSON_BYTES must be at least 1, not 0"),
        ({"COFFRE_DB_POOL_SIZE": "0"}, "COFFRE_DB_POOL_SIZE must be at least 1, not 0"),
    ],
)
def test_a_bad_number_is_refused_with_its_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Settings.from_env(env)
