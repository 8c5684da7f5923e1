"""Sample mail (the .eml files here), a real SMTP server that keeps what it is sent, and a
real IMAP server (Debian's Dovecot, started on a loopback port with a configuration of
its own)."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HERE = Path(__file__).parent


def sample(name: str, **values: str) -> bytes:
    """A sample message with its ``{{PLACEHOLDERS}}`` filled in (all must be given)."""
    text = (HERE / f"{name}.eml").read_text()
    for key, value in values.items():
        text = text.replace("{{" + key.upper() + "}}", value)
    assert "{{" not in text, f"{name}.eml: a placeholder was not given"
    return text.replace("\n", "\r\n").encode()


def parse(data: bytes) -> EmailMessage:
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(data)
    return msg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated: bool = False

    @property
    def message(self) -> EmailMessage:
        return parse(self.data)


@dataclass
class SmtpSink:
    """An SMTP server (aiosmtpd) on a loopback port that keeps every message it accepts.
    ``refuse`` lists recipients it answers 550 for."""

    port: int = field(default_factory=free_port)
    refuse: set[str] = field(default_factory=set)
    login: tuple[str, str] | None = None
    """When set, clients may authenticate with this user and password (AUTH PLAIN or
    LOGIN, offered without TLS on loopback); each message records whether they did."""
    received: list[Received] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _controller: Controller | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._arrived:
            self.received.append(
                Received(
                    envelope.mail_from or "",
                    list(envelope.rcpt_tos),
                    envelope.original_content or b"",
                    bool(session.authenticated),
                )
            )
            self._arrived.notify_all()
        return "250 OK"

    def start(self) -> SmtpSink:
        auth: dict[str, Any] = {}
        if self.login is not None:
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="sink.test", **auth
        )
        self._controller.start()
        return self

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.login == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        """The first ``count`` messages, once they have arrived (a bound, not a measure)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            assert len(self.received) >= count, f"{len(self.received)} of {count} messages arrived"
            return list(self.received[:count])


DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Dovecot:
    """A Dovecot IMAP server with one mailbox, ``support@example.org``."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    user: str = "support@example.org"
    password: str = "imap-secret"

    @property
    def url(self) -> str:
        return f"imap://support%40example.org:{self.password}@127.0.0.1:{self.port}/INBOX"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(self, data: bytes) -> None:
        client = self.client()
        try:
            typ, _ = client.append("INBOX", None, None, data)
            assert typ == "OK"
        finally:
            client.logout()

    def flags(self) -> list[bytes]:
        """Each message's FLAGS response, in order."""
        client = self.client()
        try:
            client.select("INBOX")
            typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK"
            return [d for d in data if isinstance(d, bytes)]
        finally:
            client.logout()


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    return found if os.access(found, os.X_OK) else None


def run_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in the foreground on a free port; stop it (and remove its files) after."""
    binary = dovecot_binary()
    assert binary is not None
    # Mail processes never run as root: as root, the mailbox belongs to nobody, in a
    # folder nobody can reach (pytest's own are private to root).
    root = Path(tempfile.mkdtemp(prefix="coffre-imap-"))
    root.chmod(0o755)
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    if os.getuid() == 0:
        uid, gid, users = 65534, 65534, ""
        (root / "home").chmod(0o777)
    else:
        import pwd

        me = pwd.getpwuid(os.getuid()).pw_name
        uid, gid = os.getuid(), os.getgid()
        users = (
            f"default_login_user = {me}\ndefault_internal_user = {me}\n"
            f"first_valid_uid = {uid}\nfirst_valid_gid = {gid}\n"
        )
    port = free_port()
    (root / "passwd").write_text("support@example.org:{PLAIN}imap-secret\n")
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, uid=uid, gid=gid, port=port, users=users))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = Dovecot(root, port, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"dovecot exited: {err}")
            try:
                server.client().logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
