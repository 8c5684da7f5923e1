"""Support mail between real processes: ``coffre serve`` receiving by SMTP and sending
through an SMTP server (smtplib and aiosmtpd on real sockets), ``coffre mail receive``,
and ``coffre mail poll-imap`` against Dovecot."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path

import pytest

from tests.e2e.conftest import COFFRE, Server, free_port
from tests.mail_samples import Dovecot, SmtpSink, dovecot_binary, run_dovecot, sample
from tests.scaleout import need

pytestmark = pytest.mark.e2e

SUPPORT = "support@example.org"
STAFF = "staff@example.org"
CUSTOMER = "camille@example.net"


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "the process exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.05)


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def _question(subject: str = "Cannot open my shared folder") -> bytes:
    return (
        f"From: Camille <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.net>\r\n\r\n"
        "The folder does not open since this morning.\r\n"
    ).encode()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def mail_server(
    tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, int]]:
    receive_port = free_port()
    monkeypatch.setenv("COFFRE_SMTP_RECEIVE_PORT", str(receive_port))
    monkeypatch.setenv("COFFRE_SMTP_URL", f"smtp://127.0.0.1:{sink.port}")
    monkeypatch.setenv("COFFRE_SUPPORT_ADDRESS", SUPPORT)
    monkeypatch.setenv("COFFRE_SUPPORT_STAFF_EMAIL", STAFF)
    srv = Server(tmp_path / "server-data", free_port(), tmp_path / "server.log")
    srv.start()
    yield srv, receive_port
    srv.stop()


def _smtp(port: int, to: str, data: bytes, sender: str = CUSTOMER) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        assert client.sendmail(sender, [to], data) == {}


def test_mail_in_and_out_through_a_running_server(
    mail_server: tuple[Server, int], sink: SmtpSink
) -> None:
    server, receive_port = mail_server
    _smtp(receive_port, SUPPORT, _question())
    first = sink.wait_for(2)  # the acknowledgement, and the staff's notice
    by_rcpt = {r.rcpt_tos[0]: r.message for r in first}
    ack = by_rcpt[CUSTOMER]
    assert by_rcpt[STAFF]["Auto-Submitted"] == "auto-generated"
    assert str(ack["Subject"]).startswith("[Coffre #")
    reply_to = parseaddr(str(ack["Reply-To"]))[1]
    assert reply_to.startswith("support+")

    # The customer answers from Apple Mail, to the reply address.
    number = str(ack["Subject"]).split("#", 1)[1].split("]", 1)[0]
    values = {"customer": CUSTOMER, "to": reply_to, "in_reply_to": str(ack["Message-ID"])}
    _smtp(receive_port, reply_to, sample("apple_mail_reply", **values, number=number))
    notice = sink.wait_for(3)[2].message
    assert notice["To"] == STAFF
    text = notice.get_content()
    assert "wrote again" in text and "It still stops at 99 %" in text
    assert "Please update to the latest version" not in text  # the quote was stripped

    # An out-of-office answer is dropped: no new notice, no acknowledgement.
    _smtp(receive_port, reply_to, sample("out_of_office", **values, number=number))
    # The SMTP server goes down; the next notice waits in the outbox, through a restart.
    sink.stop()
    _smtp(receive_port, reply_to, sample("gmail_reply", **values, number=number))
    outbox = server.data / "outbox"
    _wait_for(lambda: any(outbox.glob("*.eml")), "a message waiting in the outbox")
    server.stop()
    sink.start()
    server.start()
    notices = sink.wait_for(4)
    assert "clearing the browser cache fixed it" in notices[3].message.get_content()
    assert len(sink.received) == 4  # the out-of-office mail made no notice
    _wait_for(lambda: not any(outbox.glob("*.eml")), "an empty outbox")


def test_the_server_refuses_mail_for_other_addresses(mail_server: tuple[Server, int]) -> None:
    _, receive_port = mail_server
    with (
        smtplib.SMTP("127.0.0.1", receive_port, timeout=30) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.sendmail(CUSTOMER, ["postmaster@example.org"], _question())


def _environ(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    env.update(COFFRE_DATA=str(data), COFFRE_SUPPORT_ADDRESS=SUPPORT, **extra)
    return env


def test_coffre_mail_receive(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    process = subprocess.Popen(
        [COFFRE, "mail", "receive", "--port", str(port)],
        env=_environ(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, process)
        _smtp(port, SUPPORT, _question("By the receiver"))
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
            pytest.raises(smtplib.SMTPRecipientsRefused),
        ):
            client.sendmail(CUSTOMER, ["someone@example.org"], _question())
        # No SMTP server configured: the acknowledgement is in the outbox folder.
        _wait_for(lambda: any((data / "outbox").glob("*.eml")), "an acknowledgement")
        [ack] = list((data / "outbox").glob("*.eml"))
        assert b"Subject: [Coffre #1] By the receiver" in ack.read_bytes()
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert f"by SMTP on 127.0.0.1:{port}" in err.decode()


def test_coffre_mail_receive_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [COFFRE, "mail", "receive", "--port", str(port)],
            env=_environ(tmp_path / "data"),
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 8
    [line] = result.stderr.decode().strip().splitlines()[-1:]
    assert line.startswith("coffre: cannot listen on 127.0.0.1:")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    need(None if dovecot_binary() else "Dovecot is not installed (Debian: dovecot-imapd)")
    yield from run_dovecot()


def test_coffre_mail_poll_imap(tmp_path: Path, dovecot: Dovecot) -> None:
    dovecot.append(_question("By IMAP"))
    env = _environ(tmp_path / "data", COFFRE_IMAP_URL=dovecot.url)
    result = subprocess.run(
        [COFFRE, "mail", "poll-imap", "--once"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert "poll-imap: 1 new" in result.stderr.decode()
    assert all(b"\\Seen" in flags for flags in dovecot.flags())
    assert any((tmp_path / "data" / "outbox").glob("*.eml"))

    wrong = dovecot.url.replace("imap-secret", "wrong")
    result = subprocess.run(
        [COFFRE, "mail", "poll-imap", "--once"],
        env=_environ(tmp_path / "data", COFFRE_IMAP_URL=wrong),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 8
    assert result.stderr.decode().strip().splitlines()[-1].startswith("coffre: IMAP ")


def test_coffre_mail_poll_imap_needs_a_mailbox(tmp_path: Path) -> None:
    result = subprocess.run(
        [COFFRE, "mail", "poll-imap", "--once"],
        env=_environ(tmp_path / "data"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "coffre: set COFFRE_IMAP_URL to the support mailbox, e.g. imaps://USER:PASS@HOST/INBOX"
    )
