"""Server settings: read once, typed, each with its help text.

Every setting can come from an environment variable; ``coffre serve`` options override
them. docs/deploy.md lists them all (a test checks that it does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class Setting:
    env: str
    help: str


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("coffre-data")
    database_url: str = ""
    blobs: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    storage_quota: int = 20 * GIB
    upload_expiry: int = 24 * 3600
    gc_interval: int = 600
    min_chunk_size: int = 64 * 1024
    max_chunk_size: int = 16 * 1024 * 1024
    max_json_bytes: int = 4 * 1024 * 1024
    max_range_bytes: int = 64 * 1024 * 1024
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    login_window: int = 15 * 60
    trusted_proxies: str = ""
    transfer_quota: int = 100 * GIB
    transfer_window: int = 24 * 3600
    link_opens_per_address: int = 600
    link_failures_per_link: int = 20

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'coffre.db'}"

    @property
    def resolved_blobs(self) -> str:
        return self.blobs or str(self.data_dir / "blobs")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            setting = DOCS[f.name]
            if setting.env in env:
                values[f.name] = _PARSERS[type(getattr(cls(), f.name))](env[setting.env])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


_PARSERS: dict[type, Callable[[str], Any]] = {
    str: str,
    int: int,
    bool: _bool,
    Path: Path,
    type(Path()): Path,
}

DOCS: dict[str, Setting] = {
    "data_dir": Setting(
        "COFFRE_DATA", "Folder for the embedded database and blobs (default ./coffre-data)."
    ),
    "database_url": Setting(
        "COFFRE_DATABASE_URL",
        "SQLAlchemy URL of the metadata database (default sqlite:///DATA/coffre.db).",
    ),
    "blobs": Setting("COFFRE_BLOBS", "Where encrypted chunks are kept (default DATA/blobs)."),
    "host": Setting("COFFRE_HOST", "Address to listen on (default 127.0.0.1)."),
    "port": Setting("COFFRE_PORT", "TCP port to listen on (default 8080)."),
    "storage_quota": Setting(
        "COFFRE_STORAGE_QUOTA", "Storage quota of a new account, in bytes (default 20 GiB)."
    ),
    "upload_expiry": Setting(
        "COFFRE_UPLOAD_EXPIRY",
        "Seconds an unfinished upload is kept before its chunks are collected (default 86400).",
    ),
    "gc_interval": Setting(
        "COFFRE_GC_INTERVAL", "Seconds between garbage-collection passes (default 600; 0: off)."
    ),
    "min_chunk_size": Setting(
        "COFFRE_MIN_CHUNK_SIZE", "Smallest plaintext chunk size accepted (default 65536)."
    ),
    "max_chunk_size": Setting(
        "COFFRE_MAX_CHUNK_SIZE", "Largest plaintext chunk size accepted (default 16 MiB)."
    ),
    "max_json_bytes": Setting(
        "COFFRE_MAX_JSON_BYTES", "Largest JSON request body accepted (default 4 MiB)."
    ),
    "max_range_bytes": Setting(
        "COFFRE_MAX_RANGE_BYTES",
        "Largest body of a ranged chunk upload, several chunks in one request (default 64 MiB).",
    ),
    "login_failures_per_account": Setting(
        "COFFRE_LOGIN_FAILURES_PER_ACCOUNT",
        "Failed logins allowed per account in the login window (default 10).",
    ),
    "login_failures_per_address": Setting(
        "COFFRE_LOGIN_FAILURES_PER_ADDRESS",
        "Failed logins allowed per client address in the login window (default 50).",
    ),
    "login_window": Setting(
        "COFFRE_LOGIN_WINDOW", "Seconds over which failed logins are counted (default 900)."
    ),
    "transfer_quota": Setting(
        "COFFRE_TRANSFER_QUOTA",
        "Bytes an account's public links may serve per transfer window (default 100 GiB).",
    ),
    "transfer_window": Setting(
        "COFFRE_TRANSFER_WINDOW",
        "Seconds over which link transfers are counted, rolling (default 86400).",
    ),
    "link_opens_per_address": Setting(
        "COFFRE_LINK_OPENS_PER_ADDRESS",
        "Links a client address may open per login window (default 600).",
    ),
    "link_failures_per_link": Setting(
        "COFFRE_LINK_FAILURES_PER_LINK",
        "Wrong keys or passwords allowed per link in the login window (default 20).",
    ),
    "trusted_proxies": Setting(
        "COFFRE_TRUSTED_PROXIES",
        "Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
        "(default: none; the peer's address is the client's).",
    ),
}
