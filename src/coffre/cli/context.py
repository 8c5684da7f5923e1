"""What every command needs: the server's address, the session, passwords, the drive."""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from coffre.client.account import AccountKeys, open_keys
from coffre.client.api import Api
from coffre.client.state import SavedSession, load_session, tree_copy_path
from coffre.errors import NotFound, Unauthenticated, UsageError

if TYPE_CHECKING:  # imported when a command first needs the drive: not on login's path
    from coffre.client.drive import Drive

DEFAULT_SERVER = "http://127.0.0.1:8080"
_SHARED_PATH = re.compile(r"^([^/:@\s]+@[^/:\s]+):(.*)$")


def retry_for() -> float:
    """Seconds to keep retrying when the server is unreachable (env COFFRE_RETRY_FOR)."""
    try:
        seconds = float(os.environ.get("COFFRE_RETRY_FOR", "20"))
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):  # "nan" and "inf" parse, and would mean never or 0
        raise UsageError("COFFRE_RETRY_FOR must be a number of seconds")
    return max(0.0, seconds)


def server_address(text: str) -> str:
    """``--server`` (or COFFRE_SERVER) as the API's base URL: http or https, a host, a valid
    port; a usage error otherwise (it was an internal error from deep in the client)."""
    address = text.strip()
    try:
        parts = urlsplit(address)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(
            f"{text!r} is not a server address (like https://coffre.example or "
            "http://127.0.0.1:8080)"
        )
    return address.rstrip("/")


@dataclass
class CliContext:
    server_option: str | None
    _stdin_lines: list[str] | None = field(default=None, repr=False)
    _drive: Drive | None = field(default=None, repr=False)

    def server(self, session: SavedSession | None = None) -> str:
        if self.server_option:
            return server_address(self.server_option)
        return ((session.server if session else None) or DEFAULT_SERVER).rstrip("/")

    def api(self, session: SavedSession | None = None) -> Api:
        """An API client: for ``session`` (its server and token), or anonymous."""
        token = session.token if session else None
        return Api(self.server(session), token=token, retry_for=retry_for())

    def session(self) -> SavedSession:
        session = load_session()
        if session is None:
            raise Unauthenticated("not_logged_in", "not logged in; run 'coffre login EMAIL' first")
        if self.server_option and self.server_option.rstrip("/") != session.server:
            raise Unauthenticated(
                "not_logged_in",
                f"logged in to {session.server}, not {self.server_option}; log in there first",
            )
        return session

    def drive(self) -> Drive:
        if self._drive is None:
            from coffre.client.drive import Drive
            from coffre.client.tree_copy import TreeCopy

            session = self.session()
            api = self.api(session)
            keys: AccountKeys = open_keys(session.master_key, api.keys())
            copy = TreeCopy(tree_copy_path(keys.user_id), keys.master_key, keys.user_id)
            self._drive = Drive(api, keys, copy)
        return self._drive

    def locate(self, path: str) -> tuple[Drive, str]:
        """The drive a remote path is in, and the path within it.

        ``OWNER_EMAIL:FOLDER/REST`` (MEGAcmd's convention) names a path inside a folder
        someone shared with this account; any other path is in one's own tree.
        """
        match = _SHARED_PATH.match(path)
        if match is None:
            return self.drive(), path
        from coffre.client.sharing import ShareDrive, find_incoming

        owner, rest = match.group(1), match.group(2).strip("/")
        folder, _, inside = rest.partition("/")
        if not folder:
            raise UsageError(f"{path}: name the shared folder, as in {owner}:FOLDER/PATH")
        found = find_incoming(self.drive(), owner, folder)
        if not found:
            raise NotFound(
                "share_not_found", f"{owner} shares no folder called {folder!r} with you"
            )
        return ShareDrive(self.drive(), found[0]), inside

    # -- secrets from the user ------------------------------------------------------------

    def stdin_line(self, what: str) -> str:
        if self._stdin_lines is None:
            self._stdin_lines = sys.stdin.read().splitlines()
        if not self._stdin_lines:
            raise UsageError(f"expected the {what} on standard input")
        return self._stdin_lines.pop(0)

    def secret(self, what: str, env: str, *, from_stdin: bool, confirm: bool = False) -> str:
        """A password: from standard input, the environment, or a prompt, in that order."""
        if from_stdin:
            value = self.stdin_line(what)
        elif os.environ.get(env):
            value = os.environ[env]
        elif sys.stdin.isatty():
            value = click.prompt(what.capitalize(), hide_input=True, confirmation_prompt=confirm)
        else:
            raise UsageError(f"no {what}: use --password-stdin, set {env}, or run in a terminal")
        if not value:
            raise UsageError(f"the {what} is empty")
        return value


pass_cli = click.make_pass_decorator(CliContext)
