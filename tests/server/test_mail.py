"""Support mail: the outbox, SMTP delivery and retries, and inbound threading of replies
shaped like common mail clients', through the real ticket engine (SQLite and PostgreSQL)
and, for the receiver, a real SMTP socket."""

from __future__ import annotations

import logging
import smtplib
import stat
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.utils import parseaddr
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from coffre.errors import UsageError
from coffre.server.app import build_context
from coffre.server.config import Settings
from coffre.server.context import Context
from coffre.server.db import tables as t
from coffre.server.mail import body, delivery, imap, inbound, outbox, quotes, receiver, tokens
from coffre.server.mail.compose import compose
from tests.mail_samples import (
    Dovecot,
    SmtpSink,
    dovecot_binary,
    free_port,
    parse,
    run_dovecot,
    sample,
)
from tests.scaleout import need

SUPPORT = "support@example.org"
STAFF = "staff@example.org"
CUSTOMER = "camille@example.net"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "server",
        gc_interval=0,
        min_chunk_size=1024,
        database_url=database_url,
        support_address=SUPPORT,
        support_staff_email=STAFF,
    )


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    context: Context = app.state.ctx
    return context


@pytest.fixture
def mail_ctx(tmp_path: Path) -> Iterator[Context]:
    """A context on SQLite, for the outbound tests (they touch no ticket)."""
    context = build_context(
        Settings(data_dir=tmp_path / "mail", gc_interval=0, support_address=SUPPORT)
    )
    yield context
    delivery.stop(context.settings)
    context.db.dispose()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def _outbox(settings: Settings) -> list[tuple[Path, object]]:
    return [(p, parse(p.read_bytes())) for p in outbox.pending(settings)]


# -- outbound -----------------------------------------------------------------------------


def test_send_writes_a_parsable_message_to_the_outbox(
    mail_ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    settings = mail_ctx.settings
    ticket_id = "0123456789abcdef0123456789abcdef"
    with caplog.at_level(logging.INFO, logger="coffre.mail"):
        message_id = outbox.send(
            mail_ctx,
            CUSTOMER,
            "[Coffre #7] Cannot open my shared folder",
            "We have your request.\nSecret-looking body line, é ü.",
            ticket_id=ticket_id,
            in_reply_to="<question-1@example.net>",
            auto_reply=True,
        )
    [path] = outbox.pending(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    msg = parse(path.read_bytes())
    assert msg["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith("@example.org>")
    assert msg["To"] == CUSTOMER
    assert parseaddr(str(msg["From"]))[1] == SUPPORT
    assert msg["Subject"] == "[Coffre #7] Cannot open my shared folder"
    assert msg["In-Reply-To"] == "<question-1@example.net>"
    assert msg["References"] == "<question-1@example.net>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content().strip().endswith("é ü.")
    reply_to = parseaddr(str(msg["Reply-To"]))[1]
    assert reply_to.startswith("support+") and reply_to.endswith("@example.org")
    assert tokens.classify_recipient(settings, reply_to) == (True, ticket_id)
    # One log line: recipient, subject, Message-ID; never the body.
    logged = [r.getMessage() for r in caplog.records if r.name == "coffre.mail"]
    assert any(CUSTOMER in line and message_id in line for line in logged)
    assert not any("Secret-looking" in line for line in logged)
    # The reply-token key was made and kept in the data folder, readable by us alone.
    key = settings.data_dir / tokens.SECRET_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_staff_reply_is_not_marked_automatic_and_headers_cannot_be_injected(
    mail_ctx: Context,
) -> None:
    outbox.send(mail_ctx, CUSTOMER, "Hello\r\nBcc: victim@example.com", "Hi")
    [(_, msg)] = _outbox(mail_ctx.settings)
    assert "Auto-Submitted" not in msg  # type: ignore[operator]
    assert "Bcc" not in msg  # type: ignore[operator]
    assert "In-Reply-To" not in msg  # type: ignore[operator]


def test_staff_notifications_go_to_the_staff_address_only_when_set(mail_ctx: Context) -> None:
    assert outbox.notify_staff(mail_ctx, "New ticket", "text") is None
    assert outbox.pending(mail_ctx.settings) == []
    staffed = replace(mail_ctx, settings=replace(mail_ctx.settings, support_staff_email=STAFF))
    message_id = outbox.notify_staff(staffed, "New ticket", "text")
    [(_, msg)] = _outbox(staffed.settings)
    assert msg["To"] == STAFF and msg["Message-ID"] == message_id  # type: ignore[index]
    assert msg["Auto-Submitted"] == "auto-generated"  # type: ignore[index]
    # An answer to the notice goes back to the staff, never into a ticket as the customer.
    assert parseaddr(str(msg["Reply-To"]))[1] == STAFF  # type: ignore[index]
    # Whatever sends it: mail to the staff address is a notice no person wrote.
    outbox.send(staffed, f"Staff <{STAFF}>", "[Coffre #2] New ticket", "text", ticket_id="ab" * 16)
    notice = next(m for p, m in _outbox(staffed.settings) if m["Subject"].startswith("[Coffre"))  # type: ignore[index]
    assert notice["Auto-Submitted"] == "auto-generated"  # type: ignore[index]


def test_reply_tokens_are_signed_and_a_forged_one_names_nothing(mail_ctx: Context) -> None:
    settings = mail_ctx.settings
    ref = "00112233445566778899aabbccddeeff"
    address = tokens.reply_address(settings, ref)
    assert tokens.classify_recipient(settings, address) == (True, ref)
    assert tokens.classify_recipient(settings, address.upper()) == (True, ref)
    local, domain = address.split("@")
    forged = f"support+{ref}.aaaaaaaaaaaaaaaa@{domain}"
    other = f"support+{'f' * 32}.{local.rsplit('.', 1)[1]}@{domain}"
    assert tokens.classify_recipient(settings, forged) == (True, None)
    assert tokens.classify_recipient(settings, other) == (True, None)
    assert tokens.classify_recipient(settings, SUPPORT) == (True, None)
    assert tokens.classify_recipient(settings, "sales@example.org") == (False, None)
    assert tokens.classify_recipient(settings, "support+x@evil.example") == (False, None)
    other_key = replace(settings, mail_secret="another key")
    assert tokens.classify_recipient(other_key, address) == (True, None)


def test_smtp_delivery_hands_the_message_over_and_empties_the_outbox(
    mail_ctx: Context, sink: SmtpSink
) -> None:
    settings = replace(mail_ctx.settings, smtp_url=f"smtp://127.0.0.1:{sink.port}")
    smtp_ctx = replace(mail_ctx, settings=settings)
    delivery.stop(settings)
    message_id = outbox.send(smtp_ctx, CUSTOMER, "[Coffre #3] Hello", "Line one\n.\nLine three")
    [received] = sink.wait_for(1)  # the delivery thread, woken by send()
    assert received.rcpt_tos == [CUSTOMER]
    assert received.mail_from == SUPPORT
    msg = received.message
    assert msg["Message-ID"] == message_id
    assert msg.get_content().splitlines() == ["Line one", ".", "Line three"]
    delivery.stop(settings)
    assert outbox.pending(settings) == []


def test_smtp_delivery_logs_in(mail_ctx: Context) -> None:
    sink = SmtpSink(login=("coffre@example.org", "p@ss:word")).start()
    try:
        url = f"smtp://coffre%40example.org:p%40ss%3Aword@127.0.0.1:{sink.port}"
        settings = replace(mail_ctx.settings, smtp_url=url)
        wrong = replace(settings, smtp_url=url.replace("word", "wrong"))
        outbox.write(
            outbox.outbox_dir(settings), compose(settings, CUSTOMER, "Hi", "text").as_bytes()
        )
        # A refused login is the operator's to fix: the message waits for it.
        assert delivery.deliver_pending(wrong).waiting == 1
        assert delivery.deliver_pending(settings).sent == 1
        [received] = sink.wait_for(1)
        assert received.message["Subject"] == "Hi" and received.authenticated
    finally:
        sink.stop()


def test_smtp_down_keeps_the_message_and_sends_it_later(mail_ctx: Context) -> None:
    port = free_port()  # nothing listens there yet
    settings = replace(mail_ctx.settings, smtp_url=f"smtp://127.0.0.1:{port}", smtp_timeout=5)
    paths = [
        outbox.write(
            outbox.outbox_dir(settings),
            compose(settings, CUSTOMER, f"[Coffre #4] Kept {n}", "Still here").as_bytes(),
        )
        for n in range(2)
    ]
    retries = delivery.Retries()
    report = delivery.deliver_pending(settings, retries)
    assert (report.sent, report.waiting) == (0, 2)  # one attempt, then the pass stops
    assert list(retries.attempts.values()) == [1]
    assert all(p.exists() for p in paths)
    # A message is not tried again before it is due: the next pass tries the other one,
    # and the pass after that neither.
    assert delivery.deliver_pending(settings, retries).waiting == 2
    assert list(retries.attempts.values()) == [1, 1]
    assert delivery.deliver_pending(settings, retries).waiting == 2
    assert list(retries.attempts.values()) == [1, 1]

    sink = SmtpSink(port=port).start()
    try:
        report = delivery.deliver_pending(settings)  # as after a restart: everything is due
        assert (report.sent, report.waiting) == (2, 0)
        subjects = [str(r.message["Subject"]) for r in sink.wait_for(2)]
        assert subjects == ["[Coffre #4] Kept 0", "[Coffre #4] Kept 1"]
    finally:
        sink.stop()
    assert not any(p.exists() for p in paths)


def test_a_message_refused_for_good_moves_aside(mail_ctx: Context, sink: SmtpSink) -> None:
    sink.refuse.add("nobody@example.net")
    settings = replace(mail_ctx.settings, smtp_url=f"smtp://127.0.0.1:{sink.port}")
    msg = compose(settings, "nobody@example.net", "Hello", "text")
    path = outbox.write(outbox.outbox_dir(settings), msg.as_bytes())
    report = delivery.deliver_pending(settings)
    assert (report.sent, report.failed) == (0, 1)
    assert not path.exists()
    assert (path.parent / delivery.FAILED / path.name).exists()
    assert sink.received == []


def test_two_deliverers_on_one_outbox_send_each_message_once(
    mail_ctx: Context, sink: SmtpSink
) -> None:
    settings = replace(mail_ctx.settings, smtp_url=f"smtp://127.0.0.1:{sink.port}")
    for n in range(6):
        msg = compose(settings, CUSTOMER, f"Message {n}", "text")
        outbox.write(outbox.outbox_dir(settings), msg.as_bytes())
    reports: list[delivery.Report] = []
    workers = [
        threading.Thread(target=lambda: reports.append(delivery.deliver_pending(settings)))
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sum(r.sent for r in reports) == 6
    subjects = sorted(str(r.message["Subject"]) for r in sink.wait_for(6))
    assert subjects == [f"Message {n}" for n in range(6)]
    assert outbox.pending(settings) == []


def test_an_unusable_smtp_url_keeps_mail_in_the_outbox(
    mail_ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(mail_ctx.settings, smtp_url="http://mail.example.org")
    bad = replace(mail_ctx, settings=settings)
    with caplog.at_level(logging.ERROR, logger="coffre.mail"):
        assert delivery.start(settings) is None
        outbox.send(bad, CUSTOMER, "Hello", "text")
        outbox.send(bad, CUSTOMER, "Hello again", "text")
    assert len(outbox.pending(settings)) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "COFFRE_SMTP_URL must look like" in errors[0]


def test_a_bad_smtp_url_is_refused() -> None:
    from coffre.server.mail import transport

    with pytest.raises(UsageError):
        transport.parse_url("http://mail.example.org")
    server = transport.parse_url("smtp+starttls://me%40example.org:p%3Ass@mail.example.org")
    assert (server.port, server.user, server.password) == (587, "me@example.org", "p:ss")
    assert "p:ss" not in repr(server)
    assert transport.parse_url("smtps://mail.example.org").port == 465


# -- quotes and HTML ----------------------------------------------------------------------


def test_quote_stripping_keeps_the_new_text() -> None:
    text = (
        "Yes, that works.\n\nOn Mon, 23 Nov 2026 at 10:00, Coffre Support <\n"
        "support@example.org> wrote:\n> old\n"
    )
    assert quotes.strip_quotes(text) == "Yes, that works."
    outlook = "Fine.\n\n________________________________\nFrom: Coffre\nSent: Monday\nold"
    assert quotes.strip_quotes(outlook) == "Fine."
    inline = "> Which version?\n2.1\n> And the OS?\nDebian"
    assert quotes.strip_quotes(inline) == "2.1\nDebian"
    assert quotes.strip_quotes("Thanks\n-- \nSam\nACME") == "Thanks"
    assert quotes.strip_quotes("> only a quote") == "> only a quote"


def test_html_is_sanitised_and_quotes_left_out() -> None:
    html = (
        '<div>New <b>text</b><script>alert("x")</script><img src=x onerror="alert(1)">'
        '</div><div class="gmail_quote">On ... wrote:<blockquote>old</blockquote></div>'
    )
    assert body.html_to_text(html) == "New text"
    cleaned = body.sanitise_html(html)
    assert "script" not in cleaned and "onerror" not in cleaned and "alert" not in cleaned


# -- inbound threading --------------------------------------------------------------------


@dataclass
class Filed:
    """A ticket opened by mail, and the acknowledgement the customer got."""

    ticket_id: str
    number: str
    ack_id: str
    reply_to: str


def _question(sender: str) -> bytes:
    return (
        f"From: Camille <{sender}>\r\nTo: {SUPPORT}\r\nSubject: Cannot open my shared folder\r\n"
        "Message-ID: <question-1@example.net>\r\nContent-Type: text/plain\r\n\r\n"
        "The folder does not open since this morning.\r\n"
    ).encode()


def _file_by_mail(ctx: Context, sender: str = CUSTOMER) -> Filed:
    outcome = inbound.receive(ctx, _question(sender))
    assert outcome.action == "new" and outcome.ticket_id is not None
    acks = [m for _, m in _outbox(ctx.settings) if m["To"] == sender]  # type: ignore[index]
    [ack] = acks
    number = str(ack["Subject"]).split("#", 1)[1].split("]", 1)[0]  # type: ignore[index]
    return Filed(
        outcome.ticket_id,
        number,
        str(ack["Message-ID"]),  # type: ignore[index]
        parseaddr(str(ack["Reply-To"]))[1],  # type: ignore[index]
    )


def _messages(ctx: Context, ticket_id: str) -> list[t.SupportMessage]:
    with ctx.db.read() as db:
        return list(
            db.scalars(
                select(t.SupportMessage)
                .where(t.SupportMessage.ticket_id == ticket_id)
                .order_by(t.SupportMessage.created_at)
            )
        )


def _tickets(ctx: Context) -> int:
    with ctx.db.read() as db:
        return len(db.scalars(select(t.SupportTicket.id)).all())


def test_a_new_mail_opens_a_ticket_and_is_acknowledged(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    [first] = _messages(ctx, filed.ticket_id)
    assert first.body == "The folder does not open since this morning."
    assert first.author_email == CUSTOMER and first.via == "email"
    assert tokens.classify_recipient(ctx.settings, filed.reply_to) == (True, filed.ticket_id)
    staff = [m for _, m in _outbox(ctx.settings) if m["To"] == STAFF]  # type: ignore[index]
    assert len(staff) == 1
    # Delivered again (by a retrying mail server, or by two routes): no second ticket.
    again = inbound.receive(ctx, _question(CUSTOMER))
    assert (again.action, again.reason) == ("dropped", "duplicate")
    assert _tickets(ctx) == 1


def test_gmail_reply_threads_by_in_reply_to_without_the_quote(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    raw = sample(
        "gmail_reply", customer=CUSTOMER, to=SUPPORT, in_reply_to=filed.ack_id, number="999"
    )
    outcome = inbound.receive(ctx, raw)
    assert (outcome.action, outcome.ticket_id, outcome.reason) == (
        "reply",
        filed.ticket_id,
        "message-id",
    )
    reply = _messages(ctx, filed.ticket_id)[-1]
    assert (
        reply.body
        == "Thanks, clearing the browser cache fixed it. The folder opens again.\n\nCamille"
    )
    assert reply.mail_id == "<CAF2kQx9vVqL0p1ZgmJ=x4sK7d8oYwT@mail.gmail.com>"
    # Its HTML part, on its own, loses the gmail_quote block too.
    html = parse(raw).get_body(preferencelist=("html",))
    assert html is not None
    text = body.html_to_text(html.get_content())
    assert text == "Thanks, clearing the browser cache fixed it. The folder opens again.\n\nCamille"
    # The same mail delivered twice is one reply.
    assert inbound.receive(ctx, raw).reason == "duplicate"
    assert len(_messages(ctx, filed.ticket_id)) == 2


def test_outlook_reply_threads_by_subject_tag_with_its_attachment(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    raw = sample("outlook_reply", customer=CUSTOMER, to=SUPPORT, number=filed.number)
    outcome = inbound.receive(ctx, raw)
    assert (outcome.action, outcome.ticket_id, outcome.reason) == (
        "reply",
        filed.ticket_id,
        "subject-tag",
    )
    reply = _messages(ctx, filed.ticket_id)[-1]
    assert reply.body == (
        "Hello,\n\nThe invoice is attached. The VAT number on it is wrong.\n\nBest regards,\nJordan"
    )
    with ctx.db.read() as db:
        names = db.scalars(
            select(t.SupportAttachment.name).where(t.SupportAttachment.message_id == reply.id)
        ).all()
    assert list(names) == ["invoice-2026-11.pdf"]


def test_apple_mail_reply_to_the_token_address_threads_by_token(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    raw = sample(
        "apple_mail_reply",
        customer=CUSTOMER,
        to=filed.reply_to,
        in_reply_to="<unknown@example.org>",
        number="999",
    )
    outcome = inbound.receive(ctx, raw)
    assert (outcome.action, outcome.ticket_id, outcome.reason) == (
        "reply",
        filed.ticket_id,
        "token",
    )
    assert _messages(ctx, filed.ticket_id)[-1].body == (
        "It still stops at 99 % after the update. The log says “chunk 41 retried” three "
        "times.\n\nSam"
    )


def test_a_token_reply_may_come_from_another_address(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    raw = sample(
        "apple_mail_reply",
        customer="camille.martin@work.example",
        to=filed.reply_to,
        in_reply_to="<unknown@example.org>",
        number="999",
    )
    assert inbound.receive(ctx, raw).ticket_id == filed.ticket_id


def test_html_only_reply_loses_its_scripts(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    raw = sample("html_only", customer=CUSTOMER, to=filed.reply_to, number=filed.number)
    outcome = inbound.receive(ctx, raw)
    assert outcome.ticket_id == filed.ticket_id
    text = _messages(ctx, filed.ticket_id)[-1].body
    assert text == 'The link page says "link disabled".\n\nIt worked yesterday.\n\nsee here'
    for gone in ("script", "alert", "cookie", "onerror", "javascript", "color: red", "quoted"):
        assert gone not in text


def test_a_forged_token_is_refused(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    before = _tickets(ctx)
    forged = f"support+{filed.ticket_id}.abcdefghijklmnop@example.org"
    raw = sample(
        "apple_mail_reply",
        customer="mallory@evil.example",
        to=forged,
        in_reply_to="<unknown@example.org>",
        number="999",
    )
    outcome = inbound.receive(ctx, raw)
    assert outcome.action == "new" and outcome.ticket_id != filed.ticket_id
    assert _tickets(ctx) == before + 1
    assert len(_messages(ctx, filed.ticket_id)) == 1


def test_headers_and_tags_thread_only_the_customers_mail(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    stranger = "mallory@evil.example"
    by_header = sample(
        "gmail_reply", customer=stranger, to=SUPPORT, in_reply_to=filed.ack_id, number="999"
    )
    by_tag = sample("outlook_reply", customer=stranger, to=SUPPORT, number=filed.number)
    for raw in (by_header, by_tag):
        outcome = inbound.receive(ctx, raw)
        assert outcome.action == "new" and outcome.ticket_id != filed.ticket_id
    assert len(_messages(ctx, filed.ticket_id)) == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_replied", "auto-submitted"),
        ("out_of_office", "autoreply"),
        ("bounce", "bounce"),
    ],
)
def test_automatic_mail_is_not_threaded(ctx: Context, name: str, reason: str) -> None:
    filed = _file_by_mail(ctx)
    before = (_tickets(ctx), len(outbox.pending(ctx.settings)), inbound.dropped[reason])
    raw = sample(
        name, customer=CUSTOMER, to=filed.reply_to, in_reply_to=filed.ack_id, number=filed.number
    )
    outcome = inbound.receive(ctx, raw)
    assert (outcome.action, outcome.reason) == ("dropped", reason)
    assert len(_messages(ctx, filed.ticket_id)) == 1
    # Nothing opened, nothing answered: no loop.
    assert (_tickets(ctx), len(outbox.pending(ctx.settings))) == before[:2]
    assert inbound.dropped[reason] == before[2] + 1


def test_our_own_mail_coming_back_is_a_loop(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    # A forwarding rule sends our acknowledgement back to the support address.
    ack = next(p for p, m in _outbox(ctx.settings) if m["To"] == CUSTOMER)  # type: ignore[index]
    raw = ack.read_bytes().replace(b"\nTo: " + CUSTOMER.encode(), b"\nTo: " + SUPPORT.encode())
    raw = raw.replace(b"Auto-Submitted: auto-replied\n", b"")
    before = inbound.dropped["loop"]
    outcome = inbound.receive(ctx, raw)
    assert (outcome.action, outcome.reason) == ("dropped", "loop")
    assert inbound.dropped["loop"] == before + 1
    assert len(_messages(ctx, filed.ticket_id)) == 1


def test_mail_over_the_size_limit_is_dropped(ctx: Context) -> None:
    small = replace(ctx, settings=replace(ctx.settings, mail_max_bytes=100))
    raw = b"From: a@example.net\r\nSubject: x\r\n\r\n" + b"x" * 200
    assert inbound.receive(small, raw).reason == "too-large"


def test_large_attachments_are_left_out_with_a_note(ctx: Context) -> None:
    filed = _file_by_mail(ctx)
    small = replace(ctx, settings=replace(ctx.settings, mail_attachment_max_bytes=10))
    raw = sample("outlook_reply", customer=CUSTOMER, to=filed.reply_to, number=filed.number)
    assert inbound.receive(small, raw).ticket_id == filed.ticket_id
    reply = _messages(ctx, filed.ticket_id)[-1]
    assert reply.body.endswith("[attachment invoice-2026-11.pdf left out: over the limit]")


# -- the SMTP/LMTP receiver, on a real socket ---------------------------------------------


@pytest.fixture
def receiving(ctx: Context) -> Iterator[int]:
    port = free_port()
    controller = receiver.start(ctx, "127.0.0.1", port)
    yield port
    controller.stop()


def test_smtp_receiver_threads_a_reply_and_refuses_other_recipients(
    ctx: Context, receiving: int
) -> None:
    filed = _file_by_mail(ctx)
    raw = sample(
        "apple_mail_reply",
        customer=CUSTOMER,
        to=filed.reply_to,
        in_reply_to=filed.ack_id,
        number=filed.number,
    )
    with smtplib.SMTP("127.0.0.1", receiving, timeout=30) as client:
        assert client.ehlo()[0] == 250
        refused = client.sendmail(CUSTOMER, [filed.reply_to], raw)
        assert refused == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            client.sendmail(CUSTOMER, ["sales@example.org"], raw)
        assert info.value.recipients["sales@example.org"][0] == 550
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(CUSTOMER, ["support@evil.example"], raw)
    bodies = [m.body for m in _messages(ctx, filed.ticket_id)]
    assert len(bodies) == 2 and bodies[1].startswith("It still stops at 99 %")


def test_smtp_receiver_refuses_oversized_mail(ctx: Context) -> None:
    port = free_port()
    small = replace(ctx, settings=replace(ctx.settings, mail_max_bytes=2000))
    controller = receiver.start(small, "127.0.0.1", port)
    try:
        raw = b"From: a@example.net\r\nTo: support@example.org\r\nSubject: big\r\n\r\n"
        raw += (b"x" * 70 + b"\r\n") * 100
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            with pytest.raises(smtplib.SMTPException) as info:
                client.sendmail("a@example.net", [SUPPORT], raw)
            assert "552" in str(info.value)
    finally:
        controller.stop()


def test_smtp_receiver_drops_a_bounce_with_an_empty_sender(ctx: Context, receiving: int) -> None:
    filed = _file_by_mail(ctx)
    before = _tickets(ctx)
    raw = (
        f"From: Camille <{CUSTOMER}>\r\nTo: {filed.reply_to}\r\nSubject: Delivery failure\r\n"
        "\r\nYour message could not be delivered.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", receiving, timeout=30) as client:
        client.sendmail("<>", [filed.reply_to], raw)
    assert len(_messages(ctx, filed.ticket_id)) == 1 and _tickets(ctx) == before


def test_lmtp_receiver_answers_each_recipient(ctx: Context) -> None:
    port = free_port()
    controller = receiver.start(ctx, "127.0.0.1", port, lmtp=True)
    try:
        raw = (
            f"From: Sam <sam@example.net>\r\nTo: {SUPPORT}\r\nSubject: Hello by LMTP\r\n"
            "Message-ID: <lmtp-1@example.net>\r\n\r\nA new question.\r\n"
        ).encode()
        with smtplib.LMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo()  # LHLO
            client.mail("sam@example.net")
            assert client.rcpt(SUPPORT)[0] == 250
            assert client.rcpt("support+x@example.org")[0] == 250
            assert client.rcpt("root@example.org")[0] == 550
            assert client.data(raw)[0] == 250  # the first recipient's answer
            assert client.getreply()[0] == 250  # the second's
            assert client.noop()[0] == 250  # and nothing more
    finally:
        controller.stop()
    with ctx.db.read() as db:
        subjects = db.scalars(select(t.SupportTicket.subject)).all()
    assert list(subjects) == ["Hello by LMTP"]


def test_the_receiver_answers_451_when_it_cannot_handle_mail(mail_ctx: Context) -> None:
    """The database fails (here: its ticket table is gone): the sending server is told to
    try again later, and the message is handled when it does."""
    port = free_port()
    controller = receiver.start(mail_ctx, "127.0.0.1", port)
    raw = (
        f"From: Sam <sam@example.net>\r\nTo: {SUPPORT}\r\nSubject: Later\r\n"
        "Message-ID: <later-1@example.net>\r\n\r\nA question.\r\n"
    ).encode()
    try:
        with mail_ctx.db.write() as db:
            db.execute(text("ALTER TABLE support_tickets RENAME TO support_tickets_away"))
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            with pytest.raises(smtplib.SMTPDataError) as info:
                client.sendmail("sam@example.net", [SUPPORT], raw)
            assert info.value.smtp_code == 451
        with mail_ctx.db.write() as db:
            db.execute(text("ALTER TABLE support_tickets_away RENAME TO support_tickets"))
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            assert client.sendmail("sam@example.net", [SUPPORT], raw) == {}
    finally:
        controller.stop()
    assert _tickets(mail_ctx) == 1


# -- IMAP polling, against a real Dovecot -------------------------------------------------


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    need(None if dovecot_binary() else "Dovecot is not installed (Debian: dovecot-imapd)")
    yield from run_dovecot()


def test_imap_polling_handles_unseen_mail_and_marks_it_seen(ctx: Context, dovecot: Dovecot) -> None:
    filed = _file_by_mail(ctx)
    values = {"customer": CUSTOMER, "to": SUPPORT, "in_reply_to": filed.ack_id}
    dovecot.append(sample("gmail_reply", **values, number="999"))
    dovecot.append(sample("auto_replied", **values, number=filed.number))
    dovecot.append(
        b"From: Sam <sam@example.net>\r\nTo: support@example.org\r\nSubject: By IMAP\r\n"
        b"Message-ID: <imap-1@example.net>\r\n\r\nA new question.\r\n"
    )
    box = imap.parse_url(dovecot.url)
    assert imap.poll_once(ctx, box) == Counter(reply=1, dropped=1, new=1)
    assert all(b"\\Seen" in flags for flags in dovecot.flags())
    assert len(_messages(ctx, filed.ticket_id)) == 2
    assert imap.poll_once(ctx, box) == Counter()  # nothing is handled twice


def test_imap_mail_that_cannot_be_handled_stays_unseen(mail_ctx: Context, dovecot: Dovecot) -> None:
    dovecot.append(
        b"From: Sam <sam@example.net>\r\nTo: support@example.org\r\nSubject: Later\r\n"
        b"Message-ID: <imap-2@example.net>\r\n\r\nA question.\r\n"
    )
    box = imap.parse_url(dovecot.url)
    with mail_ctx.db.write() as db:
        db.execute(text("ALTER TABLE support_tickets RENAME TO support_tickets_away"))
    assert imap.poll_once(mail_ctx, box) == Counter(failed=1)
    assert not any(b"\\Seen" in flags for flags in dovecot.flags())
    with mail_ctx.db.write() as db:
        db.execute(text("ALTER TABLE support_tickets_away RENAME TO support_tickets"))
    assert imap.poll_once(mail_ctx, box) == Counter(new=1)
    assert all(b"\\Seen" in flags for flags in dovecot.flags())


def test_imap_urls() -> None:
    box = imap.parse_url("imaps://me%40example.org:p%40ss@mail.example.org/Support/In")
    assert (box.port, box.user, box.password, box.mailbox) == (
        993,
        "me@example.org",
        "p@ss",
        "Support/In",
    )
    assert "p@ss" not in repr(box)
    assert imap.parse_url("imap://u:p@localhost").mailbox == "INBOX"
    with pytest.raises(UsageError):
        imap.parse_url("imaps://mail.example.org/INBOX")  # no user
